"""Waiting in async tests: poll a condition until it holds, or fail after a deadline (never a
fixed sleep standing in for time passing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
DEADLINE = 20.0  # seconds any single wait may take before the test fails


async def eventually(probe: Callable[[], Awaitable[T]], what: str, timeout: float = DEADLINE) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """:func:`eventually` for a synchronous condition."""

    async def check() -> bool:
        return condition()

    await eventually(check, what, timeout)
