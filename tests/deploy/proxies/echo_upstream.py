"""The app behind the proxies in the forward-auth tests: ``python echo_upstream.py PORT``
answers every request on 127.0.0.1:PORT with 200 and, as JSON, what it received (method,
path and every header, in order), so a test can read what the proxy forwarded."""

from __future__ import annotations

import sys

from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    headers = [[name, value] for name, value in request.headers.items()]
    return web.json_response(
        {"method": request.method, "path": request.raw_path, "headers": headers}
    )


def main(port: int) -> None:
    # A three-chunk session cookie is ~12 KB in one Cookie line; Node (the real apps)
    # accepts 16 KB of headers, so must this stand-in.
    app = web.Application(handler_args={"max_field_size": 32768, "max_line_size": 32768})
    app.router.add_route("*", "/{tail:.*}", echo)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
