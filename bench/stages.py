"""``python -m bench.stages``: the CPU each stage of the gateway's request path costs, measured
in-process on the benchmark's case (a) request (the best of several timeit repeats).

End-to-end numbers say how much the gateway costs; these say where. They are the floor: inside
a busy server the same code runs two to five times as long (its code and data are no longer in
the CPU's caches), so read them as proportions. Only stages the gateway runs on every proxied
request are listed. Outside a running loop the metrics and the access log record each call at
once; in the server they are batched per loop turn (gateway/turns.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import timeit
import uuid
from collections.abc import Callable, Iterator
from unittest import mock

from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict, CIMultiDictProxy
from prometheus_client import CollectorRegistry

from bench.cookies import COOKIE, FRESH_AGE, SECRET, mint
from bench.loadgen import BROWSER_HEADERS
from bench.servers import GATEWAY_CONFIG
from gateway import identity, pipeline, routes, trust
from gateway.config import load_config_text
from gateway.exchange import Exchange, new_request_id
from gateway.observe import configure_logging, log_access
from gateway.policy import evaluate
from gateway.serve import build_gateway
from gateway.session import SessionCodec, cookies
from gateway.upstream import hopbyhop

Stage = tuple[str, Callable[[], object]]
ANSWER = (
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Length", "1024"),
    ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
    ("Server", "Python/3.11 aiohttp"),
)


def stages() -> Iterator[Stage]:
    """Each stage as a callable, set up on one realistic request, in pipeline order."""
    text = GATEWAY_CONFIG.format(
        port=8080, metrics_port=9091, upstream_port=3000, cookie=COOKIE, cache_entries=1000
    )
    config = load_config_text(text, "bench.yaml", env={"BENCH_SECRET": SECRET})
    configure_logging(config.log, debug=False)
    state = build_gateway(config, registry=CollectorRegistry()).state
    snapshot, now = state.snapshot, time.time()
    codec = SessionCodec("nextauth-v4", [SECRET])
    token = mint(codec, 0, int(now), FRESH_AGE)
    headers = CIMultiDict(BROWSER_HEADERS, Host="127.0.0.1:8080", Cookie=f"{COOKIE}={token}")
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda key, default=None: (
        ("127.0.0.1", 40000) if key == "peername" else default
    )
    request = make_mocked_request(
        "GET", "/dashboard?tab=activity", headers=headers, transport=transport
    )
    view = trust.client_view(
        request.remote, request.headers, trusted=config.trusted_proxies, scheme=request.scheme
    )
    path = routes.normalise("/dashboard")
    route = routes.match_route(config.routes, path)
    assert route is not None
    pairs = cookies.parse_cookie_header(request.headers.getall("Cookie", ()))
    found, read = snapshot.sessions.read(pairs)
    decision = evaluate(read, route, config, now)
    exchange = Exchange(
        snapshot, view, now, uuid.uuid4().hex, route=route.name, decision=decision, found=found
    )
    answer = CIMultiDictProxy(CIMultiDict(ANSWER))
    yield (
        "client_view",
        lambda: trust.client_view(
            request.remote, request.headers, trusted=config.trusted_proxies, scheme=request.scheme
        ),
    )
    yield "request id", new_request_id
    yield "request_started (inflight)", state.metrics.request_started
    yield "normalise", lambda: routes.normalise(request.raw_path.partition("?")[0])
    yield "match_route", lambda: routes.match_route(config.routes, path)
    yield (
        "parse_cookie_header",
        lambda: cookies.parse_cookie_header(request.headers.getall("Cookie", ())),
    )
    yield "sessions.read (cache hit)", lambda: snapshot.sessions.read(pairs)
    yield "  codec.decode (a cache miss)", lambda: codec.decode(token, COOKIE)
    yield "evaluate", lambda: evaluate(read, route, config, now)
    yield "observe_decision", lambda: state.metrics.observe_decision(route.name, decision, now)
    yield "upstream headers", lambda: pipeline._upstream_headers(request, exchange, pairs, route)
    yield "  inbound filter", lambda: snapshot.inbound.kept(headers, preflight=False)
    yield (
        "  identity_values",
        lambda: identity.identity_values(
            read.session.claims if read.session else {}, config.identity_headers
        ),
    )
    yield "response headers (hop-by-hop)", lambda: hopbyhop.end_to_end(answer)
    yield "upstream_answered", lambda: state.metrics.upstream_answered(route.upstream.label, 0.001)
    yield "request_done", lambda: state.metrics.request_done(route.name, "GET", 200, 0.001)
    yield "access log line", lambda: log_access(exchange, "GET", request.raw_path, 200, 0.001, 1024)
    yield (
        "(renewal: codec.encode)",
        lambda: codec.encode({"sub": "u", "role": "user"}, COOKIE, now=int(now), max_age=86400),
    )


def measure(number: int, repeat: int = 5) -> list[tuple[str, float]]:
    """(stage, microseconds per call) for every stage."""
    out = []
    with _quiet_stdout():  # the access log writes to stdout
        for name, stage in stages():
            stage()
            best = min(timeit.repeat(stage, number=number, repeat=repeat)) / number
            out.append((name, best * 1e6))
    return out


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    saved = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull
        try:
            yield
        finally:
            sys.stdout = saved


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__)
    parser.add_argument("--number", type=int, default=5000, help="calls per repeat")
    args = parser.parse_args()
    results = measure(args.number)
    for name, micros in results:
        print(f"{micros:8.2f} us  {name}")
    top = sum(m for name, m in results if not name.startswith((" ", "(")))
    print(f"{top:8.2f} us  every stage of a case (a) request (indented lines are parts)")


if __name__ == "__main__":
    main()
