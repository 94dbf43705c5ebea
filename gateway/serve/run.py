"""``gateway run``: load the file, set up logging, then serve in this process or under the
supervisor (``--workers N``).

Exit codes: 0 after a clean stop, 2 for a bad file (every problem printed), 1 when the gateway
cannot start (one line: an address taken, a worker that could not start), 130 for a Ctrl-C
before the signal handlers were in place. Never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from gateway.config import ConfigError, load_config
from gateway.observe import configure_logging
from gateway.serve.lifecycle import StartupError
from gateway.serve.single import run_gateway
from gateway.serve.supervisor import supervise

log = logging.getLogger("gateway.server")


EXIT_OK, EXIT_CANNOT_START, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def serve(
    config_path: str, *, workers: int = 1, debug: bool = False, supervised: bool = False
) -> int:
    """Load the config and serve until stopped. Exit code 0 after a clean stop, 2 for a bad
    file (every problem printed), 1 when the gateway cannot start. ``supervised`` runs even
    one worker under the supervisor (the benchmark prices multiprocess metrics with it)."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return EXIT_INVALID
    configure_logging(config.log, debug=debug)
    for warning in config.warnings:
        log.warning("%s", warning)
    # Until the reloader listens, SIGHUP must not kill the process (its default); the file
    # watcher sees any change made meanwhile.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        if workers > 1 or supervised:
            return asyncio.run(supervise(config, config_path, workers=workers, debug=debug))
        asyncio.run(run_gateway(config, path=config_path, debug=debug))
    except StartupError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place
        return EXIT_INTERRUPTED
    return EXIT_OK
