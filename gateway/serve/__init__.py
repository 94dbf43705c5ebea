"""Serving: the processes that run the pipeline, from ``gateway run`` to shutdown.

The face of the package: :func:`serve` (``gateway run``: load, then one process or a
supervisor with workers), :func:`run_gateway` (one process serving until stopped, the demo
and the tests use it), :func:`build_gateway` and the :class:`Gateway` it returns (the
handler and the state, for a server to run). Inside: ``run`` (the entry), ``single`` (one
process), ``supervisor`` / ``worker`` / ``channel`` (``--workers N``), ``lifecycle`` (what
they share: stop signals, listen errors, SIGHUP), ``proxy_port`` (the proxied port, started
and drained), ``connections`` (each client connection: the header deadline, malformed
requests), ``metrics_port`` (``/metrics``, ``/healthz``, ``/readyz``), ``reload``, ``handler``.
"""

from gateway.serve.handler import Gateway, build_gateway
from gateway.serve.run import serve
from gateway.serve.single import run_gateway

__all__ = ["Gateway", "build_gateway", "run_gateway", "serve"]
