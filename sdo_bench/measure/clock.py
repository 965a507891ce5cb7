"""The clock every timed block of a run and of a cost check uses: wall-clock seconds, synchronized with
the device so that queued CUDA work is counted where it was asked for."""

from __future__ import annotations

import time

from .counters import synchronizer


class Clock:
    """Wall-clock seconds of blocks, synchronized with the device."""

    def __init__(self, device):
        self.sync = synchronizer(device)

    def __call__(self, fn, *args):
        self.sync()
        t0 = time.perf_counter()
        out = fn(*args)
        self.sync()
        return out, time.perf_counter() - t0
