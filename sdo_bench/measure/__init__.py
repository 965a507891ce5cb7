"""What a run measures, outside any method: network evaluations, bytes saved for backward and peak
memory (:mod:`.counters`), the tensor tracker that counts live tensors and FLOPs on real or fake tensors
(:mod:`.tracker`), and the clock that times an iteration (:mod:`.clock`). Imports nothing above it."""

from .counters import (
    CountingNetwork,
    GraphBytes,
    PeakMemory,
    agreement,
    is_oom,
    note_saved,
    scalar,
    synchronizer,
)

__all__ = [
    "CountingNetwork", "GraphBytes", "PeakMemory", "agreement", "is_oom", "note_saved", "scalar",
    "synchronizer",
]  # fmt: skip
