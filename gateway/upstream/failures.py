"""What an upstream failure is called: aiohttp's and the lean client's exceptions mapped to
:class:`~gateway.errors.UpstreamError` (connect, timeout, reset), in one place for both
clients. A message names the upstream and the failure's type, never the URL or the answer:
either may carry a token.
"""

from __future__ import annotations

import asyncio
from typing import NoReturn

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError

from gateway.config import Upstream
from gateway.errors import UpstreamError, UpstreamReason
from gateway.upstream.h1client import ConnectFailed


def reraise(exc: Exception, upstream: Upstream) -> NoReturn:
    """Raise the UpstreamError ``exc`` stands for, or ``exc`` itself if it is not one."""
    error = upstream_error(exc, upstream)
    if error is None:
        raise exc
    raise error from None  # the cause's text may name the full URL


def upstream_error(exc: BaseException, upstream: Upstream) -> UpstreamError | None:
    """The UpstreamError an aiohttp failure stands for; None for anything else."""
    if isinstance(exc, asyncio.TimeoutError):  # ServerTimeoutError, ConnectionTimeoutError too
        reason: UpstreamReason = "timeout"
    elif isinstance(exc, aiohttp.ClientConnectorError | ConnectFailed):
        reason = "connect"
    elif isinstance(exc, aiohttp.ClientError | HttpProcessingError):
        reason = "reset"  # disconnected, OS error, a malformed answer or body
    else:
        return None
    detail = type(exc).__name__
    if isinstance(exc, aiohttp.ClientResponseError):  # its text holds the URL: status only
        detail += f" {exc.status}"
    elif isinstance(exc, HttpProcessingError):  # its text may quote the answer: code only
        detail += f" {exc.code}"
    elif isinstance(exc, OSError | ConnectFailed) and exc.strerror:
        detail += f": {exc.strerror}"
    return UpstreamError(reason, upstream, detail)
