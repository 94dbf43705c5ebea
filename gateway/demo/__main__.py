"""``python -m gateway.demo [CONFIG]``: the demo upstream and the gateway, in one process."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.demo.upstream import build_demo_app
from gateway.observe import configure_logging
from gateway.serve import run_gateway

BANNER = """
  Session gateway demo
  --------------------
  Open  http://{listen}/          -> no session: you are sent to the login page
  Pick  alice (admin) or bob (general user) -> back where you started, signed in
  Open  http://{listen}/admin/    -> alice may, bob gets a 403
  Wait  {admin_update}s as alice and reload: the gateway renews the cookie (Set-Cookie)
  Idle  {admin_max}s as alice (or {general_max}s as bob): the next page sends you to log in
  Watch http://{listen}/admin/watch as alice, touch nothing: it polls the session, yet
        is signed out after {admin_max}s (a poll is not you)
  Open  http://{listen}/billing {billing}s after signing in: sign in again (step-up)
  Metrics: http://{metrics}/metrics     Stop: Ctrl-C
"""


async def main(config: GatewayConfig, path: str) -> None:
    runner = web.AppRunner(build_demo_app(config), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, config.upstream.host, config.upstream.port).start()
    admin, general = config.policy("admin"), config.policy("general")
    print(
        BANNER.format(
            listen=config.listen,
            metrics=config.metrics_listen,
            admin_update=admin.update_age,
            admin_max=admin.max_age,
            general_max=general.max_age,
            billing=next((r.max_auth_age for r in config.routes if r.max_auth_age), "?"),
        ),
        file=sys.stderr,
        flush=True,
    )
    try:
        await run_gateway(config, path=path)  # edits to the file reload, as in production
    finally:
        await runner.cleanup()


def run(argv: list[str]) -> int:
    path = argv[0] if argv else "config/gateway.yaml"
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not config.demo:
        print(f"{path}: the demo runs only on a config with `demo: true`", file=sys.stderr)
        return 2
    configure_logging(config.log, debug=False)  # one access line per request, as in production
    asyncio.run(main(config, path))
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
