"""Every private attribute of aiohttp, prometheus-client and the stdlib that the gateway relies
on, checked in one place: that it still exists and still behaves as the call site assumes.

Each was chosen because it was measured to matter (bench/README.md). pyproject.toml pins
aiohttp and prometheus-client below their next minor version; when an upgrade changes one of
these, this module fails first, and the test's name and docstring say which call site to
revisit. The behaviour of each call site as a whole is tested beside it (the tests named in
each docstring); these tests check only the library's side of the bargain.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_writer import StreamWriter
from aiohttp.test_utils import TestClient
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server
from multidict import CIMultiDict
from prometheus_client import CollectorRegistry, Counter, Histogram, values

from gateway.observe import access
from gateway.upstream.forward import _ProxyResponse
from gateway.upstream.protocol import LazyTimerProtocol


def source(function: object) -> str:
    return inspect.getsource(function)  # type: ignore[arg-type]


# --- aiohttp.client_proto.ResponseHandler: gateway/upstream/protocol.py, h1client.py -------


async def test_response_handler_read_timer_is_where_the_lazy_timer_hooks_in() -> None:
    """gateway/upstream/protocol.py LazyTimerProtocol overrides ``_reschedule_timeout`` and
    ``_drop_timeout`` and arms ``_read_timeout_handle`` itself, calling ``_on_read_timeout``
    when the deadline has come; h1client.Connections.put calls ``_drop_timeout``. aiohttp must
    still route every re-arm and every cancel of the read timer through those two methods."""
    protocol = ResponseHandler(asyncio.get_running_loop())
    assert protocol._read_timeout is None and protocol._read_timeout_handle is None
    for method in ("_reschedule_timeout", "_drop_timeout", "_on_read_timeout"):
        assert callable(getattr(ResponseHandler, method))
    assert "self._reschedule_timeout()" in source(ResponseHandler.start_timeout)
    assert "self._reschedule_timeout()" in source(ResponseHandler.data_received)
    assert "self._read_timeout = read_timeout" in source(ResponseHandler.set_response_params)
    # Nothing else arms or cancels the handle: only the two hooks touch it.
    body = source(ResponseHandler)
    for name, _ in inspect.getmembers(ResponseHandler, inspect.isfunction):
        if name not in ("__init__", "_reschedule_timeout", "_drop_timeout", "connection_lost"):
            assert "_read_timeout_handle" not in source(getattr(ResponseHandler, name)), name
    assert "_read_timeout_handle" in body


async def test_response_handler_read_timeout_fails_the_read() -> None:
    """gateway/upstream/protocol.py LazyTimerProtocol._deadline_due calls aiohttp's
    ``_on_read_timeout`` once the deadline has passed: it must fail the pending read with a
    timeout (h1client maps that to a 504; tests/integration/upstream/test_h1client.py)."""
    loop = asyncio.get_running_loop()
    protocol = LazyTimerProtocol(loop)
    protocol.set_response_params(read_timeout=0.01)
    protocol.start_timeout()
    assert isinstance(protocol._read_timeout_handle, asyncio.TimerHandle)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(protocol.read(), 5)


def test_response_handler_surface_h1client_drives() -> None:
    """gateway/upstream/h1client.py Connections._exchange: the keywords it passes to
    ``set_response_params`` and the methods it calls on the protocol."""
    accepted = set(inspect.signature(ResponseHandler.set_response_params).parameters)
    used = {"skip_payload", "read_until_eof", "auto_decompress", "read_timeout"}
    assert used | {"max_line_size", "max_field_size"} <= accepted
    for method in ("read", "start_timeout", "is_connected", "exception", "close"):
        assert callable(getattr(ResponseHandler, method)), method
    assert isinstance(inspect.getattr_static(ResponseHandler, "should_close"), property)


def test_stream_writer_surface_h1client_drives() -> None:
    """gateway/upstream/h1client.py writes requests with ``StreamWriter(protocol, loop)``,
    ``enable_chunking``, ``write_headers(status_line, headers)``, ``write``, ``write_eof``;
    gateway/serve/connections.py reads ``request.writer.output_size``."""
    parameters = list(inspect.signature(StreamWriter.__init__).parameters)
    assert parameters[1:3] == ["protocol", "loop"]
    assert list(inspect.signature(StreamWriter.write_headers).parameters)[1:3] == [
        "status_line",
        "headers",
    ]
    for method in ("enable_chunking", "write", "write_eof"):
        assert callable(getattr(StreamWriter, method)), method
    assert StreamWriter.output_size == 0  # counted up by every write of the response
    assert "self.output_size += size" in source(StreamWriter)


# --- aiohttp.web_protocol.RequestHandler, web_server.Server: gateway/serve/connections.py --


def test_request_handler_counts_request_heads() -> None:
    """gateway/serve/connections.py HeaderDeadlineHandler.data_received compares
    ``_request_count`` before and after aiohttp parses the bytes: aiohttp must still count
    each parsed request head there (tests/integration/test_slowclient.py)."""
    assert "_request_count" in RequestHandler.__slots__
    assert "self._request_count = 0" in source(RequestHandler.__init__)
    assert "self._request_count += 1" in source(RequestHandler.data_received)


def test_request_handler_hooks_the_deadline_overrides() -> None:
    """gateway/serve/connections.py overrides ``log_access`` (called once per finished
    request: the next request's header deadline starts) and ``handle_error`` (the answer to
    a malformed request, with the signature aiohttp calls it with)."""
    log_access = list(inspect.signature(RequestHandler.log_access).parameters)
    assert log_access == ["self", "request", "response", "time"]
    handle_error = list(inspect.signature(RequestHandler.handle_error).parameters)
    assert handle_error == ["self", "request", "status", "exc", "message"]
    assert "self.log_access(" in source(RequestHandler)
    assert "self.handle_error(" in source(RequestHandler)


async def test_server_builds_handlers_from_loop_and_kwargs() -> None:
    """gateway/serve/connections.py _GuardedServer.__call__ builds its own handler from
    ``Server._loop`` and ``Server._kwargs``, as ``Server.__call__`` does."""

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    server = Server(handler, keepalive_timeout=3.0)
    assert server._loop is asyncio.get_running_loop()
    assert server._kwargs == {"keepalive_timeout": 3.0}
    assert "RequestHandler(self, loop=self._loop, **self._kwargs)" in source(Server.__call__)


# --- aiohttp.web.StreamResponse: gateway/upstream/forward.py _ProxyResponse ----------------


def test_stream_response_header_hooks() -> None:
    """gateway/upstream/forward.py _ProxyResponse sets ``_send_headers_immediately`` (False:
    the headers wait for the body's first bytes and leave in one send) and overrides
    ``_prepare_headers`` (where aiohttp adds a default Content-Type and Server)."""
    assert web.StreamResponse._send_headers_immediately is True
    assert "if self._send_headers_immediately:" in source(web.StreamResponse._write_headers)
    assert inspect.iscoroutinefunction(web.StreamResponse._prepare_headers)
    prepare = source(web.StreamResponse._prepare_headers)
    assert "hdrs.CONTENT_TYPE" in prepare and "hdrs.SERVER" in prepare
    assert "await self._prepare_headers()" in source(web.StreamResponse._start)


async def test_proxy_response_sends_the_headers_it_was_given(
    aiohttp_raw_server: object, aiohttp_client: object
) -> None:
    """The effect the override exists for, through a real server: no Content-Type or Server
    the upstream did not send (tests/integration/upstream/test_upstream.py checks the rest)."""

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        response = _ProxyResponse(
            status=200, reason="OK", headers=CIMultiDict({"X-Kept": "1"}), coalesce=True
        )
        await response.prepare(request)
        await response.write(b"body")
        await response.write_eof()
        return response

    server = await aiohttp_raw_server(handler)  # type: ignore[operator]
    client: TestClient[web.BaseRequest, None] = await aiohttp_client(server)  # type: ignore[operator]
    answer = await client.get("/")
    assert await answer.read() == b"body"
    assert answer.headers["X-Kept"] == "1"
    assert "Content-Type" not in answer.headers and "Server" not in answer.headers


# --- prometheus_client: gateway/observe/metrics.py Tally, gateway/serve/worker.py ----------


def test_histogram_child_parts_tally_writes() -> None:
    """gateway/observe/metrics.py Tally.apply adds a turn's observations to a histogram child
    through ``_upper_bounds`` (+Inf last), ``_sum.inc`` and ``_buckets[i].inc``
    (tests/unit/test_metrics_tally.py compares it with ``observe()``)."""
    registry = CollectorRegistry()
    histogram = Histogram("h_seconds", "h", ["route"], buckets=(0.1, 1.0), registry=registry)
    child = histogram.labels("r")
    assert child._upper_bounds == [0.1, 1.0, float("inf")]
    child._sum.inc(0.5)
    child._buckets[1].inc(1)
    sample = registry.get_sample_value
    assert sample("h_seconds_sum", {"route": "r"}) == 0.5
    assert sample("h_seconds_bucket", {"route": "r", "le": "1.0"}) == 1
    assert sample("h_seconds_count", {"route": "r"}) == 1


@pytest.fixture
def value_class() -> Iterator[None]:
    saved = values.ValueClass
    yield
    values.ValueClass = saved


def test_value_class_is_read_when_a_metric_is_made(value_class: None) -> None:
    """gateway/serve/worker.py replaces ``values.ValueClass`` with
    ``values.MultiProcessValue(process_identifier=...)`` before it builds its metrics, and
    tells a supervised start apart by ``values.ValueClass is values.MutexValue``."""
    assert values.ValueClass is values.MutexValue  # no PROMETHEUS_MULTIPROC_DIR in tests
    assert "process_identifier" in inspect.signature(values.MultiProcessValue).parameters

    class Recording(values.MutexValue):
        pass

    values.ValueClass = Recording
    counter = Counter("c_total", "c", registry=CollectorRegistry())
    assert isinstance(counter._value, Recording)


# --- logging.LogRecord: gateway/observe/access.py AccessRecord ----------------------------


def test_access_record_has_every_attribute_a_log_record_has() -> None:
    """gateway/observe/access.py AccessRecord skips ``LogRecord.__init__`` and copies
    ``_RECORD_DEFAULTS`` instead: every attribute the stdlib sets must be there, or a foreign
    formatter or handler reading one fails."""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    set_by_access = {"created", "msecs"}
    missing = set(vars(record)) - set(access._RECORD_DEFAULTS) - set_by_access
    assert missing == set(), f"LogRecord grew {sorted(missing)} (Python {sys.version})"
