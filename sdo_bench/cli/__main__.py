"""``python -m sdo_bench.cli``: the same command line as ``sdo-bench``."""

import sys

from .commands import main

sys.exit(main())
