"""An explanation for a terminal: one fact a line, the claims as indented JSON, every
character a user could have put in a claim made printable."""

from __future__ import annotations

import json

from gateway.config import Policy, Route, format_duration
from gateway.explain.outcome import Explanation
from gateway.explain.reasons import BAD_PATH, NOT_FOUND
from gateway.explain.times import iso, relative, unix
from gateway.policy import Kind


def render_text(e: Explanation) -> str:
    """The explanation for a terminal: one fact a line, the claims as indented JSON."""
    path = e.path if e.forward in (None, e.path) else f"{e.path} (normalised: {e.forward})"
    lines = [_line("at", f"{iso(e.at)} (unix {unix(e.at)})"), _line("path", _printable(path))]
    lines += _cookie_lines(e)
    if e.read.session is not None:
        lines += _session_lines(e)
    lines += _decision_lines(e)
    return "\n".join(lines)


def _line(label: str, value: str) -> str:
    return f"{label + ':':<12}{value}".rstrip()


def _cookie_lines(e: Explanation) -> list[str]:
    found, session = e.found, e.read.session
    if found.name is None:
        return [_line("cookie", "(none)")]
    names = ", ".join(_printable(name) for name in found.present)
    lines = [_line("cookie", f"{found.name} (read from: {names})")]
    if session is not None:
        which = session.secret_index + 1
        age = "the current one" if which == 1 else "an old one: renewed under the current one"
        lines.append(_line("decrypted", f"by secret {which} of {e.secret_count} ({age})"))
    return lines


def _session_lines(e: Explanation) -> list[str]:
    claims = json.dumps(dict(e.claims), indent=2, ensure_ascii=False)
    lines = ["claims:", *("  " + _printable(line) for line in claims.splitlines())]
    lines.append(_line("roles", ", ".join(map(_printable, e.roles)) or "(none)"))
    if e.policy is not None:
        lines.append(_line("policy", _policy_text(e.policy, e.roles)))
    lines += [_line(name, _when(getattr(e, name), e.at)) for name in ("iat", "exp")]
    lines.append(_line("auth_time", _auth_time_text(e)))
    lines.append(_line("sid", _printable(e.sid) if e.sid is not None else "missing"))
    renews = e.renews
    lines.append(
        _line(
            "renews",
            f"{_when(renews.at, e.at)}, {renews.basis}" if renews else "never (static session)",
        )
    )
    return lines + _expiry_lines(e)


def _policy_text(policy: Policy, roles: tuple[str, ...]) -> str:
    update = format_duration(policy.update_age) if policy.update_age is not None else "never"
    cap = policy.absolute_max_age
    text = (
        f"{policy.name} (max_age {format_duration(policy.max_age)}, update_age {update}, "
        f"absolute_max_age {format_duration(cap) if cap is not None else 'none'})"
    )
    return text if policy.name in roles else text + ", the default_policy: no role has its own"


def _auth_time_text(e: Explanation) -> str:
    if e.auth_time is not None:
        return _when(e.auth_time, e.at)
    return "not a number" if "auth_time" in e.claims else "missing"


def _expiry_lines(e: Explanation) -> list[str]:
    if not e.expiries:
        return []
    first = min(e.expiries, key=lambda d: d.at)
    lines = [_line("expires", f"{_when(first.at, e.at)}, by {first.rule}, the first of:")]
    for deadline in e.expiries:
        lines.append(f"  {deadline.rule:<10}{_when(deadline.at, e.at):<36}{deadline.basis}")
    return lines


def _decision_lines(e: Explanation) -> list[str]:
    route, outcome = e.route, e.outcome
    lines = [
        _line("route", f"{route.name} (path {route.path}, {_access(route)})" if route else "(none)")
    ]
    if outcome.kind == NOT_FOUND:
        decision = "no route (404)"
    elif outcome.kind == BAD_PATH:
        decision = f"bad path (400): {outcome.reason}"
    elif outcome.kind == Kind.PUBLIC:
        decision = (
            f"public (the route is public); the session alone: {outcome.state} "
            f"({outcome.reason}): {outcome.meaning}"
        )
    else:
        decision = f"{outcome.kind} ({outcome.reason}): {outcome.meaning}"
    return [*lines, _line("decision", decision), _line("response", outcome.response)]


def _access(route: Route) -> str:
    if route.public:
        text = "public"
    else:
        text = f"roles {', '.join(route.roles)}" if route.roles else "any signed-in user"
    if route.max_auth_age is not None:
        text += f", a sign-in within {format_duration(route.max_auth_age)} (max_auth_age)"
    return text if route.activity else text + ", passive (activity: false)"


def _when(t: float | None, at: float) -> str:
    return "(none)" if t is None else f"{iso(t)} ({relative(t, at)})"


def _printable(text: str) -> str:
    """``text`` with every non-printable character JSON-escaped: claims come from the app's
    users, and a terminal must not run their escape sequences or bidi overrides."""
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)
