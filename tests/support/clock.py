"""The gateway's clock in tests: moved by the test, never by sleeping."""

from __future__ import annotations

T0 = 1_800_000_000  # 2027-01-15T08:00:00Z: the fixed "now" of the tests that need one


class FakeClock:
    """A ``Callable[[], float]`` for ``build_gateway(clock=...)``: it reads :attr:`now`, which
    only :meth:`advance` (or the test, directly) moves."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
