"""``sdo-bench progress``: runs done, planned and time left, per rule family."""

import json
import time

from sdo_bench.pipeline import progress


def test_progress_counts_planned_records_and_estimates_time_left(tmp_path):
    files = [tmp_path / f"seed{i}.json" for i in range(4)]
    plan = tmp_path / "plan.json"
    progress.write_plan({"runs": [str(f) for f in files], "sweeps": []}, plan)
    assert progress.line("runs", plan).startswith("runs: 0/4 records (0%)")
    data = json.loads(plan.read_text())
    data["start"] = time.time() - 60  # one minute ago
    plan.write_text(json.dumps(data))
    files[0].write_text("{}")
    text = progress.line("runs", plan)
    assert text.startswith("runs: 1/4 records (25%), 1 min 00 s so far") or "1 min 0" in text
    assert "about 3 min 0" in text and "left for runs" in text  # three more at the same pace
    assert "no progress plan" in progress.line("runs", tmp_path / "missing.json")
