"""The demo app for deploy/docker-compose.yml: ``python demo_upstream.py CONFIG [HOST:PORT]``.

Serves the demo upstream of ``make run`` (a login page that mints real NextAuth cookies, a
home page showing the identity headers, an admin page, an API route) on its own, so it can
run in its own container behind the gateway. It reads the gateway's config file for the
cookie format and secret, so both sides agree.
"""

from __future__ import annotations

import sys

from aiohttp import web

from gateway.config import ConfigError, load_config
from gateway.demo.upstream import build_demo_app

DEFAULT_LISTEN = "0.0.0.0:3000"


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    try:
        config = load_config(argv[0])
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    host, _, port = (argv[1] if len(argv) == 2 else DEFAULT_LISTEN).rpartition(":")
    web.run_app(
        build_demo_app(config),
        host=host,
        port=int(port),
        access_log=None,
        print=lambda line: print(line, file=sys.stderr, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
