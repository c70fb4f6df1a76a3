"""``python -m xai_core.study``: see :mod:`xai_core.study.cli`."""

import sys

from xai_core.study.cli import main

sys.exit(main())
