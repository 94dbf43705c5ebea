"""Structured logs on stdout: one line per request (``gateway.access``, made in
:mod:`gateway.observe.access`) and the gateway's own events (``gateway.*``: startup,
reloads), as JSON or as text for humans. Text lines are escaped here so no message can end a
line early, forge a second one, or smuggle terminal escapes (log injection).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
from json.encoder import encode_basestring_ascii as quote

from aiohttp.http_exceptions import HttpProcessingError

from gateway.config import LogSettings
from gateway.observe.access import AccessRecord, access_json, access_text
from gateway.observe.turns import TurnBatch

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
PIPE_BUF = 4096  # POSIX: a pipe write up to this size is never split or interleaved
# Characters that could break or disguise a text line: C0/C1 controls, DEL, line and
# paragraph separators, bidi overrides, lone surrogates (unwritable as UTF-8).
_UNSAFE_MESSAGE = re.compile("[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def configure_logging(settings: LogSettings, *, debug: bool) -> None:
    """Send every ``gateway`` log (and aiohttp's server errors) to stdout in ``settings.format``
    at ``settings.level`` (``debug`` forces debug). Access lines are at info: ``warning`` and
    ``error`` turn them off; ``debug`` adds why each decision was taken. Safe to call again
    (on reload): the previous handler is replaced."""
    level = logging.DEBUG if debug else LEVELS[settings.level]
    formatter = JsonFormatter() if settings.format == "json" else TextFormatter()
    # aiohttp's debug chatter (every client disconnect) is not worth a line even in debug.
    for name, at in (("gateway", level), ("aiohttp", max(level, logging.INFO))):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, StdoutHandler)]:
            logger.removeHandler(old)
        handler = StdoutHandler()
        handler.setFormatter(formatter)
        handler.addFilter(redact_request_errors)
        logger.addHandler(handler)
        logger.setLevel(at)
        logger.propagate = False  # a root handler someone added must not print it twice
    # aiohttp's own access log would repeat each request with its query string: never on.
    logging.getLogger("aiohttp.access").setLevel(logging.CRITICAL + 1)


class StdoutHandler(logging.Handler):
    """Writes lines to the current ``sys.stdout`` (looked up per write, so a replaced stdout
    is followed) and flushes, so a container's log collector sees them at once.

    The lines of one event-loop turn are written together when it ends (a
    :class:`~gateway.observe.turns.TurnBatch`): under load one ``write`` carries the access
    lines of many requests instead of one each. A write never exceeds PIPE_BUF unless one
    line does, so the lines of workers sharing a pipe never interleave. Outside a loop
    (start-up, other threads) each line is written at once."""

    def __init__(self) -> None:
        super().__init__()
        self._lines: TurnBatch[str] = TurnBatch(self._write)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.add(self.format(record) + "\n")
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        self._lines.flush()

    def _write(self, lines: list[str]) -> None:
        # A closed or broken stdout leaves nowhere to report it: this turn's lines are lost.
        with self.lock or contextlib.nullcontext(), contextlib.suppress(OSError, ValueError):
            stream, chunk, size = sys.stdout, list[str](), 0
            for line in lines:
                length = len(line) if line.isascii() else len(line.encode())
                if chunk and size + length > PIPE_BUF:
                    stream.write("".join(chunk))
                    chunk, size = [], 0
                chunk.append(line)
                size += length
            stream.write("".join(chunk))
            stream.flush()


def redact_request_errors(record: logging.LogRecord) -> bool:
    """aiohttp logs a malformed request with the request line or header in the exception's
    text: a query string, a cookie. Keep the event, drop the text."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, HttpProcessingError):
        record.msg = f"{record.getMessage()}: {type(error).__name__} ({error.code})"
        record.args, record.exc_info, record.exc_text = (), None, None
    return True


class _Stamps:
    """RFC 3339 UTC timestamps; the seconds part is formatted once per second."""

    def __init__(self) -> None:
        self._second, self._prefix = -1, ""

    def stamp(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{int((created - second) * 1000):03d}Z"


class _Formatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._stamps = _Stamps()

    def exception(self, record: logging.LogRecord) -> str | None:
        """The record's traceback, formatted once (as the stdlib caches it)."""
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return record.exc_text or None


class JsonFormatter(_Formatter):
    """One JSON object per line, ASCII only (every other character escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = self._stamps.stamp(record.created)
        if isinstance(record, AccessRecord):
            return access_json(record, stamp)
        exception = self.exception(record)
        extra = "" if exception is None else ',"exception":' + quote(exception)
        return (
            f'{{"time":"{stamp}","level":{quote(record.levelname.lower())},'
            f'"logger":{quote(record.name)},"message":{quote(record.getMessage())}{extra}}}'
        )


class TextFormatter(_Formatter):
    """One human-readable line per event; an exception's traceback stays on that line."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = self._stamps.stamp(record.created)
        if isinstance(record, AccessRecord):
            return f"{stamp} INFO {access_text(record)}"
        line = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        exception = self.exception(record)
        if exception is not None:
            line += " | " + exception
        return _UNSAFE_MESSAGE.sub(_escape_char, line)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
