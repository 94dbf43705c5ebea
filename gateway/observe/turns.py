"""Per-request bookkeeping done once per event-loop turn, for every request of the turn.

Recording a request in Prometheus and formatting its access line cost little in a tight loop
and several times more on the request path, where each runs once between everything else a
request does: its code and data are no longer in the CPU's caches (the figures are in
bench/README.md, "Why the code looks like this"). So a request only appends a tuple; when the
loop turn ends, one callback records them all.
Under load a turn carries several requests; alone, a request waits for the end of its own
turn, which comes before the loop reads the next socket event.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TurnBatch(Generic[T]):
    """Items added during one loop turn, handed to ``drain`` together at its end.

    Outside a running loop, or from a thread other than the loop's, ``add`` drains at once
    (with anything the loop's turn had pending, so order is kept). A loop stopped or closed
    before its queued drain ran does not strand items: the next ``add`` drains them, or
    queues a drain on the loop now running.
    """

    def __init__(self, drain: Callable[[list[T]], None]) -> None:
        self._drain = drain
        self._items: list[T] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # where a flush is queued
        self._thread = 0
        # The loop last found running: on Python 3.11 each get_running_loop() is a getpid()
        # system call, once a turn per batch otherwise.
        self._last: asyncio.AbstractEventLoop | None = None

    def add(self, item: T) -> None:
        self._items.append(item)
        loop = self._loop
        if (
            loop is None
            or not loop.is_running()
            or loop.is_closed()
            or threading.get_ident() != self._thread
        ):
            self._schedule()

    def flush(self) -> None:
        """Drain what is pending now (the queued callback then finds nothing)."""
        items, self._items, self._loop = self._items, [], None
        if items:
            self._drain(items)

    def _schedule(self) -> None:
        loop = self._running_loop()
        if loop is None:
            self.flush()
            return
        queued = self._loop
        if queued is not None and queued.is_running() and not queued.is_closed():
            self.flush()  # the queued loop runs in another thread: do not wait for it
            return
        self._loop, self._thread = loop, threading.get_ident()
        loop.call_soon(self.flush)

    def _running_loop(self) -> asyncio.AbstractEventLoop | None:
        last = self._last
        # asyncio's loops note the thread they run in (None when stopped).
        if last is not None and getattr(last, "_thread_id", None) == threading.get_ident():
            return last
        try:
            self._last = asyncio.get_running_loop()
        except RuntimeError:
            return None
        return self._last
