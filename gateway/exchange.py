"""One request's record as it goes through the pipeline's stages.

Filled in stage by stage by :mod:`gateway.pipeline`; read at the end by the metrics and the
access log, so neither has to re-derive what happened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from gateway.policy import Decision, Kind, renewed_claims
from gateway.session import SessionCookie
from gateway.snapshot import Snapshot
from gateway.trust import ClientView


@dataclass(slots=True)
class Exchange:
    """One request as it goes through the stages; read by metrics and the access log."""

    snapshot: Snapshot
    view: ClientView
    now: float
    request_id: str
    route: str = "none"
    decision: Decision | None = None
    found: SessionCookie | None = None
    set_cookies: list[str] = field(default_factory=list)
    renewed_token: str | None = None
    upstream_seconds: float | None = None

    @property
    def secure(self) -> bool:
        return self.view.proto == "https"

    def plan_cookies(self, decision: Decision, *, redirect: bool = False) -> None:
        """The Set-Cookie this response should carry: a renewal, a deletion, or nothing.
        ``redirect``: the answer is the 302 to the login page, so a step-up deletes the
        session (the login page must ask for a new sign-in, not bounce straight back)."""
        found, sessions = self.found, self.snapshot.sessions
        assert found is not None
        step_up = redirect and decision.kind is Kind.STEP_UP
        if (decision.drops_session or step_up) and found.present:
            self.set_cookies = sessions.delete(found, self.secure)
        elif decision.renews and decision.session and decision.policy:
            session, needs = decision.session, self.snapshot.config.needs
            rekey = not decision.moves_clock
            claims = renewed_claims(session, decision.policy, int(self.now), needs, rekey)
            self.renewed_token, self.set_cookies = sessions.renew(
                found, session.cookie_name, claims, self.secure
            )


class _RequestIds:
    """Request ids: 128 random bits as 32 hex digits, read from the OS 4 KB at a time (a
    system call per 256 requests instead of one each). A forked child starts a new pool, so
    it never repeats its parent's ids."""

    POOL = 4096

    def __init__(self) -> None:
        self._pool, self._at = b"", 0

    def reset(self) -> None:
        self._pool, self._at = b"", 0

    def __call__(self) -> str:
        at = self._at
        if at + 16 > len(self._pool):
            self._pool, at = os.urandom(self.POOL), 0
        self._at = at + 16
        return self._pool[at : at + 16].hex()


new_request_id = _RequestIds()
os.register_at_fork(after_in_child=new_request_id.reset)
