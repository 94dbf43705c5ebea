"""The access log of a real gateway after a known mix of requests: one line per request with
the right fields, the request id the client and the upstream saw, nothing secret, and the
debug detail when asked."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aiohttp import ClientResponse

from gateway.config import LogSettings
from gateway.observe.logs import configure_logging
from tests.integration.request_mix import (
    GARBAGE,
    QUERY_SECRET,
    Sent,
    mix_harness,
    send_mix,
)
from tests.support.harness import SECRET, Harness, MakeHarness

pytestmark = pytest.mark.usefixtures("restore_logging")  # configure_logging is global

Capture = pytest.CaptureFixture[str]
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def access_lines(out: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in out.splitlines()]
    return [line for line in lines if line["logger"] == "gateway.access"]


async def logged_mix(
    gw: Harness, capsys: Capture, settings: LogSettings, debug: bool = False
) -> tuple[list[Any], str]:
    configure_logging(settings, debug=debug)
    capsys.readouterr()
    results = await send_mix(gw)
    return results, capsys.readouterr().out


async def test_one_json_line_per_request(harness_factory: MakeHarness, capsys: Capture) -> None:
    gw = await mix_harness(harness_factory)
    results, out = await logged_mix(gw, capsys, LogSettings())
    lines = access_lines(out)
    assert len(lines) == len(results)
    for (sent, _, headers), line in zip(results, lines, strict=True):
        expect_line(sent, line)
        assert line["request_id"] == headers["X-Request-Id"]  # every response carries it


def expect_line(sent: Sent, line: dict[str, Any]) -> None:
    assert STAMP.fullmatch(line["time"]) and line["time"].startswith("2027-01-15T08:00:00")
    assert {
        k: line[k]
        for k in ("method", "path", "route", "status", "decision", "policy", "sub", "client_ip")
    } == {
        "method": sent.method,
        "path": sent.path,
        "route": sent.route,
        "status": sent.status,
        "decision": sent.decision,
        "policy": sent.policy,
        "sub": sent.sub,
        "client_ip": "127.0.0.1",
    }, sent.case
    assert (line["reason"] is None) is (sent.decision is None)
    assert (line["upstream_s"] is not None) is sent.proxied, sent.case
    assert line["duration_s"] >= (line["upstream_s"] or 0) > -1
    assert line["bytes"] > 0


async def test_bytes_are_what_the_client_received(gw: Harness, capsys: Capture) -> None:
    configure_logging(LogSettings(), debug=False)
    capsys.readouterr()
    made = await gw.client.get("/x", headers={"Accept": "application/json"})  # 401, ours
    proxied = await gw.client.get("/login")
    lines = access_lines(capsys.readouterr().out)
    assert [line["bytes"] for line in lines] == [await wire_size(made), await wire_size(proxied)]


async def wire_size(response: ClientResponse) -> int:
    """Status line, headers and body as sent (neither response here is chunked)."""
    head = f"HTTP/1.1 {response.status} {response.reason}\r\n".encode()
    head += b"".join(name + b": " + value + b"\r\n" for name, value in response.raw_headers)
    return len(head) + 2 + len(await response.read())


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("debug", [False, True], ids=["info", "debug"])
async def test_nothing_secret_is_ever_logged(
    harness_factory: MakeHarness, capsys: Capture, fmt: str, debug: bool
) -> None:
    gw = await mix_harness(harness_factory)
    settings = LogSettings(format=fmt)  # type: ignore[arg-type]
    results, out = await logged_mix(gw, capsys, settings, debug=debug)
    tokens = [value for _, value, _ in results if value]
    assert len(tokens) >= 8
    for secret in [
        *tokens,
        SECRET,
        QUERY_SECRET,
        GARBAGE,
        "bob@example.com",
        "alice@example.com",
        "session-token=",
        "token=",
    ]:
        assert secret not in out
    assert len(out.splitlines()) == len(results)


async def test_text_format_is_one_readable_line_per_request(
    harness_factory: MakeHarness, capsys: Capture
) -> None:
    gw = await mix_harness(harness_factory)
    results, out = await logged_mix(gw, capsys, LogSettings(format="text"))
    lines = out.splitlines()
    assert len(lines) == len(results)
    for (sent, _, headers), line in zip(results, lines, strict=True):
        assert STAMP.match(line)
        assert f" INFO {sent.method} {sent.path} {sent.status} " in line
        assert f" route={sent.route} policy={sent.policy or '-'} sub={sent.sub or '-'} " in line
        assert f" id={headers['X-Request-Id']} " in line


async def test_debug_explains_each_decision(harness_factory: MakeHarness, capsys: Capture) -> None:
    gw = await mix_harness(harness_factory)
    results, out = await logged_mix(gw, capsys, LogSettings(level="debug"))
    by_case = {
        sent.case: line for (sent, _, _), line in zip(results, access_lines(out), strict=True)
    }
    refreshed = by_case["refreshed"]
    assert refreshed["reason"] == "update_age"
    assert {
        k: refreshed["debug"][k] for k in ("age_s", "update_age", "max_age", "secret_index")
    } == {"age_s": 7 * 3600, "update_age": 6 * 3600, "max_age": 86400, "secret_index": 0}
    expired = by_case["expired"]
    assert expired["reason"] == "idle" and expired["debug"]["age_s"] == 86401
    public = by_case["public-session"]["debug"]
    assert (public["state"], public["auth_time"], public["absolute_max_age"]) == (
        "allowed",
        1_800_000_000 - 600,
        12 * 3600,
    )
    assert by_case["forbidden"]["debug"]["route_roles"] == "admin"
    assert by_case["invalid"]["debug"] == {
        "cookie": "next-auth.session-token",
        "chunks": 1,
        "state": "invalid",
    }
    assert "debug" in by_case["not-found"] and "state" not in by_case["not-found"]["debug"]


async def test_level_warning_turns_the_access_log_off(gw: Harness, capsys: Capture) -> None:
    configure_logging(LogSettings(level="warning"), debug=False)
    capsys.readouterr()
    assert (await gw.client.get("/login")).status == 200
    assert capsys.readouterr().out == ""


async def test_untrusted_request_id_is_replaced(gw: Harness, capsys: Capture) -> None:
    configure_logging(LogSettings(), debug=False)
    capsys.readouterr()
    response = await gw.client.get("/login", headers={"X-Request-Id": "client-chosen"})
    [line] = access_lines(capsys.readouterr().out)
    assert re.fullmatch(r"[0-9a-f]{32}", line["request_id"])
    assert response.headers["X-Request-Id"] == line["request_id"]
    assert gw.recorder.last.headers["X-Request-Id"] == line["request_id"]


async def test_trusted_proxy_request_id_is_kept(
    harness_factory: MakeHarness, capsys: Capture
) -> None:
    gw = await harness_factory(trusted="127.0.0.1/32")  # as behind a local nginx
    configure_logging(LogSettings(), debug=False)
    capsys.readouterr()
    response = await gw.client.get(
        "/login", headers={"X-Request-Id": "edge-7f3a", "X-Forwarded-For": "198.51.100.9"}
    )
    [line] = access_lines(capsys.readouterr().out)
    assert (line["request_id"], line["client_ip"]) == ("edge-7f3a", "198.51.100.9")
    assert response.headers["X-Request-Id"] == "edge-7f3a"
    assert gw.recorder.last.headers["X-Request-Id"] == "edge-7f3a"
