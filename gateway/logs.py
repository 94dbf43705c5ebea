"""Structured logs on stdout: one line per request (``gateway.access``) and the gateway's own
events (``gateway.*``: startup, reloads), as JSON or as text for humans.

What a line may hold is decided here, once: never a cookie, token, secret, query string or
identity header value other than ``sub``. Values the client chose (the path, the method) and
values inside a token (``sub``) are escaped in both formats, so no input can end a line early,
forge a second one, or smuggle terminal escapes (log injection); long ones are cut.

The access line is on the request path, so it skips what the stdlib does per call that it
does not need: :class:`AccessRecord` is a complete ``LogRecord`` built without a stack walk or
thread and process lookups; it holds references only, and the line is built when a handler
formats it, with ``%`` and the C JSON string escaper instead of ``json.dumps`` (about half the
CPU of ``logger.info(json.dumps(...))``). With the access log off, a request costs one
cached level check.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import time
from json.encoder import encode_basestring_ascii as quote
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

from gateway.config import LogSettings
from gateway.exchange import Exchange
from gateway.policy import number
from gateway.turns import TurnBatch

ACCESS_LOGGER = "gateway.access"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}
# Caps on client- and token-chosen text keep lines short: a pipe takes up to 4 KB (PIPE_BUF)
# in one piece, so the lines of several workers sharing stdout do not interleave.
MAX_PATH = 1024
PIPE_BUF = 4096  # POSIX: a pipe write up to this size is never split or interleaved
MAX_SUB = 256

_access = logging.getLogger(ACCESS_LOGGER)
_SAFE_TEXT = re.compile(r"[!#-\[\]-~]+")  # printable ASCII without space, quote, backslash
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
    :class:`~gateway.turns.TurnBatch`): under load one ``write`` carries the access lines of
    many requests instead of one each. A write never exceeds PIPE_BUF unless one line does,
    so the lines of workers sharing a pipe never interleave. Outside a loop (start-up, other
    threads) each line is written at once."""

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


def log_access(exchange: Exchange, method: str, target: str, status: int, seconds: float,
               sent: int) -> None:
    """One access line for a finished request (``target`` is the raw request target; only
    its path is logged), made with the others of its loop turn when the turn ends. Costs
    one check when the access log is off."""
    if _access.isEnabledFor(logging.INFO):
        _finished.add((exchange, method, target, status, seconds, sent))


_Finished = tuple[Exchange, str, str, int, float, int]


def _log_finished(finished: list[_Finished]) -> None:
    debug = _access.isEnabledFor(logging.DEBUG)
    for exchange, method, target, status, seconds, sent in finished:
        _access.handle(AccessRecord(exchange, method, target, status, seconds, sent, debug))
    logger: logging.Logger | None = _access
    while logger is not None:  # the handlers Logger.callHandlers used, as it walks them
        for handler in logger.handlers:
            handler.flush()  # written now, not a turn later: the lines are a turn old already
        logger = logger.parent if logger.propagate else None


_finished: TurnBatch[_Finished] = TurnBatch(_log_finished)


class AccessRecord(logging.LogRecord):
    """A ``LogRecord`` for one request, built without ``LogRecord.__init__``'s per-call work
    (a caller lookup, thread and process names): what never varies is copied from
    :data:`_RECORD_DEFAULTS`, so every attribute a foreign formatter or handler reads is in the
    record's ``__dict__``. ``created`` is when the request arrived."""

    def __init__(self, exchange: Exchange, method: str, target: str, status: int,
                 seconds: float, sent: int, debug: bool) -> None:
        self.__dict__.update(_RECORD_DEFAULTS)
        self.exchange, self.method, self.target = exchange, method, target
        self.status, self.seconds, self.sent, self.debug = status, seconds, sent, debug
        self.created, self.msecs = exchange.now, (exchange.now % 1) * 1000

    def getMessage(self) -> str:
        return access_text(self)


_RECORD_DEFAULTS: dict[str, Any] = {
    "name": ACCESS_LOGGER, "msg": "access", "args": (), "levelno": logging.INFO,
    "levelname": "INFO", "pathname": "", "filename": "", "module": "", "lineno": 0,
    "funcName": "", "exc_info": None, "exc_text": None, "stack_info": None,
    "relativeCreated": 0.0, "thread": None, "threadName": None, "process": None,
    "processName": None, "taskName": None,
}


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
        return (f'{{"time":"{stamp}","level":{quote(record.levelname.lower())},'
                f'"logger":{quote(record.name)},"message":{quote(record.getMessage())}{extra}}}')


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


_ACCESS_JSON = (
    '{"time":"%s","level":"info","logger":"gateway.access","request_id":%s,"method":%s,'
    '"route":%s,"path":%s,"client_ip":%s,"status":%d,"decision":%s,"reason":%s,"policy":%s,'
    '"sub":%s,"duration_s":%.6f,"upstream_s":%s,"bytes":%d%s}')


def access_json(record: AccessRecord, stamp: str) -> str:
    x = record.exchange
    decision, reason, policy = outcome(x)
    upstream = "null" if x.upstream_seconds is None else f"{x.upstream_seconds:.6f}"
    debug = ',"debug":' + json.dumps(why(x)) if record.debug else ""
    return _ACCESS_JSON % (
        stamp, quote(x.request_id), quote(record.method), quote(x.route),
        quote(log_path(record.target)), quote(x.view.client_ip), record.status,
        _json_or_null(decision), _json_or_null(reason), _json_or_null(policy),
        _json_or_null(subject(x)), record.seconds, upstream, record.sent, debug)


_ACCESS_TEXT = ("%s %s %d decision=%s reason=%s route=%s policy=%s sub=%s ip=%s id=%s "
                "duration=%.3fms upstream=%s bytes=%d")


def access_text(record: AccessRecord) -> str:
    """``GET /path 200 key=value ...``, values as :func:`_text` writes them."""
    x = record.exchange
    decision, reason, policy = outcome(x)
    upstream = "-" if x.upstream_seconds is None else f"{x.upstream_seconds * 1000:.3f}ms"
    line = _ACCESS_TEXT % (
        _text(record.method), _text(log_path(record.target)), record.status, _text(decision),
        _text(reason), _text(x.route), _text(policy), _text(subject(x)),
        _text(x.view.client_ip), _text(x.request_id), record.seconds * 1000, upstream,
        record.sent)
    if record.debug:
        line += "".join(f" {key}={_text(_plain(value))}" for key, value in why(x).items())
    return line


def outcome(exchange: Exchange) -> tuple[str | None, str | None, str | None]:
    """Decision, reason and policy name; None for a request no decision was taken on (no
    route matched, a bad path)."""
    decision = exchange.decision
    if decision is None:
        return None, None, None
    policy = decision.policy.name if decision.policy else None
    return decision.kind.value, decision.reason, policy


def log_path(target: str) -> str:
    """The path of a request target: no query, no fragment, no scheme or authority (an
    absolute-form target may carry ``user:password@``), at most :data:`MAX_PATH` characters."""
    path = target.partition("?")[0].partition("#")[0]
    if not path.startswith("/"):
        _, sep, rest = path.partition("://")
        path = "/" + rest.partition("/")[2] if sep else ("*" if path == "*" else "-")
    return path if len(path) <= MAX_PATH else path[:MAX_PATH] + "..."


def subject(exchange: Exchange) -> str | None:
    """The session's ``sub`` (the one identity value logs may carry), cut to a bound."""
    decision = exchange.decision
    if decision is None or decision.session is None:
        return None
    sub = decision.session.claims.get("sub")
    if not isinstance(sub, str):
        return None
    return sub if len(sub) <= MAX_SUB else sub[:MAX_SUB] + "..."


def why(exchange: Exchange) -> dict[str, Any]:
    """What the decision was made from (debug level): the session's times, its age, the
    policy's thresholds, which secret decrypted it (its index: never the secret)."""
    out: dict[str, Any] = {}
    found, decision = exchange.found, exchange.decision
    if found is not None and found.name is not None:
        out["cookie"], out["chunks"] = found.name, len(found.present)
    if decision is None:
        return out
    out["state"] = decision.state.value if decision.state else None
    config = exchange.active.config
    if decision.session is not None:
        claims = decision.session.claims
        iat = number(claims.get("iat"))
        out.update(iat=_num(iat), exp=_num(number(claims.get("exp"))),
                   auth_time=_num(number(claims.get("auth_time"))),
                   age_s=None if iat is None else _num(exchange.now - iat),
                   secret_index=decision.session.secret_index,
                   clock_skew=config.session.clock_skew)
    if decision.policy is not None:
        policy = decision.policy
        out.update(max_age=policy.max_age, update_age=policy.update_age,
                   absolute_max_age=policy.absolute_max_age)
    roles = next((r.roles for r in config.routes if r.name == exchange.route), None)
    if roles is not None:
        out["route_roles"] = ",".join(roles)
    return out


def _num(value: float | None) -> float | int | None:
    """Whole seconds as an int, others to the millisecond (claims may hold any finite float)."""
    if value is None:
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 3)


def _plain(value: object) -> str | None:
    return None if value is None else str(value)


def _json_or_null(value: str | None) -> str:
    return "null" if value is None else quote(value)


def _text(value: str | None) -> str:
    """A text-format value: bare when plain, else a JSON string without spaces (so the line
    splits on spaces the same way whatever a client sent)."""
    if value is None:
        return "-"
    return value if _SAFE_TEXT.fullmatch(value) else quote(value).replace(" ", "\\u0020")
