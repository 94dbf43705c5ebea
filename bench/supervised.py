"""``python -m bench.supervised --config FILE``: the gateway as ``gateway run --workers N``
runs it, with N = 1: a supervisor and one worker writing multiprocess metrics. Against
``gateway run`` (one process, ordinary metrics) it prices what multiprocess metrics cost a
request, apart from what two workers sharing the machine's cores cost."""

from __future__ import annotations

import argparse
import sys

from gateway.serve import serve


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.supervised", description=__doc__)
    parser.add_argument("--config", required=True)
    return serve(parser.parse_args().config, workers=1, supervised=True)


if __name__ == "__main__":
    sys.exit(main())
