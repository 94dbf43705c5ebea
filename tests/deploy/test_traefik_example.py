"""deploy/traefik, checked by parsing (Traefik is not packaged in Debian, so it cannot run
here): every option is one Traefik v3 knows, every name a router uses exists, and the
addresses, identity headers and cookie names agree with config/example.yaml."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy.proxies.expected import Expected, expected
from tests.deploy.support import DEPLOY

TRAEFIK = DEPLOY / "traefik"
DYNAMIC = TRAEFIK / "session-gateway.yml"
STATIC = TRAEFIK / "traefik.yml"
# The forwardAuth options of Traefik v3.3+ (its reference: routing-configuration/http/
# middlewares/forwardauth). A misspelt option is silently ignored by Traefik: not here.
FORWARD_AUTH_OPTIONS = {
    "address",
    "tls",
    "trustForwardHeader",
    "authResponseHeaders",
    "authResponseHeadersRegex",
    "authRequestHeaders",
    "addAuthCookiesToResponse",
    "headerField",
    "forwardBody",
    "maxBodySize",
    "preserveLocationHeader",
    "preserveRequestMethod",
}
# What the gateway decides on; nothing else of the client's may reach it (X-Original-URI
# above all: the gateway reads it before Traefik's X-Forwarded-Uri).
DECIDES_ON = {"Cookie", "Accept", "Sec-Fetch-Mode", "X-Requested-With"}


@pytest.fixture(scope="module")
def http() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DYNAMIC.read_text())
    assert set(loaded) == {"http"}
    section: dict[str, Any] = loaded["http"]
    return section


@pytest.fixture(scope="module")
def forward_auth(http: dict[str, Any]) -> dict[str, Any]:
    [found] = [m["forwardAuth"] for m in http["middlewares"].values() if "forwardAuth" in m]
    options: dict[str, Any] = found
    return options


@pytest.fixture(scope="module")
def want() -> Expected:
    return expected()


def underscore_spellings(header: str) -> set[str]:
    """``X-Auth-Request-User`` with any of its hyphens written as an underscore (one at
    least), in Go's canonical form (Traefik looks headers up that way)."""
    words = header.split("-")
    spellings = set()
    for joints in itertools.product("-_", repeat=len(words) - 1):
        if "_" in joints:
            name = words[0] + "".join(j + w for j, w in zip(joints, words[1:], strict=True))
            spellings.add(go_canonical(name))
    return spellings


def go_canonical(name: str) -> str:
    """net/textproto.CanonicalMIMEHeaderKey: upper case at the start and after '-'."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def test_forward_auth_uses_only_options_traefik_knows(forward_auth: dict[str, Any]) -> None:
    assert set(forward_auth) <= FORWARD_AUTH_OPTIONS


def test_asks_the_gateway_in_redirect_mode(forward_auth: dict[str, Any], want: Expected) -> None:
    address = urlsplit(forward_auth["address"])
    assert (address.scheme, address.netloc) == ("http", want.gateway)
    assert (address.path, address.query) == (want.auth_path, "redirect=true")
    assert want.trusts(address.hostname or "")  # Traefik on the same machine


def test_sends_only_what_the_gateway_decides_on(forward_auth: dict[str, Any]) -> None:
    assert set(forward_auth["authRequestHeaders"]) == DECIDES_ON
    assert forward_auth["trustForwardHeader"] is False
    assert forward_auth["preserveLocationHeader"] is True  # keep the relative login URL


def test_copies_exactly_the_identity_headers(forward_auth: dict[str, Any], want: Expected) -> None:
    assert set(forward_auth["authResponseHeaders"]) == want.identity


def test_passes_back_every_cookie_name_a_renewal_writes(
    forward_auth: dict[str, Any], want: Expected
) -> None:
    names = forward_auth["addAuthCookiesToResponse"]
    assert len(names) == len(set(names))
    assert set(names) == want.cookie_names()


def test_strips_every_underscore_spelling_of_the_identity(
    http: dict[str, Any], want: Expected
) -> None:
    [strip] = [m["headers"] for m in http["middlewares"].values() if "headers" in m]
    removed = strip["customRequestHeaders"]
    assert set(removed.values()) == {""}  # an empty value deletes the header
    wanted = set().union(*(underscore_spellings(h) for h in want.identity))
    assert len(wanted) == 7 * len(want.identity)
    assert {go_canonical(name) for name in removed} == wanted


def test_app_router_strips_then_asks(http: dict[str, Any]) -> None:
    middlewares = http["middlewares"]
    [app] = [r for r in http["routers"].values() if r["rule"] == "PathPrefix(`/`)"]
    chain = app["middlewares"]
    assert [next(iter(middlewares[name])) for name in chain] == ["headers", "forwardAuth"]


def test_routers_name_existing_services_and_entry_points(http: dict[str, Any]) -> None:
    static = yaml.safe_load(STATIC.read_text())
    for name, router in http["routers"].items():
        assert router["service"] in http["services"], name
        assert set(router["entryPoints"]) <= set(static["entryPoints"]), name
        assert set(router.get("middlewares", [])) <= set(http["middlewares"]), name


def test_services_dial_the_app_and_the_gateway(http: dict[str, Any], want: Expected) -> None:
    dialed = {
        name: [urlsplit(s["url"]).netloc for s in svc["loadBalancer"]["servers"]]
        for name, svc in http["services"].items()
    }
    assert sorted(dialed.values()) == sorted([[want.app], [want.gateway]])
    [session] = [r for r in http["routers"].values() if want.session_path in r["rule"]]
    assert dialed[session["service"]] == [want.gateway]


def test_static_config_loads_the_dynamic_file() -> None:
    static = yaml.safe_load(STATIC.read_text())
    assert Path(static["providers"]["file"]["filename"]).name == DYNAMIC.name


def test_the_apps_session_endpoint_goes_through_the_gateway(
    http: dict[str, Any], want: Expected
) -> None:
    """Proxied by the gateway, never behind forwardAuth: only then does the gateway see the
    app's re-issue of the cookie on a poll, and keep its iat."""
    [router] = [r for r in http["routers"].values() if want.app_session_path in r["rule"]]
    assert router["rule"] == f"Path(`{want.app_session_path}`)"  # longer: wins over `/`
    assert "middlewares" not in router
    servers = http["services"][router["service"]]["loadBalancer"]["servers"]
    assert [urlsplit(s["url"]).netloc for s in servers] == [want.gateway]
    route = want.route_of(want.app_session_path)
    assert route.public and not route.activity
