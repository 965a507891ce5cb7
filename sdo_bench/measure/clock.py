"""The clock every timed block of a run and of a cost check uses. Each block gets two times:

- wall-clock seconds, synchronized with the device so that queued CUDA work is counted where it was
  asked for (kept in every record);
- its compute time, which holds on a shared machine: on the CPU the process's CPU time
  (``time.process_time``: every thread of this process, none of another's; the workflow pins one
  thread per job), on CUDA the time between two CUDA events around the block. Tables, claims and
  figures compare this one.

Where the two disagree by more than :data:`BUSY_FACTOR` on the CPU, the machine was busy with other
work while the run went on: the record says so (``time_note``).
"""

from __future__ import annotations

import time

import torch

from .counters import synchronizer

#: wall-clock over CPU time above which a CPU run's machine is called busy
BUSY_FACTOR = 1.5


class Clock:
    """Wall-clock seconds of blocks (returned) and their compute time (:attr:`last_compute`)."""

    def __init__(self, device):
        self.sync = synchronizer(device)
        self.cuda = torch.device(device).type == "cuda"
        #: what the compute time is: ``process_cpu`` or ``cuda_events``
        self.source = "cuda_events" if self.cuda else "process_cpu"
        self.last_compute = 0.0

    def __call__(self, fn, *args):
        self.sync()
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn(*args)
        if self.cuda:
            end.record()
        self.sync()
        wall = time.perf_counter() - t0
        self.last_compute = start.elapsed_time(end) / 1000 if self.cuda else time.process_time() - c0
        return out, wall


def busy_note(wall: float, compute: float, source: str) -> str | None:
    """A note where a CPU run's median wall-clock time exceeds its CPU time by over :data:`BUSY_FACTOR`
    (other work on the machine, or more threads than the job was given)."""
    if source != "process_cpu" or not compute > 0 or wall / compute <= BUSY_FACTOR:
        return None
    return (
        f"wall-clock time per iteration is {wall / compute:.1f}x the CPU time (over {BUSY_FACTOR}x): the "
        "machine was busy or the job used more threads; compare CPU times (compute_time_per_iter_s)"
    )
