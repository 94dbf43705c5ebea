"""One loaded config and everything built from it, swapped whole on reload.

A request takes the snapshot current when it starts and reads only that one to its end, so it
never sees half of one config and half of the next (:meth:`gateway.state.GatewayState.swap`
replaces it with one assignment). Built once per config: the session keys and decode cache
and the inbound header filter are derived here, not per request.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import GatewayConfig
from gateway.inbound import InboundFilter
from gateway.session import SessionStage


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A config and what is derived from it: the session stage (codec, decode cache) and the
    filter for the client's headers."""

    config: GatewayConfig
    sessions: SessionStage
    inbound: InboundFilter

    @classmethod
    def build(cls, config: GatewayConfig) -> Snapshot:
        return cls(
            config,
            SessionStage(config.session, config.limits),
            InboundFilter(name for name, _ in config.identity_headers),
        )
