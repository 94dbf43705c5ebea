"""Start and stop the benchmark's processes, all on 127.0.0.1: the upstream (aiohttp or
nginx), the bare and naive proxies, and gateways (``python -m gateway run``)."""

from __future__ import annotations

import http.client
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench import procstat
from bench.cookies import COOKIE, SECRET
from bench.upstream import BODY

ROOT = Path(__file__).resolve().parents[1]
READY_SECONDS = 30.0

GATEWAY_CONFIG = """\
# The benchmark's gateway: config/example.yaml on loopback, with a small decode cache so that
# a pool of cookies 2.5x its size makes every request of case (b) a miss.
listen: 127.0.0.1:{port}
metrics_listen: 127.0.0.1:{metrics_port}
upstream: http://127.0.0.1:{upstream_port}
session:
  flavor: nextauth-v4
  cookie: {cookie}
  secrets: ["${{BENCH_SECRET}}"]
  role_claim: role
  clock_skew: 15s
login: {{url: /login, callback_param: callbackUrl}}
policies:
  admin:   {{max_age: 2h, update_age: 1h, absolute_max_age: 12h}}
  general: {{max_age: 1d, update_age: 6h}}
default_policy: general
routes:
  - {{name: nextauth, path: /api/auth/, public: true}}
  - {{name: login,    path: /login,     public: true}}
  - {{name: admin,    path: /admin/,    roles: [admin]}}
  - {{name: api,      path: /api/,      unauthenticated: 401}}
  - {{name: app,      path: /}}
identity_headers:
  X-Auth-Request-User: sub
  X-Auth-Request-Email: email
  X-Auth-Request-Role: role
trusted_proxies: [127.0.0.1/32]
preserve_host: true
limits: {{max_header_bytes: 32768, decode_cache_entries: {cache_entries}, max_cookie_chunks: 8}}
log: {{level: info, format: json}}
"""

NGINX_CONFIG = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/nginx-body;
  proxy_temp_path {dir}/nginx-proxy;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type text/html; return 200 "{body}"; }}
  }}
}}
"""


class StartError(RuntimeError):
    """A process exited or never answered."""


@dataclass(slots=True)
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def usage(self) -> procstat.Usage:
        return procstat.usage(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    """A loopback port nothing listens on, from below the kernel's ephemeral range: a port
    the kernel handed out (bind to 0) could be handed out again, as the source port of one of
    the connections the targets make while starting together, before its server binds it."""
    low = _ephemeral_low()
    for _ in range(100):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise StartError("no free loopback port below the ephemeral range")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def probe(url: str, path: str, headers: dict[str, str]) -> tuple[int, http.client.HTTPMessage]:
    host, _, port = url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        answer.read()
        return answer.status, answer.headers
    finally:
        connection.close()


def start(
    name: str,
    argv: list[str],
    port: int,
    *,
    log: Path | None,
    env: dict[str, str] | None = None,
    wait: bool = True,
) -> Server:
    """Start a server; with ``wait``, return once it answers HTTP (else call :func:`ready`)."""
    output: IO[bytes] | int = log.open("ab") if log else subprocess.DEVNULL
    try:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env or dict(os.environ),
        )
    finally:
        if not isinstance(output, int):
            output.close()  # the child has its own copy
    server = Server(name, port, process, log)
    if wait:
        ready(server)
    return server


def ready(*started: Server) -> None:
    """Wait until every server answers HTTP; stop them all if one does not."""
    try:
        for server in started:
            _wait_ready(server)
    except BaseException:
        for server in started:
            server.stop()
        raise


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise StartError(
                f"{server.name} exited with {server.process.returncode}" + _tail(server.log)
            )
        try:
            probe(server.url, "/", {})
            return
        except OSError:
            time.sleep(0.05)
    raise StartError(f"{server.name} did not answer on {server.url}" + _tail(server.log))


def _tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    return ":\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])


def start_upstream(kind: str, workdir: Path) -> Server:
    port = free_port()
    if kind == "nginx":
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            raise StartError("nginx is not installed (make bench BENCH_UPSTREAM=nginx installs it)")
        conf = workdir / "nginx.conf"
        conf.write_text(
            NGINX_CONFIG.format(dir=workdir, port=port, body=BODY.decode().rstrip("\n"))
        )
        return start(
            "nginx", [nginx, "-p", str(workdir), "-c", str(conf)], port, log=workdir / "nginx.log"
        )
    return start(
        "upstream",
        [sys.executable, "-m", "bench.upstream", "--port", str(port)],
        port,
        log=workdir / "upstream.log",
    )


def start_proxy(mode: str, upstream: Server, workdir: Path, *, wait: bool = True) -> Server:
    port = free_port()
    env = dict(os.environ, BENCH_SECRET=SECRET)
    argv = [
        sys.executable,
        "-m",
        "bench.proxy",
        "--mode",
        mode,
        "--port",
        str(port),
        "--upstream",
        upstream.url,
    ]
    return start(mode, argv, port, log=workdir / f"{mode}.log", env=env, wait=wait)


def start_gateway(
    name: str,
    upstream: Server,
    workdir: Path,
    *,
    cache_entries: int,
    workers: int | None = None,
    supervised: bool = False,
    log: Path | None = None,
    wait: bool = True,
) -> Server:
    """``gateway run`` (with ``--workers``), or with ``supervised`` one worker under the
    supervisor (bench/supervised.py)."""
    port = free_port()
    config = workdir / f"{name}.yaml"
    config.write_text(
        GATEWAY_CONFIG.format(
            port=port,
            metrics_port=free_port(),
            upstream_port=upstream.port,
            cookie=COOKIE,
            cache_entries=cache_entries,
        )
    )
    argv = [sys.executable, "-m", "gateway", "run", "--config", str(config)]
    if supervised:
        argv = [sys.executable, "-m", "bench.supervised", "--config", str(config)]
    elif workers is not None:
        argv += ["--workers", str(workers)]
    env = dict(os.environ, BENCH_SECRET=SECRET)
    return start(name, argv, port, log=log, env=env, wait=wait)
