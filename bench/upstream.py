"""The fast upstream: an aiohttp app answering every request with the same 1 KiB body.

Run as ``python -m bench.upstream --port N``. It does as little as aiohttp allows, so that
the proxies in front of it are what the benchmark measures.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from aiohttp import web

BODY = b"x" * 1023 + b"\n"


async def answer(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="text/html")


def build() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


def main(app: Callable[[], web.Application] = build, description: str | None = __doc__) -> None:
    """Serve ``app()`` on 127.0.0.1:--port (also the soak's upstream, with its own app)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
