"""Resuming a job: a seed already made from the same settings is kept, a finished seed's copy under
``keep_dir`` is restored after its outputs were deleted, and a failed or differently made seed runs."""

import json

from sdo_bench.experiment import runner as experiment
from sdo_bench.spec.variant import Variant

SETTINGS = {"steps": 4, "iterations": 1, "batch": 4}


def _run(tmp_path, seeds=(0, 1), **settings):
    outs = [tmp_path / "raw" / f"seed{s}.json" for s in seeds]
    samples = [tmp_path / "raw" / f"seed{s}.npz" for s in seeds]
    (tmp_path / "raw").mkdir(exist_ok=True)
    recs = experiment.run_seeds(
        "gmm-latent", dict(SETTINGS, **settings), Variant("sdo"), list(seeds), outs, samples,
        keep_dir=tmp_path / "kept",
    )  # fmt: skip
    return outs, samples, recs


def _start(path):
    """What tells one run from another (its start time has seconds only; its timings never repeat)."""
    rec = json.loads(path.read_text())
    return rec["provenance"]["start_time"], rec["time_per_iter_s"], rec["time_sample_s"]


def test_kept_restored_and_redone(tmp_path):
    outs, samples, _ = _run(tmp_path)
    made = [_start(p) for p in outs]
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == [
        "seed0.json",
        "seed0.npz",
        "seed1.json",
        "seed1.npz",
    ]
    # as after a SIGKILL: Snakemake deleted the job's outputs; the copies restore them
    for p in (*outs, *samples):
        p.unlink()
    _run(tmp_path)
    assert [_start(p) for p in outs] == made and all(p.is_file() for p in samples)
    # a failed record runs again
    rec = json.loads(outs[1].read_text())
    outs[1].write_text(json.dumps(dict(rec, status="error")))
    (tmp_path / "kept" / "seed1.json").unlink()
    _run(tmp_path)
    assert _start(outs[0]) == made[0] and _start(outs[1]) != made[1]
    assert json.loads(outs[1].read_text())["status"] == "ok"
    # other settings: not the same run, so nothing is kept
    _run(tmp_path, lr=0.01)
    assert _start(outs[0]) != made[0]
