"""TurnBatch: what one loop turn adds is drained in one call at the turn's end; outside a
running loop, from another thread, or after the queued loop closed, ``add`` drains at once and
keeps the order; a drain that raises loses its items but not the batch."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from gateway.observe.turns import TurnBatch


class Drains:
    """A drain recording each call's items and the thread that made it."""

    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.threads: list[int] = []
        self._fail = fail_first

    def __call__(self, items: list[int]) -> None:
        self.calls.append(list(items))
        self.threads.append(threading.get_ident())
        if self._fail:
            self._fail = False
            raise RuntimeError("drain failed")


def last_turn(loop: asyncio.AbstractEventLoop, batch: TurnBatch[int], *items: int) -> None:
    """Run ``loop`` for one turn that adds ``items`` and stops it: the loop stops at the end
    of that turn, before the drain the adds queued can run."""

    def turn() -> None:
        for item in items:
            batch.add(item)
        loop.stop()

    loop.call_soon(turn)
    loop.run_forever()


async def test_one_turn_is_one_drain_in_order_after_the_turn() -> None:
    drains = Drains()
    batch = TurnBatch(drains)
    seen_mid_turn: list[list[list[int]]] = []
    for n in range(3):
        batch.add(n)
        seen_mid_turn.append(list(drains.calls))
    assert seen_mid_turn == [[], [], []]  # nothing drained while the turn runs
    await asyncio.sleep(0)
    assert drains.calls == [[0, 1, 2]]


async def test_two_turns_are_two_drains() -> None:
    drains = Drains()
    batch = TurnBatch(drains)
    batch.add(1)
    batch.add(2)
    await asyncio.sleep(0)
    batch.add(3)
    await asyncio.sleep(0)
    assert drains.calls == [[1, 2], [3]]


def test_outside_a_loop_each_add_drains_at_once() -> None:
    drains = Drains()
    batch = TurnBatch(drains)
    batch.add(1)
    assert drains.calls == [[1]]
    batch.add(2)
    assert drains.calls == [[1], [2]]


async def test_flush_drains_now_and_the_queued_callback_drains_nothing() -> None:
    drains = Drains()
    batch = TurnBatch(drains)
    batch.add(1)
    batch.add(2)
    batch.flush()
    assert drains.calls == [[1, 2]]
    await asyncio.sleep(0)
    assert drains.calls == [[1, 2]]  # never called with an empty list
    batch.flush()
    assert drains.calls == [[1, 2]]


def test_items_stranded_by_a_closed_loop_drain_with_the_next_add() -> None:
    drains = Drains()
    batch = TurnBatch(drains)
    loop = asyncio.new_event_loop()
    last_turn(loop, batch, 1, 2)
    loop.close()
    assert drains.calls == []
    batch.add(3)
    assert drains.calls == [[1, 2, 3]]


def test_items_queued_on_a_stopped_open_loop_drain_with_an_add_outside_it() -> None:
    drains = Drains()
    batch = TurnBatch(drains)
    loop = asyncio.new_event_loop()
    try:
        last_turn(loop, batch, 1)
        batch.add(2)  # no loop runs now: the docstring says this drains at once
        assert drains.calls == [[1, 2]]
    finally:
        loop.close()


async def test_a_thread_without_a_loop_drains_the_pending_turn_at_once_in_order() -> None:
    drains = Drains()
    batch = TurnBatch(drains)
    batch.add(1)
    batch.add(2)
    thread = threading.Thread(target=batch.add, args=(3,))
    thread.start()
    thread.join()
    assert drains.calls == [[1, 2, 3]]
    assert drains.threads == [thread.ident]
    await asyncio.sleep(0)
    assert drains.calls == [[1, 2, 3]]  # the loop's queued drain found nothing


async def test_a_thread_with_its_own_loop_does_not_wait_for_the_queued_loop() -> None:
    drains = Drains()
    batch = TurnBatch(drains)
    batch.add(1)

    async def other() -> None:
        batch.add(2)

    thread = threading.Thread(target=asyncio.run, args=(other(),))
    thread.start()
    thread.join()
    assert drains.calls == [[1, 2]]
    assert drains.threads == [thread.ident]
    await asyncio.sleep(0)
    assert drains.calls == [[1, 2]]


async def test_a_drain_that_raises_reaches_the_loop_handler_and_later_turns_drain() -> None:
    drains = Drains(fail_first=True)
    batch = TurnBatch(drains)
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    try:
        batch.add(1)
        await asyncio.sleep(0)
        batch.add(2)
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert [str(e["exception"]) for e in errors] == ["drain failed"]
    assert drains.calls == [[1], [2]]  # the failed turn's item is not handed over again


def test_outside_a_loop_a_drain_that_raises_raises_from_add() -> None:
    drains = Drains(fail_first=True)
    batch = TurnBatch(drains)
    with pytest.raises(RuntimeError, match="drain failed"):
        batch.add(1)
    batch.add(2)
    assert drains.calls == [[1], [2]]
