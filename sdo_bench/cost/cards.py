"""The GPUs the cost model predicts for (:data:`GPUS`), and what a card needs beyond the tensor bytes
it predicts: the OOM map's reserve per card.

CUDA adds its own costs on top of the tensors PyTorch allocates: the caching allocator's rounding and
cached blocks (``torch.cuda.max_memory_reserved`` is what decides an out-of-memory error), cuBLAS and
cuDNN workspaces, the CUDA context. ``sdo-bench cost --check`` measures them on a real card
(:mod:`sdo_bench.cost.check`: ``measured_overhead_bytes``). The package keeps the measured ones in
``sdo_bench/assets/cuda_overheads.json``, one entry per card with where it came from; a card without an
entry gets :data:`RULE_OF_THUMB_BYTES`, which has never been measured, and the rows say which it was.
"""

from __future__ import annotations

import functools
import json
import re

from ..weights import ASSETS

#: name: (memory in bytes as nvidia-smi reports it, peak dense fp16/bf16 tensor TFLOP/s, peak fp32
#: TFLOP/s, memory bandwidth in TB/s) — vendor datasheets (SXM parts for A100 80 GB and H100)
GPUS = {
    "L4": (23034 * 2**20, 121.0, 30.3, 0.300),
    "RTX 4090": (24564 * 2**20, 165.2, 82.6, 1.008),
    "A100 40GB": (40960 * 2**20, 312.0, 19.5, 1.555),
    "A100 80GB": (81920 * 2**20, 312.0, 19.5, 2.039),
    "H100 80GB": (81559 * 2**20, 989.4, 66.9, 3.350),
}

TABLE = ASSETS / "cuda_overheads.json"
#: the reserve of a card with no measured overhead: the CUDA context and library workspaces
RULE_OF_THUMB_BYTES = 1 * 2**30
RULE_OF_THUMB = "a rule of thumb, not measured"


@functools.cache
def measured() -> dict[str, dict]:
    """The package's table: card name -> ``{"overhead_bytes": int, "source": str}``."""
    return json.loads(TABLE.read_text())["cards"]


def reserve(card: str) -> tuple[int, str]:
    """The bytes ``card`` (a name of :data:`GPUS`) needs beyond the predicted peak, and
    where that figure comes from."""
    entry = measured().get(card)
    if entry is None:
        return RULE_OF_THUMB_BYTES, RULE_OF_THUMB
    return int(entry["overhead_bytes"]), f"measured: {entry['source']}"


def card_of(device_name: str, cards) -> str | None:
    """The entry of ``cards`` (names like "H100 80GB") that a CUDA device name such as
    "NVIDIA H100 80GB HBM3" or "NVIDIA A100-SXM4-80GB" is, or None: every word of the entry's name is
    a word of the device's."""
    words = set(re.split(r"[\s\-_]+", device_name.upper()))
    hits = [c for c in cards if set(c.upper().split()) <= words]
    return max(hits, key=len) if hits else None
