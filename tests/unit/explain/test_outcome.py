"""``gateway explain`` as functions: one table of cookies at a fixed moment, then the facts each
rendering must state (dates, renewal, expiries, decision), and the odd inputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from gateway.config import GatewayConfig, load_config_text
from gateway.explain import (
    OUT_OF_RANGE,
    Explanation,
    explain,
    iso,
    parse_time,
    relative,
    render_json,
    render_text,
)
from gateway.session.stage import SessionStage
from gateway.session.token import SessionCodec

SECRET = "explain-secret-0123456789abcdef-0123456789abcdef"
OLD_SECRET = "explain-old-secret-abcdefghijklmnop-0123456789"
AT = 1_800_000_000  # 2027-01-15T08:00:00Z
HOUR, DAY = 3600, 86400

CONFIG = """
listen: 127.0.0.1:8080
metrics_listen: 127.0.0.1:9091
upstream: http://127.0.0.1:3000
session:
  flavor: {flavor}
  secrets: {secrets}
  role_claim: role
login: {{url: /login, callback_param: callbackUrl}}
policies:
  admin:   {{max_age: 2h, update_age: 1h, absolute_max_age: 12h}}
  kiosk:   {{max_age: 10m}}
  general: {{max_age: 1d, update_age: 6h}}
default_policy: general
routes:
  - {{name: nextauth, path: /api/auth/, public: true}}
  - {{name: login,    path: /login,     public: true}}
  - {{name: admin,    path: /admin/,    roles: [admin]}}
  - {{name: api,      path: /api/,      unauthenticated: 401}}
  - {{name: app,      path: {catch_all}}}
"""


@cache
def config(
    flavor: str = "nextauth-v4", secrets: tuple[str, ...] = (SECRET,), catch_all: str = "/"
) -> GatewayConfig:
    text = CONFIG.format(flavor=flavor, secrets=json.dumps(list(secrets)), catch_all=catch_all)
    return load_config_text(text, "t.yaml", env={})


def token(
    claims: dict[str, Any],
    *,
    iat: int,
    max_age: int = 30 * DAY,
    flavor: str = "nextauth-v4",
    secret: str = SECRET,
    name: str | None = None,
) -> str:
    cookie = name or config(flavor).session.cookie
    return SessionCodec(flavor, [secret]).encode(  # type: ignore[arg-type]
        {"sub": "u1", **claims}, cookie, now=iat, max_age=max_age
    )


def chunked_header(flavor: str, name: str, claims: dict[str, Any], iat: int) -> str:
    """A Cookie header as a browser sends a session too big for one cookie."""
    settings = config(flavor)
    value = token(claims, iat=iat, flavor=flavor, name=name)
    pairs = SessionStage(settings.session, settings.limits).chunks(name, value)
    assert len(pairs) == 2
    return "; ".join(f"{n}={v}" for n, v in [("theme", "dark"), *pairs])


@dataclass(frozen=True)
class Case:
    cookie: str
    path: str = "/"
    flavor: str = "nextauth-v4"
    secrets: tuple[str, ...] = (SECRET,)
    catch_all: str = "/"


PAD = {"pad": "x" * 4200}  # past one chunk in both flavors
CASES = {
    "fresh": Case(token({"role": "general"}, iat=AT - 60)),
    "due-for-renewal": Case(token({"role": "general"}, iat=AT - 7 * HOUR)),
    "idle-expired": Case(token({"role": "general"}, iat=AT - 25 * HOUR)),
    "exp-expired": Case(token({"role": "general"}, iat=AT - 60, max_age=30)),
    "absolute-expired": Case(token({"role": "admin", "auth_time": AT - 13 * HOUR}, iat=AT - 60)),
    "auth-time-missing": Case(token({"role": "admin"}, iat=AT - 60), path="/admin/users"),
    "static-session": Case(token({"role": ["viewer", "kiosk"]}, iat=AT - 60)),
    "forbidden-path": Case(token({"role": "general"}, iat=AT - 60), path="/ADMIN/x"),
    "dot-segments": Case(token({"role": "general"}, iat=AT - 60), path="/api/auth/../../admin"),
    "public-path": Case(
        token({"role": "general"}, iat=AT - 25 * HOUR), path="/api/auth/session?x=1"
    ),
    "chunked-header": Case(
        chunked_header(
            "nextauth-v4", "next-auth.session-token", {"role": "general", **PAD}, AT - 60
        )
    ),
    "secure-preferred": Case(
        chunked_header(
            "authjs-v5",
            "__Secure-authjs.session-token",
            {"role": "admin", "auth_time": AT - HOUR, **PAD},
            AT - 60,
        )
        + "; authjs.session-token=stale-plain-one",
        path="/admin",
        flavor="authjs-v5",
    ),
    "v5-bare-secure-token": Case(
        token(
            {"role": "general"},
            iat=AT - 60,
            flavor="authjs-v5",
            name="__Secure-authjs.session-token",
        ),
        flavor="authjs-v5",
    ),
    "old-secret-v5": Case(
        token({"role": "general"}, iat=AT - 60, flavor="authjs-v5", secret=OLD_SECRET),
        flavor="authjs-v5",
        secrets=(SECRET, OLD_SECRET),
    ),
    "wrong-secret": Case(token({"role": "general"}, iat=AT - 60, secret=OLD_SECRET)),
    "garbage": Case("garbage", path="/api/users"),
    "no-session-cookie": Case("Cookie: theme=dark; lang=en"),
    "chunk-gap": Case("next-auth.session-token.0=abc; next-auth.session-token.2=def"),
    "no-route": Case(token({"role": "general"}, iat=AT - 60), path="/elsewhere", catch_all="/app/"),
    "bad-path": Case(token({"role": "general"}, iat=AT - 60), path="/a/../../etc"),
}

# id: (decoded, kind, reason, state)
EXPECTED = {
    "fresh": (True, "allowed", "valid", "allowed"),
    "due-for-renewal": (True, "refreshed", "update_age", "refreshed"),
    "idle-expired": (True, "expired", "idle", "expired"),
    "exp-expired": (True, "expired", "exp", "expired"),
    "absolute-expired": (True, "expired", "absolute", "expired"),
    "auth-time-missing": (True, "refreshed", "auth_time", "refreshed"),
    "static-session": (True, "allowed", "valid", "allowed"),
    "forbidden-path": (True, "forbidden", "role", "forbidden"),
    "dot-segments": (True, "forbidden", "role", "forbidden"),
    "public-path": (True, "public", "idle", "expired"),
    "chunked-header": (True, "allowed", "valid", "allowed"),
    "secure-preferred": (True, "allowed", "valid", "allowed"),
    "v5-bare-secure-token": (True, "allowed", "valid", "allowed"),
    "old-secret-v5": (True, "refreshed", "old_secret", "refreshed"),
    "wrong-secret": (False, "invalid", "decrypt", "invalid"),
    "garbage": (False, "invalid", "malformed", "invalid"),
    "no-session-cookie": (False, "unauthenticated", "no_cookie", "unauthenticated"),
    "chunk-gap": (False, "invalid", "gap", "invalid"),
    "no-route": (True, "not_found", "no_route", None),
    "bad-path": (True, "bad_path", "'..' above the root", None),
}


def run(case_id: str) -> Explanation:
    case = CASES[case_id]
    return explain(config(case.flavor, case.secrets, case.catch_all), case.cookie, case.path, AT)


@pytest.mark.parametrize("case_id", list(CASES))
def test_decision(case_id: str) -> None:
    e = run(case_id)
    decoded, kind, reason, state = EXPECTED[case_id]
    assert (e.decoded, e.outcome.kind, e.outcome.reason, e.outcome.state) == (
        decoded,
        kind,
        reason,
        state,
    )
    as_json = render_json(e)
    assert as_json["decoded"] is decoded
    assert as_json["decision"]["kind"] == kind
    assert as_json["decision"]["reason"] == reason
    assert json.loads(json.dumps(as_json)) == as_json  # plain JSON types only


@pytest.mark.parametrize("case_id", list(CASES))
def test_secrets_never_printed(case_id: str) -> None:
    e = run(case_id)
    printed = render_text(e) + json.dumps(render_json(e))
    assert SECRET not in printed
    assert OLD_SECRET not in printed


# id: lines that must appear in the text rendering
TEXT = {
    "fresh": [
        "at:         2027-01-15T08:00:00Z (unix 1800000000)",
        "path:       /",
        "cookie:     next-auth.session-token (read from: next-auth.session-token)",
        "decrypted:  by secret 1 of 1 (the current one)",
        '    "sub": "u1",',
        '    "role": "general",',
        "roles:      general",
        "policy:     general (max_age 1d, update_age 6h, absolute_max_age none)",
        "iat:        2027-01-15T07:59:00Z (1m ago)",
        "exp:        2027-02-14T07:59:00Z (in 4w 1d 23h 59m)",
        "auth_time:  missing",
        "renews:     2027-01-15T13:59:00Z (in 5h 59m), iat + update_age (6h)",
        "expires:    2027-01-16T07:59:00Z (in 23h 59m), by idle, the first of:",
        "route:      app (path /, any signed-in user)",
        "decision:   allowed (valid): valid",
        "response:   proxied to http://127.0.0.1:3000",
    ],
    "due-for-renewal": [
        "renews:     2027-01-15T07:00:00Z (1h ago), iat + update_age (6h)",
        "decision:   refreshed (update_age): older than update_age: renewed on this response",
        "response:   proxied to http://127.0.0.1:3000; the cookie is renewed",
    ],
    "idle-expired": [
        "iat:        2027-01-14T07:00:00Z (1d 1h ago)",
        "expires:    2027-01-15T07:00:00Z (1h ago), by idle, the first of:",
        "decision:   expired (idle): not renewed within max_age (idle too long)",
        "response:   302 to /login for a browser navigation, else 401 "
        '{"error": "session_expired"}; the session cookie is deleted and not forwarded',
    ],
    "exp-expired": [
        "exp:        2027-01-15T07:59:30Z (30s ago)",
        "expires:    2027-01-15T07:59:45Z (15s ago), by exp, the first of:",
        "decision:   expired (exp): exp + clock_skew has passed",
    ],
    "absolute-expired": [
        "policy:     admin (max_age 2h, update_age 1h, absolute_max_age 12h)",
        "auth_time:  2027-01-14T19:00:00Z (13h ago)",
        "expires:    2027-01-15T07:00:00Z (1h ago), by absolute, the first of:",
        "decision:   expired (absolute): signed in longer ago than absolute_max_age (hard cap)",
    ],
    "auth-time-missing": [
        "auth_time:  missing",
        "decision:   refreshed (auth_time): auth_time missing under absolute_max_age: "
        "renewed to add it",
        "route:      admin (path /admin/, roles admin)",
    ],
    "static-session": [
        "roles:      viewer, kiosk",
        "policy:     kiosk (max_age 10m, update_age never, absolute_max_age none)",
        "renews:     never (static session)",
        "expires:    2027-01-15T08:09:00Z (in 9m), by idle, the first of:",
    ],
    "forbidden-path": [
        "path:       /ADMIN/x",
        "route:      admin (path /admin/, roles admin)",
        "decision:   forbidden (role): none of the user's roles is allowed on this route",
        "response:   403 forbidden",
    ],
    "public-path": [
        "path:       /api/auth/session?x=1 (normalised: /api/auth/session)",
        "route:      nextauth (path /api/auth/, public)",
        "decision:   public (the route is public); the session alone: expired (idle): "
        "not renewed within max_age (idle too long)",
        "response:   proxied to http://127.0.0.1:3000; the session cookie is deleted and not "
        "forwarded",
    ],
    "dot-segments": [
        "path:       /api/auth/../../admin (normalised: /admin)",
        "route:      admin (path /admin/, roles admin)",
    ],
    "chunked-header": [
        "cookie:     next-auth.session-token (read from: next-auth.session-token.0, "
        "next-auth.session-token.1)",
    ],
    "secure-preferred": [
        "cookie:     __Secure-authjs.session-token (read from: __Secure-authjs.session-token.0, "
        "__Secure-authjs.session-token.1, authjs.session-token)",
        "auth_time:  2027-01-15T07:00:00Z (1h ago)",
    ],
    "v5-bare-secure-token": [
        "cookie:     __Secure-authjs.session-token (read from: __Secure-authjs.session-token)",
    ],
    "old-secret-v5": [
        "decrypted:  by secret 2 of 2 (an old one: renewed under the current one)",
        "decision:   refreshed (old_secret): decrypted by an old secret: renewed under the "
        "current one",
    ],
    "wrong-secret": [
        "decision:   invalid (decrypt): no configured secret decrypts it (another secret or "
        "cookie name, or tampered)",
    ],
    "garbage": [
        "cookie:     next-auth.session-token (read from: next-auth.session-token)",
        "decision:   invalid (malformed): not a compact JWE (five dot-separated parts)",
        'response:   401 {"error": "invalid_session"}; the session cookie is deleted and '
        "not forwarded",
    ],
    "no-session-cookie": [
        "cookie:     (none)",
        "decision:   unauthenticated (no_cookie): no session cookie in the value given",
    ],
    "chunk-gap": ["decision:   invalid (gap): the chunks are not contiguous from .0"],
    "no-route": [
        "path:       /elsewhere",
        "route:      (none)",
        "decision:   no route (404)",
        "response:   404 (the cookie is not read)",
    ],
    "bad-path": ["decision:   bad path (400): '..' above the root", "response:   400 bad request"],
}


@pytest.mark.parametrize("case_id", list(TEXT))
def test_text_states_the_facts(case_id: str) -> None:
    lines = render_text(run(case_id)).splitlines()
    missing = [line for line in TEXT[case_id] if line not in lines]
    assert missing == []


@pytest.mark.parametrize("case_id", ["wrong-secret", "garbage", "no-session-cookie"])
def test_text_without_a_session_shows_no_session_facts(case_id: str) -> None:
    text = render_text(run(case_id))
    for label in ("claims:", "policy:", "iat:", "renews:", "expires:"):
        assert label not in text


def test_json_times_are_unix_and_iso() -> None:
    out = render_json(run("absolute-expired"))
    assert out["at"] == {"unix": AT, "iso": "2027-01-15T08:00:00Z", "seconds_from_at": 0}
    assert out["iat"] == {"unix": AT - 60, "iso": "2027-01-15T07:59:00Z", "seconds_from_at": -60}
    assert out["auth_time"]["unix"] == AT - 13 * HOUR
    assert out["renews"] == {
        "rule": "renew",
        "unix": AT - 60 + HOUR,
        "iso": "2027-01-15T08:59:00Z",
        "seconds_from_at": HOUR - 60,
        "basis": "iat + update_age (1h)",
    }
    assert [(d["rule"], d["unix"]) for d in out["expires"]] == [
        ("idle", AT - 60 + 2 * HOUR),
        ("exp", AT - 60 + 30 * DAY + 15),
        ("absolute", AT - 13 * HOUR + 12 * HOUR),
    ]
    assert out["policy"] == {
        "name": "admin",
        "max_age": 7200,
        "update_age": 3600,
        "absolute_max_age": 43200,
        "text": {"max_age": "2h", "update_age": "1h", "absolute_max_age": "12h"},
    }
    assert (out["path"], out["forward_path"], out["route"]["name"]) == ("/", "/", "app")
    assert out["claims"]["auth_time"] == AT - 13 * HOUR
    assert out["secret_index"] == 0


def test_json_absolute_expiry_counts_from_iat_when_auth_time_is_missing() -> None:
    out = render_json(run("auth-time-missing"))
    absolute = out["expires"][-1]
    assert absolute["rule"] == "absolute"
    assert absolute["unix"] == AT - 60 + 12 * HOUR
    assert "auth_time missing: counted from iat" in absolute["basis"]
    assert out["auth_time"] is None


@pytest.mark.parametrize(
    ("case_id", "forward"),
    [("dot-segments", "/admin"), ("public-path", "/api/auth/session"), ("bad-path", None)],
)
def test_json_forward_path(case_id: str, forward: str | None) -> None:
    assert render_json(run(case_id))["forward_path"] == forward


def test_json_static_session_never_renews() -> None:
    out = render_json(run("static-session"))
    assert out["renews"] is None
    assert out["roles"] == ["viewer", "kiosk"]
    assert out["policy"]["update_age"] is None


def test_json_without_a_session() -> None:
    out = render_json(run("wrong-secret"))
    assert (out["claims"], out["policy"], out["iat"], out["expires"]) == (None, None, None, [])
    assert out["cookie"] == {
        "name": "next-auth.session-token",
        "names": ["next-auth.session-token"],
        "problem": None,
    }


def test_hostile_claims_cannot_drive_the_terminal() -> None:
    claims = {"role": "general", "name": "Zo\u00eb \x1b[2J\u202egnp.exe\x9b", "odd": "\ud800"}
    e = explain(config(), token(claims, iat=AT - 60), "/", AT)
    text = render_text(e)
    assert "Zo\u00eb" in text  # readable names stay readable
    assert not any(c in text for c in "\x1b\u202e\x9b\ud800")
    assert "\\u001b[2J\\u202egnp.exe\\u009b" in text
    text.encode("utf-8")  # printable: no lone surrogate left


def test_dates_out_of_range_do_not_break_rendering() -> None:
    ancient = -(2**53 - 1)
    e = explain(config(), token({"role": "general"}, iat=ancient, max_age=60), "/", AT)
    assert e.outcome.kind == "expired"
    iat = [line for line in render_text(e).splitlines() if line.startswith("iat:")]
    assert len(iat) == 1
    assert iat[0].startswith(f"iat:        {OUT_OF_RANGE} (14892858886w 5d ")
    assert iat[0].endswith(" ago)")
    assert render_json(e)["iat"]["iso"] == OUT_OF_RANGE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1800000000", AT, id="unix"),
        pytest.param(" 1800000000.5 ", AT + 0.5, id="unix-fraction"),
        pytest.param("2027-01-15T08:00:00Z", AT, id="iso-z"),
        pytest.param("2027-01-15T09:30:00+01:30", AT, id="iso-offset"),
        pytest.param("2027-01-15 08:00:00", AT, id="iso-naive-is-utc"),
        pytest.param("2027-01-15", AT - 8 * HOUR, id="date"),
    ],
)
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("yesterday", "is neither unix seconds nor an ISO 8601 time", id="word"),
        pytest.param("", "is neither unix seconds nor an ISO 8601 time", id="empty"),
        pytest.param("1e9", "is neither unix seconds nor an ISO 8601 time", id="exponent"),
        pytest.param("9" * 13, "is neither unix seconds nor an ISO 8601 time", id="too-long"),
        pytest.param("-99999999999", "outside the years 1 to 9999", id="before-year-1"),
    ],
)
def test_parse_time_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(text)


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        pytest.param(AT, "now", id="now"),
        pytest.param(AT + 0.4, "now", id="under-half-a-second"),
        pytest.param(AT + 90, "in 1m 30s", id="future"),
        pytest.param(AT - DAY - 5, "1d 5s ago", id="past-skips-zero-units"),
        pytest.param(AT + 2 * 604_800 + HOUR, "in 2w 1h", id="weeks"),
    ],
)
def test_relative(t: float, expected: str) -> None:
    assert relative(t, AT) == expected


def test_iso() -> None:
    assert iso(AT) == "2027-01-15T08:00:00Z"
    assert iso(2.0**53) == OUT_OF_RANGE
