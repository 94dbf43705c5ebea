"""The text rendering of ``gateway explain`` (gateway.explain.as_text): the facts it must
state for each cookie of the table (dates, renewal, expiries, decision), and odd inputs that
must not break it or the terminal."""

from __future__ import annotations

import pytest

from gateway.explain import OUT_OF_RANGE, explain, render_json, render_text
from tests.unit.explain.cases import AT, config, run, token

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
        "decision:   refreshed (auth_time): auth_time missing where it is needed "
        "(absolute_max_age, or a route with max_auth_age): renewed to add it",
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
