"""Prometheus metrics, named and labelled exactly as DESIGN.md says.

The registry is passed in (tests use a fresh one). Labels are bounded: route and policy names
come from the config, methods are folded to the standard ones, upstreams are the configured
``host:port`` — never a raw path or a user.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from gateway import __version__
from gateway.policy import Decision, number
from gateway.upstream import UpstreamError

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT",
                     "TRACE"})
# Session ages from a minute to weeks: shows where a policy change would cut.
AGE_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 345600,
               604800, 1209600, 2592000)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


class GatewayMetrics:
    """Every metric of the gateway, registered in the given registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("gateway_requests_total", "Requests answered.",
                                ["route", "method", "code"], registry=registry)
        self.duration = Histogram("gateway_request_duration_seconds", "Time to answer.",
                                  ["route"], buckets=LATENCY_BUCKETS, registry=registry)
        self.decisions = Counter("gateway_auth_decisions_total", "One auth decision a request.",
                                 ["route", "policy", "decision"], registry=registry)
        self.refreshes = Counter("gateway_session_refreshes_total", "Session cookies renewed.",
                                 ["policy"], registry=registry)
        self.session_age = Histogram("gateway_session_age_seconds",
                                     "now - iat of every decoded session.", ["policy"],
                                     buckets=AGE_BUCKETS, registry=registry)
        self.upstream_duration = Histogram("gateway_upstream_duration_seconds",
                                           "Time to the upstream's response headers.",
                                           ["upstream"], buckets=LATENCY_BUCKETS,
                                           registry=registry)
        self.upstream_errors = Counter("gateway_upstream_errors_total", "Upstream failures.",
                                       ["upstream", "reason"], registry=registry)
        self.inflight = Gauge("gateway_inflight_requests", "Requests being answered.",
                              registry=registry)
        self.reloads = Counter("gateway_config_reloads_total", "Config reloads.", ["result"],
                               registry=registry)
        self.last_reload = Gauge("gateway_config_last_reload_success_timestamp_seconds",
                                 "When the config last loaded.", registry=registry)
        self.build_info = Gauge("gateway_build_info", "Version.", ["version"], registry=registry)
        self.config_info = Gauge("gateway_config_info", "Loaded config.", ["sha256"],
                                 registry=registry)
        self.build_info.labels(version=__version__).set(1)

    def config_loaded(self, sha256: str, now: float) -> None:
        self.config_info.clear()
        self.config_info.labels(sha256=sha256[:12]).set(1)
        self.last_reload.set(now)

    def observe_decision(self, route: str, decision: Decision, now: float) -> None:
        """Exactly one decision per routed request; the session's age whenever one decoded."""
        policy = decision.policy.name if decision.policy else "none"
        self.decisions.labels(route, policy, decision.kind.value).inc()
        iat = number(decision.session.claims.get("iat")) if decision.session else None
        if decision.policy and iat is not None:
            self.session_age.labels(policy).observe(max(0.0, now - iat))
        if decision.renews:
            self.refreshes.labels(policy).inc()

    def upstream_failed(self, error: UpstreamError) -> None:
        self.upstream_errors.labels(error.upstream.label, error.reason).inc()

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method_label(method), str(status)).inc()
        self.duration.labels(route).observe(seconds)
