"""The access log: one line per finished request, on the ``gateway.access`` logger.

What a line may hold is decided here, once: never a cookie, token, secret, query string or
identity header value other than ``sub``. Values the client chose (the path, the method) and
values inside a token (``sub``) are escaped in both formats, so no input can end a line early
or forge a second one; long ones are cut.

The access line is on the request path, so it skips what the stdlib does per call that it
does not need: a request appends a tuple, and when its event-loop turn ends the turn's lines
are made together (:mod:`gateway.observe.turns`). :class:`AccessRecord` is a complete
``LogRecord`` built without a stack walk or thread and process lookups; the line is built when
a handler formats it, with ``%`` and the C JSON string escaper instead of ``json.dumps``
(bench/README.md has the figures). With the access log off, a request costs one cached level
check.
"""

from __future__ import annotations

import json
import logging
import re
from json.encoder import encode_basestring_ascii as quote
from typing import Any

from gateway.exchange import Exchange
from gateway.observe.turns import TurnBatch
from gateway.policy import number

ACCESS_LOGGER = "gateway.access"
# Caps on client- and token-chosen text keep lines short: a pipe takes up to 4 KB (PIPE_BUF)
# in one piece, so the lines of several workers sharing stdout do not interleave.
MAX_PATH = 1024
MAX_SUB = 256

_access = logging.getLogger(ACCESS_LOGGER)
_SAFE_TEXT = re.compile(r"[!#-\[\]-~]+")  # printable ASCII without space, quote, backslash


def log_access(
    exchange: Exchange, method: str, target: str, status: int, seconds: float, sent: int
) -> None:
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

    def __init__(
        self,
        exchange: Exchange,
        method: str,
        target: str,
        status: int,
        seconds: float,
        sent: int,
        debug: bool,
    ) -> None:
        self.__dict__.update(_RECORD_DEFAULTS)
        self.exchange, self.method, self.target = exchange, method, target
        self.status, self.seconds, self.sent, self.debug = status, seconds, sent, debug
        self.created, self.msecs = exchange.now, (exchange.now % 1) * 1000

    def getMessage(self) -> str:
        return access_text(self)


_RECORD_DEFAULTS: dict[str, Any] = {
    "name": ACCESS_LOGGER,
    "msg": "access",
    "args": (),
    "levelno": logging.INFO,
    "levelname": "INFO",
    "pathname": "",
    "filename": "",
    "module": "",
    "lineno": 0,
    "funcName": "",
    "exc_info": None,
    "exc_text": None,
    "stack_info": None,
    "relativeCreated": 0.0,
    "thread": None,
    "threadName": None,
    "process": None,
    "processName": None,
    "taskName": None,
}


_ACCESS_JSON = (
    '{"time":"%s","level":"info","logger":"gateway.access","request_id":%s,"method":%s,'
    '"route":%s,"path":%s,"client_ip":%s,"status":%d,"decision":%s,"reason":%s,"policy":%s,'
    '"sub":%s,"duration_s":%.6f,"upstream_s":%s,"bytes":%d%s}'
)


def access_json(record: AccessRecord, stamp: str) -> str:
    x = record.exchange
    decision, reason, policy = outcome(x)
    upstream = "null" if x.upstream_seconds is None else f"{x.upstream_seconds:.6f}"
    debug = ',"debug":' + json.dumps(why(x)) if record.debug else ""
    return _ACCESS_JSON % (
        stamp,
        quote(x.request_id),
        quote(record.method),
        quote(x.route),
        quote(log_path(record.target)),
        quote(x.view.client_ip),
        record.status,
        _json_or_null(decision),
        _json_or_null(reason),
        _json_or_null(policy),
        _json_or_null(subject(x)),
        record.seconds,
        upstream,
        record.sent,
        debug,
    )


_ACCESS_TEXT = (
    "%s %s %d decision=%s reason=%s route=%s policy=%s sub=%s ip=%s id=%s "
    "duration=%.3fms upstream=%s bytes=%d"
)


def access_text(record: AccessRecord) -> str:
    """``GET /path 200 key=value ...``, values as :func:`_text` writes them."""
    x = record.exchange
    decision, reason, policy = outcome(x)
    upstream = "-" if x.upstream_seconds is None else f"{x.upstream_seconds * 1000:.3f}ms"
    line = _ACCESS_TEXT % (
        _text(record.method),
        _text(log_path(record.target)),
        record.status,
        _text(decision),
        _text(reason),
        _text(x.route),
        _text(policy),
        _text(subject(x)),
        _text(x.view.client_ip),
        _text(x.request_id),
        record.seconds * 1000,
        upstream,
        record.sent,
    )
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
    config = exchange.snapshot.config
    if decision.session is not None:
        claims = decision.session.claims
        iat = number(claims.get("iat"))
        out.update(
            iat=_num(iat),
            exp=_num(number(claims.get("exp"))),
            auth_time=_num(number(claims.get("auth_time"))),
            age_s=None if iat is None else _num(exchange.now - iat),
            secret_index=decision.session.secret_index,
            clock_skew=config.session.clock_skew,
        )
    if decision.policy is not None:
        policy = decision.policy
        out.update(
            max_age=policy.max_age,
            update_age=policy.update_age,
            absolute_max_age=policy.absolute_max_age,
        )
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
