"""The ``sdo-bench`` command line: the parser (:mod:`.arguments`), one handler per command
(:mod:`.commands`), and the torch-free answers it gives before any import of torch (:mod:`.listing`).
The library returns data; printing and formatting happen here."""

from .commands import main

__all__ = ["main"]
