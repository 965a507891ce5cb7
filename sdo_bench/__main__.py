"""``python -m sdo_bench``: the command line, run by the interpreter that runs it."""

import sys

from .cli import main

sys.exit(main())
