"""Records on disk: written atomically with the user's umask (not mkstemp's 0600), and what counts as
out of memory."""

import json
import os
import stat

import numpy as np
import pytest
import torch

from sdo_bench.measure.counters import is_oom
from sdo_bench.records.io import write_atomic, write_npz_atomic


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_records_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "r.json", {"a": float("nan")})
        write_npz_atomic(tmp_path / "s.npz", x=np.zeros(2))
    finally:
        os.umask(old)
    for name in ("r.json", "s.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": None}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_failed_allocation_is_out_of_memory():
    assert is_oom(MemoryError())
    assert is_oom(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 GB"))
    assert is_oom(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not is_oom(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not is_oom(ValueError("out of memory"))
