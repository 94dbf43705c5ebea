"""The live forward-auth stack: the app stand-in (echo_upstream.py), the gateway as operators
start it (`python -m gateway run`), and Debian's real nginx and Caddy running the shipped
examples in front of both, every one a child process on 127.0.0.1. Every wait polls until a
deadline; every process is stopped by whoever started it."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.session.token import SessionCodec
from tests.deploy.proxies import render
from tests.deploy.support import ROOT, Process, free_port, run, wait_http

HERE = Path(__file__).resolve().parent
SECRET = "forward-auth-test-secret-0123456789abcdefghij"
COOKIE = "next-auth.session-token"
TOKEN_LIFETIME = 30 * 86400  # NextAuth's default maxAge: only the gateway's policy expires it

# The gateway beside the proxies: the names (prefix, identity headers, cookie, chunk limit)
# are config/example.yaml's, which the examples are written for; test_proxy_examples checks
# that they stay equal.
GATEWAY_CONFIG = """
listen: 127.0.0.1:{gateway}
metrics_listen: 127.0.0.1:{metrics}
upstream: http://127.0.0.1:{app}
session: {{flavor: nextauth-v4, cookie: {cookie}, secrets: ["${{NEXTAUTH_SECRET}}"]}}
login: {{url: /login, callback_param: callbackUrl}}
policies:
  admin:   {{max_age: 2h, update_age: 1h, absolute_max_age: 12h}}
  general: {{max_age: 1d, update_age: 6h}}
default_policy: general
routes:
  - {{name: session,  path: /api/auth/session, public: true, activity: false}}
  - {{name: nextauth, path: /api/auth/, public: true}}
  - {{name: login,    path: /login,     public: true}}
  - {{name: billing,  path: /billing/,  max_auth_age: 15m}}
  - {{name: admin,    path: /admin/,    roles: [admin]}}
  - {{name: api,      path: /api/,      unauthenticated: 401}}
  - {{name: app,      path: /}}
identity_headers:
  X-Auth-Request-User: sub
  X-Auth-Request-Email: email
  X-Auth-Request-Role: role
trusted_proxies: [127.0.0.1/32]
log: {{level: warning}}
"""


def proxy_tool(name: str) -> str:
    """A proxy's binary (Debian keeps nginx in /usr/sbin, off a user's PATH). Missing is a
    failure that says how to install it, never a skip."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        pytest.fail(
            f"{name} is not installed: run `make forward-auth-tools` (Debian's "
            "nginx-light, caddy and systemd)",
            pytrace=False,
        )
    return found


@dataclass(frozen=True)
class Stack:
    gateway: int
    metrics: int
    app: int
    proxies: dict[str, int]  # proxy name -> the port browsers use
    config: Path


def token(claims: dict[str, Any], age: int) -> str:
    """A session the app (NextAuth) wrote ``age`` seconds ago, whose sign-in the gateway has
    recorded (``auth_time``, which the billing route's max_auth_age needs) unless ``claims``
    give one: at that write, as the gateway stamps it on a sign-in."""
    iat = int(time.time()) - age
    return SessionCodec("nextauth-v4", (SECRET,)).encode(
        {"auth_time": iat, **claims}, COOKIE, now=iat, max_age=TOKEN_LIFETIME
    )


def decode(value: str) -> dict[str, Any]:
    return SessionCodec("nextauth-v4", (SECRET,)).decode(value, COOKIE).claims


def start_app(work: Path, port: int) -> Process:
    return Process(
        [sys.executable, str(HERE / "echo_upstream.py"), str(port)],
        work / "app.log",
        env={**os.environ, "NEXTAUTH_SECRET": SECRET},
    )


def start_gateway(work: Path, ports: dict[str, int]) -> Process:
    config = work / "gateway.yaml"
    config.write_text(GATEWAY_CONFIG.format(cookie=COOKIE, **ports))
    env = {**os.environ, "NEXTAUTH_SECRET": SECRET}
    return Process(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        work / "gateway.log",
        cwd=ROOT,
        env=env,
    )


def start_nginx(work: Path, ports: dict[str, int], listen: int) -> Process:
    prefix = work / "nginx"
    main = render.install_nginx(prefix, render.nginx_site(ports["gateway"], ports["app"], listen))
    args = [proxy_tool("nginx"), "-e", "stderr", "-p", f"{prefix}/", "-c", str(main)]
    checked = run([*args, "-t"])
    assert checked.returncode == 0, f"nginx -t:\n{checked.stderr}"
    return Process(args, work / "nginx.log")


def start_caddy(work: Path, ports: dict[str, int], listen: int) -> Process:
    home = work / "caddy"
    home.mkdir()
    caddyfile = home / "Caddyfile"
    caddyfile.write_text(render.caddyfile(ports["gateway"], ports["app"], listen))
    return Process(
        [proxy_tool("caddy"), "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
        work / "caddy.log",
        env=caddy_env(home),
    )


def caddy_env(home: Path) -> dict[str, str]:
    """Caddy keeps its state under $HOME / XDG dirs: keep them in the test's directory."""
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }


def started(stack: ExitStack, process: Process) -> Process:
    stack.callback(process.stop)
    return process


@contextmanager
def running(work: Path, proxies: Sequence[str]) -> Iterator[Stack]:
    """The app, the gateway, and each named proxy in front of them, until the block ends."""
    ports = {name: free_port() for name in ("gateway", "metrics", "app")}
    listen = {name: free_port() for name in proxies}
    starters = {"nginx": start_nginx, "caddy": start_caddy}
    with ExitStack() as stack:
        app = started(stack, start_app(work, ports["app"]))
        gateway = started(stack, start_gateway(work, ports))
        wait_http(app, ports["app"], "/")
        wait_http(gateway, ports["metrics"], "/healthz")
        for name in proxies:
            proxy = started(stack, starters[name](work, ports, listen[name]))
            wait_http(proxy, listen[name], "/login")  # a public page, answered by the app
        yield Stack(ports["gateway"], ports["metrics"], ports["app"], listen, work / "gateway.yaml")
