"""Observing the gateway: Prometheus metrics, the access log, the process's own log lines.

The face of the package: :class:`GatewayMetrics` (a request's observations) and
:class:`ConfigMetrics` (loads and reloads), :func:`log_access`, :func:`configure_logging`.
Inside: ``metrics``, ``access`` (what one access line may hold), ``logs`` (handler and
formatters, escaping), ``turns`` (the per-loop-turn batching both metrics and access lines
are recorded through).
"""

from gateway.observe.access import log_access
from gateway.observe.logs import configure_logging
from gateway.observe.metrics import ConfigMetrics, GatewayMetrics

__all__ = ["ConfigMetrics", "GatewayMetrics", "configure_logging", "log_access"]
