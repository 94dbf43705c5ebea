"""The wave-2 keys of the file: ``routes[].activity``, ``routes[].max_auth_age`` and
``session.auth_path``, their exact messages, the two warnings (the session endpoint counting
as activity, a step-up window not shorter than an idle window) and the claims a config
needs (``GatewayConfig.needs``)."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, Needs, load_config_text
from tests.unit.config.test_load import BASE, ENV, edit

SESSION_ROUTE = "  - { name: session, path: /api/auth/session, public: true, activity: false }\n"
CLEAN = edit("  - { name: app, path: / }\n", SESSION_ROUTE + "  - { name: app, path: / }\n")
APP_LINE = "  - { name: app, path: / }"


def warnings(text: str) -> tuple[str, ...]:
    return load_config_text(text, "t.yaml", env=ENV).warnings


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "t.yaml", env=ENV)
    return list(caught.value.errors)


def test_the_defaults() -> None:
    config = load_config_text(CLEAN, "t.yaml", env=ENV)
    assert config.session.auth_path == "/api/auth"
    assert config.session.session_endpoint == "/api/auth/session"
    route = config.routes[-1]
    assert (route.activity, route.max_auth_age) == (True, None)
    assert config.needs == Needs()
    assert warnings(CLEAN) == ()


def test_a_passive_route_and_a_step_up_route_load() -> None:
    text = edit(
        APP_LINE, "  - { name: billing, path: /billing, max_auth_age: 15m }\n" + APP_LINE, CLEAN
    )
    config = load_config_text(text, "t.yaml", env=ENV)
    session, billing = config.routes[2], config.routes[3]
    assert (session.name, session.activity, session.public) == ("session", False, True)
    assert (billing.name, billing.max_auth_age, billing.activity) == ("billing", 900, True)
    assert config.needs == Needs(auth_time=True)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (
            "{ name: x, path: /x, max_auth_age: 0 }",
            "t.yaml:15: routes[3].max_auth_age: 0 must be longer than 0s",
        ),
        (
            "{ name: x, path: /x, max_auth_age: soon }",
            "t.yaml:15: routes[3].max_auth_age: soon",
        ),
        (
            "{ name: x, path: /x, public: true, max_auth_age: 5m }",
            "t.yaml:15: routes[3].max_auth_age: a public route lets anyone in; max_auth_age "
            "needs a protected route",
        ),
        (
            '{ name: x, path: /x, activity: "sometimes" }',
            "t.yaml:15: routes[3].activity: sometimes must be true or false",
        ),
    ],
    ids=["zero", "not-a-duration", "public", "activity-not-boolean"],
)
def test_bad_route_keys_are_one_line_each(route: str, message: str) -> None:
    found = errors(edit(APP_LINE, f"  - {route}\n" + APP_LINE, CLEAN))
    assert len(found) == 1 and found[0].startswith(message), found


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("auth", "must start with /"),
        ("/api/auth/", "must not end with / (e.g. /api/auth)"),
        ("/", "must not end with / (e.g. /api/auth)"),
        ("/api//auth", "must be a normalised path (no //, . or .. segments)"),
        ("/api/auth?x", "must be a plain decoded path (no spaces, ?, #, % or backslash)"),
    ],
)
def test_bad_auth_paths(value: str, message: str) -> None:
    text = edit("  flavor: nextauth-v4\n", f"  flavor: nextauth-v4\n  auth_path: {value}\n", CLEAN)
    found = errors(text)
    assert len(found) == 1 and found[0].startswith("t.yaml:6: session.auth_path: "), found
    assert found[0].endswith(message)


def test_the_session_endpoint_counting_as_activity_is_a_warning() -> None:
    assert warnings(BASE) == (
        "t.yaml:14: routes[2].path: the session endpoint /api/auth/session falls in routes[2] "
        "(app, /), which counts as activity: a polling tab keeps an idle session alive; add a "
        "route {path: /api/auth/session, public: true, activity: false} before it",
    )


def test_the_warning_follows_auth_path() -> None:
    text = edit("  flavor: nextauth-v4\n", "  flavor: nextauth-v4\n  auth_path: /auth\n", CLEAN)
    [warning] = warnings(text)
    assert "the session endpoint /auth/session falls in routes[3] (app, /)" in warning
    fixed = edit(SESSION_ROUTE, SESSION_ROUTE.replace("/api/auth/session", "/auth/session"), text)
    assert warnings(fixed) == ()


def test_no_route_for_the_session_endpoint_is_no_warning() -> None:
    text = edit(APP_LINE, "  - { name: app, path: /app/ }", BASE)
    assert not any("session endpoint" in w for w in warnings(text))


@pytest.mark.parametrize(
    ("route", "policy"),
    [
        ("{ name: x, path: /x, max_auth_age: 2h }", "admin"),  # any user: admin's 2h too
        ("{ name: x, path: /x, roles: [general], max_auth_age: 1d }", "general"),
    ],
)
def test_a_step_up_not_shorter_than_an_idle_window_is_a_warning(route: str, policy: str) -> None:
    [warning] = warnings(edit(APP_LINE, f"  - {route}\n" + APP_LINE, CLEAN))
    assert warning.startswith("t.yaml:15: routes[3].max_auth_age: ")
    assert f"is not shorter than policies.{policy}.max_age" in warning


def test_a_step_up_only_admins_reach_is_checked_against_admin_and_the_default() -> None:
    # admin: max_age 2h; general (the default) 1d: 3h is longer than admin's window.
    route = "{ name: x, path: /x, roles: [admin], max_auth_age: 3h }"
    [warning] = warnings(edit(APP_LINE, f"  - {route}\n" + APP_LINE, CLEAN))
    assert "policies.admin.max_age (2h)" in warning
    short = "{ name: x, path: /x, roles: [admin], max_auth_age: 1h }"
    assert warnings(edit(APP_LINE, f"  - {short}\n" + APP_LINE, CLEAN)) == ()


def test_a_public_passive_route_spelled_in_another_case_does_not_count() -> None:
    """A public route matches only the path as written too (routes.match_route), so
    /API/Auth/Session never takes /api/auth/session: the active route behind it does."""
    upper = SESSION_ROUTE.replace("/api/auth/session", "/API/Auth/Session")
    [warning] = warnings(edit(SESSION_ROUTE, upper, CLEAN))
    assert "the session endpoint /api/auth/session falls in routes[3] (app, /)" in warning
