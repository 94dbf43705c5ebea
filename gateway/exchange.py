"""One request's record as it goes through the pipeline's stages.

Filled in stage by stage by :mod:`gateway.pipeline`; read at the end by the metrics and the
access log, so neither has to re-derive what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.cookies import SessionCookie
from gateway.policy import Decision
from gateway.runtime import Active
from gateway.trust import ClientView


@dataclass(slots=True)
class Exchange:
    """One request as it goes through the stages; read by metrics and the access log."""

    active: Active
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

    def plan_cookies(self, decision: Decision) -> None:
        """The Set-Cookie this response should carry: a renewal, a deletion, or nothing."""
        found, sessions = self.found, self.active.sessions
        assert found is not None
        if decision.drops_session and found.present:
            self.set_cookies = sessions.delete(found, self.secure)
        elif decision.renews and decision.session and decision.policy:
            self.renewed_token, self.set_cookies = sessions.renew(
                found, decision.session, decision.policy, int(self.now), self.secure)
