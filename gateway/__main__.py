"""``python -m gateway``: the same as the ``gateway`` command (:mod:`gateway.cli`)."""

import sys

from gateway.cli import main

sys.exit(main())
