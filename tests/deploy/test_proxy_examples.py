"""The nginx and Caddy examples as shipped: valid for the real nginx and Caddy as they are
(their documented defaults), and in step with the gateway config operators start from
(config/example.yaml): the same addresses, prefix, identity headers and cookie-chunk limit.
test_forward_auth_proxies.py runs them; this checks what running cannot see."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import load_config
from tests.deploy.proxies import render
from tests.deploy.proxies.expected import Expected, expected
from tests.deploy.proxies.stack import GATEWAY_CONFIG, SECRET, caddy_env, proxy_tool
from tests.deploy.support import run

QUESTION_HEADERS = ("X-Original-URI", "X-Forwarded-Uri", "X-Original-Method", "X-Forwarded-Method")


@pytest.fixture(scope="module")
def want() -> Expected:
    return expected()


def nginx_text() -> str:
    """The site and its snippets, comments dropped."""
    files = [render.NGINX_SITE, *sorted((render.NGINX / "snippets").glob("*.conf"))]
    text = "\n".join(path.read_text() for path in files)
    return re.sub(r"#[^\n]*", "", text)


def test_nginx_accepts_the_shipped_files_as_they_are(tmp_path: Path) -> None:
    main = render.install_nginx(tmp_path / "nginx")
    checked = run(
        [proxy_tool("nginx"), "-e", "stderr", "-p", f"{tmp_path}/nginx/", "-c", str(main), "-t"]
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_nginx_dials_the_gateway_and_the_app(want: Expected) -> None:
    servers = dict(re.findall(r"upstream (\w+) \{\s*server ([^;\s]+);", nginx_text()))
    assert servers == {"session_gateway": want.gateway, "session_app": want.app}
    assert want.trusts(want.gateway.rpartition(":")[0])


def test_nginx_asks_the_gateways_internal_auth_endpoint(want: Expected) -> None:
    text = nginx_text()
    location = re.search(
        r"location = (\S+) \{\s*internal;\s*proxy_pass http://"
        r"session_gateway(\S+);",
        text,
    )
    assert location is not None and location.groups() == (want.auth_path, want.auth_path)
    assert re.search(rf"auth_request {re.escape(want.auth_path)};", text)
    assert f"rewrite ^ {want.auth_path}?redirect=true break;" in text
    assert re.search(rf"location = {re.escape(want.session_path)} \{{", text)


def test_nginx_sets_every_spelling_of_the_question(want: Expected) -> None:
    set_headers = set(re.findall(r"proxy_set_header (\S+)\s+\$", nginx_text()))
    assert set(QUESTION_HEADERS) <= set_headers
    assert "Cookie" in set_headers


def test_nginx_forwards_exactly_the_identity_headers(want: Expected) -> None:
    text = nginx_text()
    forwarded = dict(re.findall(r"proxy_set_header (X-Auth-\S+)\s+\$(\w+);", text))
    assert set(forwarded) == want.identity
    captured = dict(re.findall(r"auth_request_set \$(\w+)\s+\$upstream_http_(\w+);", text))
    for header, variable in forwarded.items():
        assert captured[variable] == header.lower().replace("-", "_")


def test_nginx_passes_back_every_cookie_line_a_renewal_writes(want: Expected) -> None:
    """max_cookie_chunks new chunks plus the one stale name a renewal may delete."""
    text = nginx_text()
    copies = re.findall(
        r"auth_request_set \$gateway_cookie_(\d+)\s+"
        r"\$upstream_http_x_gateway_cookie_(\d+);",
        text,
    )
    sent = re.findall(r"add_header Set-Cookie \$gateway_cookie_(\d+) always;", text)
    lines = [str(i) for i in range(want.max_chunks + 1)]
    assert [a for a, b in copies if a == b] == lines
    assert sent == lines


def test_nginx_sends_the_apps_session_endpoint_through_the_gateway(want: Expected) -> None:
    """Proxied by the gateway, never asked about: only then does the gateway see the app's
    re-issue of the cookie on a poll, and keep its iat."""
    text = nginx_text()
    block = re.search(rf"location = {re.escape(want.app_session_path)} \{{([^}}]*)\}}", text)
    assert block is not None
    assert re.search(r"proxy_pass http://session_gateway;", block.group(1))
    assert "auth_request" not in block.group(1)
    route = want.route_of(want.app_session_path)
    assert route.public and not route.activity  # the example config's passive route


def caddy_json(tmp_path: Path) -> dict[str, Any]:
    """The shipped Caddyfile as Caddy itself reads it (caddy adapt)."""
    adapted = run(
        [proxy_tool("caddy"), "adapt", "--config", str(render.CADDYFILE), "--adapter", "caddyfile"],
        env=caddy_env(tmp_path),
    )
    assert adapted.returncode == 0, adapted.stderr
    loaded: dict[str, Any] = json.loads(adapted.stdout)
    return loaded


def subroutes(node: Any) -> Iterator[dict[str, Any]]:
    """Every route object (``match`` + ``handle``) anywhere in Caddy's JSON config."""
    if isinstance(node, dict):
        if "handle" in node:
            yield node
        for value in node.values():
            yield from subroutes(value)
    elif isinstance(node, list):
        for item in node:
            yield from subroutes(item)


def handlers(node: Any) -> Iterator[dict[str, Any]]:
    """Every handler object anywhere in Caddy's JSON config."""
    if isinstance(node, dict):
        if "handler" in node:
            yield node
        for value in node.values():
            yield from handlers(value)
    elif isinstance(node, list):
        for item in node:
            yield from handlers(item)


def test_caddy_accepts_the_shipped_file_as_it_is(tmp_path: Path) -> None:
    checked = run(
        [
            proxy_tool("caddy"),
            "validate",
            "--config",
            str(render.CADDYFILE),
            "--adapter",
            "caddyfile",
        ],
        env=caddy_env(tmp_path),
    )
    assert checked.returncode == 0, checked.stderr
    assert "Valid configuration" in checked.stdout + checked.stderr


def test_caddy_file_is_formatted_as_caddy_writes_it(tmp_path: Path) -> None:
    formatted = run([proxy_tool("caddy"), "fmt", str(render.CADDYFILE)], env=caddy_env(tmp_path))
    assert formatted.returncode == 0, formatted.stderr
    assert formatted.stdout == render.CADDYFILE.read_text()


def test_caddy_asks_the_gateway_in_redirect_mode(tmp_path: Path, want: Expected) -> None:
    proxies = [h for h in handlers(caddy_json(tmp_path)) if h["handler"] == "reverse_proxy"]
    [question] = [h for h in proxies if "rewrite" in h]
    assert question["rewrite"] == {"method": "GET", "uri": f"{want.auth_path}?redirect=true"}
    assert [u["dial"] for u in question["upstreams"]] == [want.gateway]
    asked = question["headers"]["request"]
    assert set(asked["set"]) | set(asked["delete"]) == set(QUESTION_HEADERS)
    dials = sorted(u["dial"] for h in proxies for u in h["upstreams"])
    # The question, the gateway's session endpoint and the app's, and the app.
    assert dials == sorted([want.gateway, want.gateway, want.gateway, want.app])


def test_caddy_sends_the_apps_session_endpoint_through_the_gateway(
    tmp_path: Path, want: Expected
) -> None:
    """Proxied by the gateway, so it sees the app's re-issue of the cookie on a poll."""
    routes = [r for r in subroutes(caddy_json(tmp_path)) if r.get("match")]
    polled = [
        r for r in routes if {"path": [want.app_session_path]} in r["match"]
    ]  # its own matcher, before the question
    [route] = polled
    [proxy] = [h for h in handlers(route) if h["handler"] == "reverse_proxy"]
    assert "rewrite" not in proxy and [u["dial"] for u in proxy["upstreams"]] == [want.gateway]


def test_caddy_strips_then_copies_the_identity_headers(tmp_path: Path, want: Expected) -> None:
    request_ops = [
        h["request"]
        for h in handlers(caddy_json(tmp_path))
        if h["handler"] == "headers" and "request" in h
    ]
    deleted = {name for ops in request_ops for name in ops.get("delete", [])}
    assert deleted == {*want.identity, "*_*"}  # and every spelling with an underscore
    assigned = {name: value for ops in request_ops for name, [value] in ops.get("set", {}).items()}
    assert assigned.pop("X-Request-Id") == "{http.request.uuid}"  # Caddy's own, not the client's
    assert assigned == {name: f"{{http.reverse_proxy.header.{name}}}" for name in want.identity}


def test_the_live_tests_gateway_matches_the_example(tmp_path: Path, want: Expected) -> None:
    """The gateway the live tests start has the example's names, so a pass there means the
    shipped examples work with config/example.yaml."""
    path = tmp_path / "gateway.yaml"
    path.write_text(GATEWAY_CONFIG.format(gateway=1, metrics=2, app=3, cookie=want.cookie))
    live = load_config(path, env={"NEXTAUTH_SECRET": SECRET})
    assert live.gateway_prefix == want.config.gateway_prefix
    assert live.identity_headers == want.config.identity_headers
    assert live.session.cookie == want.cookie
    assert live.limits == want.config.limits
    assert live.trusted_proxies == want.config.trusted_proxies
