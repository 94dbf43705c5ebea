"""A small upstream for the live deploy tests: ``python upstream_server.py PORT`` answers
every request on 127.0.0.1:PORT with 200 and a short JSON body."""

from __future__ import annotations

import sys

from aiohttp import web


async def answer(request: web.Request) -> web.Response:
    return web.json_response({"path": request.path})


def main(port: int) -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
