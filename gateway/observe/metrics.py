"""Prometheus metrics, named and labelled as the README's metrics table says.

The registry is passed in (tests use a fresh one). Labels are bounded: route and policy names
come from the config, methods are folded to the standard ones, upstreams are the configured
``host:port`` — never a raw path or a user.

A request's observations are recorded when its event-loop turn ends, with the other requests
of the turn (:mod:`gateway.turns`), so the metrics lag by at most one turn: a scrape, which
runs in a later turn, always sees every request that finished before it began.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from gateway import __version__
from gateway.errors import UpstreamError
from gateway.observe.turns import TurnBatch
from gateway.policy import Decision, number

# What a request adds to the turn's batch: a kind, then that kind's values.
_STARTED: Final = 0
_DONE: Final = 1
_DECISION: Final = 2
_UPSTREAM: Final = 3

METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}
)
# Session ages from a minute to weeks: shows where a policy change would cut.
AGE_BUCKETS = (
    60,
    300,
    900,
    1800,
    3600,
    7200,
    14400,
    28800,
    43200,
    86400,
    172800,
    345600,
    604800,
    1209600,
    2592000,
)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


class ConfigMetrics:
    """The build and the config in force, and the reloads: reported by the one process that
    loads the config (the gateway, or the supervisor of ``--workers``), never by workers.

    So they stay exact without multiprocess aggregation: a multiprocess gauge cannot drop a
    label set (the old ``sha256`` would stay exported beside the new one), and reloads counted
    by N workers would count N times.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.reloads = Counter(
            "gateway_config_reloads_total", "Config reloads.", ["result"], registry=registry
        )
        for result in ("success", "failure"):  # both exported from the start: rate() works
            self.reloads.labels(result)
        self.last_reload = Gauge(
            "gateway_config_last_reload_success_timestamp_seconds",
            "When the config last loaded.",
            registry=registry,
        )
        self.build_info = Gauge("gateway_build_info", "Version.", ["version"], registry=registry)
        self.config_info = Gauge(
            "gateway_config_info", "Loaded config.", ["sha256"], registry=registry
        )
        self.build_info.labels(version=__version__).set(1)

    def loaded(self, sha256: str, now: float) -> None:
        """The config with this file hash is in force since ``now`` (start or reload)."""
        self.config_info.clear()
        self.config_info.labels(sha256=sha256[:12]).set(1)
        self.last_reload.set(now)

    def reloaded(self, sha256: str, now: float) -> None:
        self.reloads.labels("success").inc()
        self.loaded(sha256, now)

    def reload_failed(self) -> None:
        self.reloads.labels("failure").inc()


class GatewayMetrics:
    """Every metric of the gateway, registered in the given registry."""

    def __init__(self, registry: CollectorRegistry, *, config_metrics: bool = True) -> None:
        """``config_metrics=False`` in a ``--workers`` worker: the supervisor, which loads
        the config, reports it (see :class:`ConfigMetrics`)."""
        self._done_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._decision_children: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}
        self._upstream_children: dict[str, Any] = {}
        self._inflight = 0
        self._batch: TurnBatch[tuple[Any, ...]] = TurnBatch(self._record)
        self.requests = Counter(
            "gateway_requests_total",
            "Requests answered.",
            ["route", "method", "code"],
            registry=registry,
        )
        self.duration = Histogram(
            "gateway_request_duration_seconds",
            "Time to answer.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.decisions = Counter(
            "gateway_auth_decisions_total",
            "One auth decision a request.",
            ["route", "policy", "decision"],
            registry=registry,
        )
        self.refreshes = Counter(
            "gateway_session_refreshes_total",
            "Session cookies renewed.",
            ["policy"],
            registry=registry,
        )
        self.passive_reissues = Counter(
            "gateway_passive_reissues_total",
            "App re-issues of the session cookie on a passive route whose idle clock the "
            "gateway held back.",
            ["policy"],
            registry=registry,
        )
        self.session_age = Histogram(
            "gateway_session_age_seconds",
            "now - iat of every decoded session.",
            ["policy"],
            buckets=AGE_BUCKETS,
            registry=registry,
        )
        self.upstream_duration = Histogram(
            "gateway_upstream_duration_seconds",
            "Time to the upstream's response headers.",
            ["upstream"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors_total",
            "Upstream failures.",
            ["upstream", "reason"],
            registry=registry,
        )
        # livesum: with --workers, the sum over the live workers (a dead one's last value
        # would otherwise count for ever).
        self.inflight = Gauge(
            "gateway_inflight_requests",
            "Requests being answered.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.config_metrics = ConfigMetrics(registry) if config_metrics else None

    def config_loaded(self, sha256: str, now: float) -> None:
        if self.config_metrics is not None:
            self.config_metrics.loaded(sha256, now)

    def request_started(self) -> None:
        self._inflight += 1
        self._batch.add((_STARTED,))

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        self._inflight -= 1
        self._batch.add((_DONE, route, method, status, seconds))

    def observe_decision(self, route: str, decision: Decision, now: float) -> None:
        """Exactly one decision per request that reached a route or a gateway endpoint; the
        session's age whenever one decoded. A 404 (route ``none``) and a bad path's 400 take
        no decision: they are counted in ``gateway_requests_total`` only."""
        self._batch.add((_DECISION, route, decision, now))

    def upstream_answered(self, upstream: str, seconds: float) -> None:
        """The upstream's response headers arrived ``seconds`` after the request was sent."""
        self._batch.add((_UPSTREAM, upstream, seconds))

    def passive_reissue(self, policy: str) -> None:
        """The app re-issued the session on a passive route; its iat was held back (rare:
        one a poll, so written at once)."""
        self.passive_reissues.labels(policy).inc()

    def upstream_failed(self, error: UpstreamError) -> None:
        self.upstream_errors.labels(error.upstream.label, error.reason).inc()

    def flush(self) -> None:
        """Record what this turn has pending now (the end of the turn would)."""
        self._batch.flush()

    def _record(self, items: list[tuple[Any, ...]]) -> None:
        tally = Tally()
        for item in items:
            kind = item[0]
            if kind == _DONE:
                self._done(tally, *item[1:])
            elif kind == _DECISION:
                self._decision(tally, *item[1:])
            elif kind == _UPSTREAM:
                self._upstream(tally, *item[1:])
        tally.apply()
        self.inflight.set(self._inflight)

    def _decision(self, tally: Tally, route: str, decision: Decision, now: float) -> None:
        policy = decision.policy.name if decision.policy else "none"
        key = (route, policy, decision.kind.value)
        children = self._decision_children.get(key)
        if children is None:
            # No session decoded (policy "none"): no age or refresh series for it.
            per_policy = decision.policy is not None
            children = self._decision_children[key] = (
                self.decisions.labels(*key),
                self.session_age.labels(policy) if per_policy else None,
                self.refreshes.labels(policy) if per_policy else None,
            )
        tally.inc(children[0])
        iat = number(decision.session.claims.get("iat")) if decision.session else None
        if children[1] is not None and iat is not None:
            tally.observe(children[1], max(0.0, now - iat))
        if decision.renews and children[2] is not None:
            tally.inc(children[2])

    def _done(self, tally: Tally, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method_label(method), status)
        children = self._done_children.get(key)
        if children is None:
            children = self._done_children[key] = (
                self.requests.labels(route, key[1], str(status)),
                self.duration.labels(route),
            )
        tally.inc(children[0])
        tally.observe(children[1], seconds)

    def _upstream(self, tally: Tally, upstream: str, seconds: float) -> None:
        child = self._upstream_children.get(upstream)
        if child is None:
            child = self._upstream_children[upstream] = self.upstream_duration.labels(upstream)
        tally.observe(child, seconds)


class Tally:
    """One turn's observations summed per metric child, then written once each: a value
    update takes a lock and, with ``--workers``, is a store into a memory-mapped file.

    :meth:`apply` does what ``inc()`` and ``observe()`` would have done one by one; for a
    histogram it writes the child's ``_sum`` and ``_buckets`` (non-cumulative, as
    ``Histogram.observe`` does) itself, since prometheus-client has no call that takes
    several observations: tests/unit/test_metrics_tally.py compares the two, and
    tests/unit/test_private_apis.py checks the private parts it writes."""

    def __init__(self) -> None:
        self._counts: dict[Any, int] = {}
        self._sums: dict[Any, tuple[list[float], dict[int, int]]] = {}

    def inc(self, child: Any) -> None:
        self._counts[child] = self._counts.get(child, 0) + 1

    def observe(self, child: Any, amount: float) -> None:
        entry = self._sums.get(child)
        if entry is None:
            entry = self._sums[child] = ([0.0], {})
        entry[0][0] += amount
        index = bisect_left(child._upper_bounds, amount)  # the first bound >= amount (+Inf last)
        entry[1][index] = entry[1].get(index, 0) + 1

    def apply(self) -> None:
        for child, count in self._counts.items():
            child.inc(count)
        for child, (total, buckets) in self._sums.items():
            child._sum.inc(total[0])
            for index, count in buckets.items():
                child._buckets[index].inc(count)
