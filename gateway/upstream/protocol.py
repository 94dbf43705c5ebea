"""aiohttp's client connection protocol (``ResponseHandler``: the C response parser, flow
control, the read timeout) with a cheaper read timer, for :mod:`gateway.upstream.h1client`.

It overrides private methods of ``ResponseHandler`` (``_reschedule_timeout``,
``_drop_timeout``, ``_on_read_timeout``, ``_read_timeout_handle``), measured to matter
(bench/README.md); tests/unit/test_private_apis.py fails first if aiohttp changes them.
"""

from __future__ import annotations

from aiohttp.client_proto import ResponseHandler

# asyncio runs a timer up to its clock resolution early: a deadline this close has come.
TIMER_SLACK = 0.001


class LazyTimerProtocol(ResponseHandler):
    """aiohttp's protocol with a lazy read timer. aiohttp re-arms its timer on every chunk
    read and cancels it at the end of every answer: two timers and two cancellations a
    request. Here each of those moves a deadline, and the connection's one timer, when it
    goes off before the deadline it finds, is re-armed for it."""

    _deadline: float | None = None

    def _reschedule_timeout(self) -> None:
        timeout = self._read_timeout
        if not timeout:
            self._deadline = None
            return
        self._deadline = self._loop.time() + timeout
        if self._read_timeout_handle is None:
            self._read_timeout_handle = self._loop.call_at(self._deadline, self._deadline_due)

    def _drop_timeout(self) -> None:
        self._deadline = None  # the armed timer finds no deadline when it goes off

    def _deadline_due(self) -> None:
        self._read_timeout_handle, deadline = None, self._deadline
        if deadline is None:
            return
        if deadline - self._loop.time() > TIMER_SLACK:  # moved on since it was armed
            self._read_timeout_handle = self._loop.call_at(deadline, self._deadline_due)
            return
        self._deadline = None
        self._on_read_timeout()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._read_timeout_handle is not None:
            self._read_timeout_handle.cancel()
            self._read_timeout_handle = None
        super().connection_lost(exc)
