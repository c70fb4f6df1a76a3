"""``python -m xai_core``: the command line (see :mod:`xai_core.cli`)."""

import sys

from xai_core.cli import main

sys.exit(main())
