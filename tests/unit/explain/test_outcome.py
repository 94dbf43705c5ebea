"""``gateway explain`` as a function (gateway.explain.outcome): one table of cookies at a fixed
moment, and the decision each gets; no rendering prints a secret."""

from __future__ import annotations

import json

import pytest

from gateway.explain import render_json, render_text
from tests.unit.explain.cases import CASES, OLD_SECRET, SECRET, run

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
