"""The real next-auth (v4) and @auth/core (v5), driven through tests/interop/nextauth.mjs.

The packages are pinned by package.json / package-lock.json and installed by `make node`
(`make test` does it too). Missing node or node_modules is a failure, not a skip: an interop
suite that silently skips proves nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.nextauth import INTEROP, PACKAGES, NextAuth
from tests.support.real_app import MakeStack, Stack, start_stack


@pytest.fixture(scope="session")
def nextauth() -> NextAuth:
    """The packages, through nextauth.mjs (node and node_modules checked first)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the interop tests need Node.js and npm (`make test`)")
    missing = [p for p in PACKAGES if not (INTEROP / "node_modules" / p / "package.json").exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not installed in tests/interop/node_modules: "
            "run `make node` (or `make test`, which does it)"
        )
    return NextAuth(node)


@pytest.fixture
async def stacks(nextauth: NextAuth) -> AsyncIterator[MakeStack]:
    """``await stacks(flavor=..., routes=..., secrets=..., needs=...)``: the real app
    (tests/interop/nextauth-app.mjs) behind a gateway (:func:`tests.support.real_app.
    start_stack`); every stack is closed after the test."""
    made: list[Stack] = []

    async def make(**options: Any) -> Stack:
        node = shutil.which("node")
        assert node is not None  # the nextauth fixture checked it
        stack = await start_stack(node, **options)
        made.append(stack)
        return stack

    yield make
    for stack in made:
        await stack.close()
        assert stack.app.failures == [], stack.app.failures
