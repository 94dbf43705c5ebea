"""The log lines: fields, escaping of hostile values, debug detail, and the configuration."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.http_exceptions import BadHttpMessage

from gateway.config import GatewayConfig, LogSettings, load_config_text
from gateway.exchange import Exchange
from gateway.observe.access import (
    MAX_PATH,
    MAX_SUB,
    AccessRecord,
    log_access,
    log_path,
    subject,
    why,
)
from gateway.observe.logs import JsonFormatter, TextFormatter, configure_logging
from gateway.policy import Decision, Kind
from gateway.session import Session
from gateway.snapshot import Snapshot
from gateway.trust import ClientView

pytestmark = pytest.mark.usefixtures("restore_logging")  # configure_logging is global

T0 = 1_800_000_000
SECRET = "unit-logs-secret-0123456789abcdef-0123456789"
CONFIG = f"""
listen: 127.0.0.1:8080
metrics_listen: 127.0.0.1:9091
upstream: http://127.0.0.1:3000
session: {{flavor: nextauth-v4, secrets: ["{SECRET}"]}}
policies:
  admin: {{max_age: 2h, update_age: 1h, absolute_max_age: 12h}}
  general: {{max_age: 1d, update_age: 6h}}
default_policy: general
routes:
  - {{name: admin, path: /admin/, roles: [admin, ops]}}
  - {{name: app, path: /}}
"""
HOSTILE = [
    "a\nb",
    "a\r\nb",
    "\x1b[31mred",
    'quote"back\\slash',
    "sp ace",
    "caf\u00e9",
    "line\u2028sep",
    "bidi\u202eevil",
    "lone\udcffsurrogate",
    "nul\x00byte",
    "tab\tx",
]
HOSTILE_IDS = [
    "lf",
    "crlf",
    "ansi",
    "quote",
    "space",
    "utf8",
    "u2028",
    "bidi",
    "surrogate",
    "nul",
    "tab",
]


@pytest.fixture(scope="module")
def config() -> GatewayConfig:
    return load_config_text(CONFIG, "unit.yaml", env={})


def exchange(
    config: GatewayConfig,
    decision: Decision | None = None,
    *,
    route: str = "app",
    request_id: str = "req-1",
    ip: str = "203.0.113.7",
) -> Exchange:
    view = ClientView(ip, "https", None, None, False)
    x = Exchange(Snapshot.build(config), view, T0 + 0.25, request_id, route=route)
    x.decision = decision
    return x


def allowed(config: GatewayConfig, **claims: Any) -> Decision:
    session = Session(
        {"sub": "user-bob", "iat": T0 - 60, "exp": T0 + 86340, **claims},
        "next-auth.session-token",
        secret_index=1,
    )
    policy = config.policy("general")
    return Decision(Kind.ALLOWED, "valid", policy, session, state=Kind.ALLOWED)


def record(
    x: Exchange, *, target: str = "/app/x?token=abc", status: int = 200, debug: bool = False
) -> AccessRecord:
    return AccessRecord(x, "GET", target, status, 0.0125, 512, debug)


def json_line(rec: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(rec)
    assert "\n" not in line and line.isascii()
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def test_json_access_line_has_every_field(config: GatewayConfig) -> None:
    x = exchange(config, allowed(config))
    x.upstream_seconds = 0.01
    assert json_line(record(x)) == {
        "time": "2027-01-15T08:00:00.250Z",
        "level": "info",
        "logger": "gateway.access",
        "request_id": "req-1",
        "method": "GET",
        "route": "app",
        "path": "/app/x",
        "client_ip": "203.0.113.7",
        "status": 200,
        "decision": "allowed",
        "reason": "valid",
        "policy": "general",
        "sub": "user-bob",
        "duration_s": 0.0125,
        "upstream_s": 0.01,
        "bytes": 512,
    }


def test_time_is_rfc3339_utc() -> None:
    assert datetime.fromtimestamp(T0, UTC).isoformat() == "2027-01-15T08:00:00+00:00"


def test_json_access_line_without_decision_has_nulls(config: GatewayConfig) -> None:
    line = json_line(record(exchange(config, route="none"), status=404))
    assert (line["route"], line["status"]) == ("none", 404)
    assert [line[k] for k in ("decision", "reason", "policy", "sub", "upstream_s")] == [None] * 5


def test_text_access_line(config: GatewayConfig) -> None:
    line = TextFormatter().format(record(exchange(config, allowed(config))))
    assert line == (
        "2027-01-15T08:00:00.250Z INFO GET /app/x 200 decision=allowed "
        "reason=valid route=app policy=general sub=user-bob ip=203.0.113.7 "
        "id=req-1 duration=12.500ms upstream=- bytes=512"
    )


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/a/b?token=abc", "/a/b"),
        ("/a#frag", "/a"),
        ("/a?x#y", "/a"),
        ("http://user:password@host/x?q=1", "/x"),
        ("https://host", "/"),
        ("*", "*"),
        ("host:443", "-"),
        ("/" + "a" * 5000, "/" + "a" * (MAX_PATH - 1) + "..."),
    ],
    ids=[
        "query",
        "fragment",
        "both",
        "absolute-userinfo",
        "absolute-bare",
        "asterisk",
        "authority",
        "long",
    ],
)
def test_log_path_never_keeps_query_or_credentials(target: str, path: str) -> None:
    assert log_path(target) == path


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_path_and_sub_stay_on_one_line_in_json(config: GatewayConfig, value: str) -> None:
    x = exchange(config, allowed(config, sub=value))
    line = json_line(record(x, target="/" + value + "?q"))
    assert line["path"] == "/" + value and line["sub"] == value


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_path_and_sub_stay_on_one_line_in_text(config: GatewayConfig, value: str) -> None:
    x = exchange(config, allowed(config, sub=value))
    line = TextFormatter().format(record(x, target="/" + value))
    assert line.isascii() and line.isprintable()
    # Every value is one space-free field: the line splits the same way whatever was sent.
    fields = line.split(" ")
    assert len(fields) == 15
    assert json.loads(fields[3]) == "/" + value
    assert json.loads(fields[9].removeprefix("sub=")) == value


def test_plain_text_values_are_bare(config: GatewayConfig) -> None:
    line = TextFormatter().format(record(exchange(config, allowed(config)), target="/a-b_c.d"))
    assert " /a-b_c.d " in line and " sub=user-bob " in line


def test_long_sub_is_cut(config: GatewayConfig) -> None:
    x = exchange(config, allowed(config, sub="s" * 1000))
    assert subject(x) == "s" * MAX_SUB + "..."


def test_debug_fields_explain_the_decision(config: GatewayConfig) -> None:
    x = exchange(config, allowed(config, auth_time=T0 - 600))
    debug = json_line(record(x, debug=True))["debug"]
    assert debug == {
        "state": "allowed",
        "iat": T0 - 60,
        "exp": T0 + 86340,
        "auth_time": T0 - 600,
        "age_s": 60.25,
        "secret_index": 1,
        "clock_skew": 15,
        "max_age": 86400,
        "update_age": 21600,
        "absolute_max_age": None,
    }


def test_debug_names_the_roles_a_route_requires(config: GatewayConfig) -> None:
    decision = Decision(
        Kind.FORBIDDEN,
        "role",
        config.policy("general"),
        allowed(config).session,
        state=Kind.FORBIDDEN,
    )
    assert why(exchange(config, decision, route="admin"))["route_roles"] == "admin,ops"


def test_debug_fields_in_text(config: GatewayConfig) -> None:
    line = TextFormatter().format(record(exchange(config, allowed(config)), debug=True))
    assert line.endswith(
        " state=allowed iat=1799999940 exp=1800086340 auth_time=- "
        "age_s=60.25 secret_index=1 clock_skew=15 max_age=86400 "
        "update_age=21600 absolute_max_age=-"
    )


def test_debug_of_a_request_without_session_is_empty(config: GatewayConfig) -> None:
    assert why(exchange(config)) == {}
    decision = Decision(Kind.UNAUTHENTICATED, "no_cookie", state=Kind.UNAUTHENTICATED)
    assert why(exchange(config, decision)) == {"state": "unauthenticated"}


def test_record_message_is_the_text_line_for_foreign_handlers(config: GatewayConfig) -> None:
    rec = record(exchange(config, allowed(config)))
    assert (
        logging.Formatter("%(levelname)s %(name)s %(message)s")
        .format(rec)
        .startswith("INFO gateway.access GET /app/x 200 decision=allowed")
    )


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (
            "json",
            '{"time":"2027-01-15T08:00:00.000Z","level":"error","logger":"gateway.reload",'
            '"message":"config/gateway.yaml:3: bad\\nforged line"}',
        ),
        (
            "text",
            "2027-01-15T08:00:00.000Z ERROR gateway.reload: config/gateway.yaml:3: bad\\x0a"
            "forged line",
        ),
    ],
    ids=["json", "text"],
)
def test_event_lines_escape_newlines(fmt: str, expected: str) -> None:
    rec = logging.LogRecord(
        "gateway.reload",
        logging.ERROR,
        "",
        0,
        "%s: bad\nforged line",
        ("config/gateway.yaml:3",),
        None,
    )
    rec.created = T0
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    assert formatter.format(rec) == expected


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_event_exception_stays_on_the_line(fmt: str) -> None:
    try:
        raise ValueError("broken\nthing")
    except ValueError:
        rec = logging.LogRecord("gateway", logging.ERROR, "", 0, "failed", (), sys.exc_info())
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    line = formatter.format(rec)
    assert "\n" not in line and "ValueError: broken" in line


def configure_and_capture(
    capsys: pytest.CaptureFixture[str], settings: LogSettings, *, debug: bool = False
) -> None:
    configure_logging(settings, debug=debug)
    capsys.readouterr()


@pytest.mark.parametrize(
    ("settings", "debug", "lines", "has_debug"),
    [
        (LogSettings(), False, 1, False),
        (LogSettings(level="debug"), False, 1, True),
        (LogSettings(), True, 1, True),
        (LogSettings(level="warning"), False, 0, False),
    ],
    ids=["info", "level-debug", "flag-debug", "warning-silences-access"],
)
def test_configured_levels(
    config: GatewayConfig,
    capsys: pytest.CaptureFixture[str],
    settings: LogSettings,
    debug: bool,
    lines: int,
    has_debug: bool,
) -> None:
    configure_and_capture(capsys, settings, debug=debug)
    log_access(exchange(config, allowed(config)), "GET", "/x?q", 200, 0.001, 10)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == lines
    assert all(("debug" in json.loads(line)) is has_debug for line in out)


@pytest.mark.parametrize(
    ("fmt", "pattern"),
    [
        (
            "json",
            r'\{"time":"[0-9T:.-]+Z","level":"warning","logger":"gateway.test",'
            r'"message":"hello"\}',
        ),
        ("text", r"[0-9T:.-]+Z WARNING gateway.test: hello"),
    ],
    ids=["json", "text"],
)
def test_gateway_events_use_the_same_configuration(
    capsys: pytest.CaptureFixture[str], fmt: str, pattern: str
) -> None:
    configure_and_capture(capsys, LogSettings(format=fmt))  # type: ignore[arg-type]
    logging.getLogger("gateway.test").warning("hello")
    assert re.fullmatch(pattern, capsys.readouterr().out.strip())


def test_configuring_twice_prints_once(capsys: pytest.CaptureFixture[str]) -> None:
    configure_and_capture(capsys, LogSettings())
    configure_and_capture(capsys, LogSettings(format="text"))
    logging.getLogger("gateway").warning("once")
    assert capsys.readouterr().out.count("once") == 1


def test_aiohttp_bad_request_is_logged_without_the_request_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_and_capture(capsys, LogSettings())
    error = BadHttpMessage("Invalid char:\n\n  b'GET /reset?token=s3cr3t-token HTTP/1.1'")
    logging.getLogger("aiohttp.server").error(
        "Error handling request from %s", "192.0.2.1", exc_info=(BadHttpMessage, error, None)
    )
    out = capsys.readouterr().out
    assert "s3cr3t" not in out
    assert json.loads(out)["message"] == (
        "Error handling request from 192.0.2.1: BadHttpMessage (400)"
    )


@pytest.mark.parametrize(
    ("iat", "logged"),
    [
        (T0 - 60, T0 - 60),
        (T0 - 0.5, T0 - 0.5),
        (1e300, 1e300),
        (T0 - 1 / 3, 1799999999.667),
    ],
    ids=["int", "half", "huge-stays-float", "rounded"],
)
def test_debug_times_are_bounded_numbers(config: GatewayConfig, iat: float, logged: float) -> None:
    assert why(exchange(config, allowed(config, iat=iat)))["iat"] == logged
