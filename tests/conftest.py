"""Fixtures shared across the test folders."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide loggers: put them back after the test."""
    saved = [(logger, logger.handlers[:], logger.level, logger.propagate)
             for logger in map(logging.getLogger, ("gateway", "aiohttp", "aiohttp.access"))]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
