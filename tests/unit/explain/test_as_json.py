"""The JSON rendering of ``gateway explain`` (gateway.explain.as_json): times as unix seconds
and ISO 8601, the expiry rules, the forward path, and the fields of a cookie that holds no
session."""

from __future__ import annotations

import pytest

from gateway.explain import render_json
from tests.unit.explain.cases import AT, DAY, HOUR, run


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
