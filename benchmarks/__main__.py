import sys

from benchmarks.core import main

sys.exit(main())
