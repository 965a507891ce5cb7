"""The answer at a glance: the verdict's entries and the headline's titles say what the data holds (task,
N, dtype, batch, seeds), and no verdict is drawn from fewer than three seeds."""

import json
from pathlib import Path

import pytest

from sdo_bench.spec.job import RunJob
from sdo_bench.spec.variant import Variant


def _records(root, seeds):
    from sdo_bench.experiment import run_job

    variants = (Variant("bptt"), Variant("checkpoint"), Variant("sdo"))
    outs = tuple(str(root / f"{v.label}-{s}.json") for v in variants for s in seeds)
    job = RunJob(task="gmm-latent", variants=variants, seeds=tuple(seeds), outs=outs,
                 settings={"steps": 6, "iterations": 3, "batch": 8}, fidelity=False)  # fmt: skip
    run_job(job)
    return list(outs)


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    root = tmp_path_factory.mktemp("three")
    return root, _records(root, (0, 1, 2))


def test_the_verdict_has_an_entry_per_task_with_its_numbers(three, tmp_path):
    from sdo_bench import report

    _, records = three
    verdict = tmp_path / "verdict.md"
    report.write("tables", records, [], tmp_path / "tables", verdict=verdict)
    text = verdict.read_text()
    entry = next(line for line in text.splitlines() if line.startswith("- **gmm-latent**"))
    assert "(N = 6, 3 seeds)" in entry and "of bptt's (CPU time)" in entry and "[" in entry
    assert "minus bptt's is" in entry and "margin" in entry
    # checkpoint is bptt recomputed: it never beats sdo by chance of a different gradient
    assert (tmp_path / "verdict.html").read_text().count("gmm-latent") >= 1
    assert "Predicted by the cost model" in text and "no cost grid" in text


def test_the_time_ratio_comes_from_each_runs_fastest_iteration_of_equal_work(three, tmp_path):
    """Records whose medians say sdo is 10x slower while their fastest iterations say 0.25x: every
    comparison takes the fastest (a busy neighbour only adds time), and the verdict's ratio is the
    geometric mean of the per-seed ratios of it."""
    import math

    from sdo_bench.report.load import load_records
    from sdo_bench.report.tables import claim

    _, records = three
    edited = []
    for path in records:
        rec = json.loads(open(path).read())
        fast = 0.25 if rec["variant"].startswith("sdo") else 1.0
        fast *= 1 + 0.01 * rec["seed"] * (rec["variant"] == "bptt")
        rec["compute_time_per_iter_s"] = {"fastest": fast, "median": 10 / fast, "p10": fast, "p90": 10 / fast}
        out = tmp_path / Path(path).name
        out.write_text(json.dumps(rec))
        edited.append(str(out))
    df = load_records(edited)
    c = claim(df[df.status == "ok"], ("gmm-latent", "sdo"), ("gmm-latent", "bptt"))
    want = math.exp(sum(math.log(0.25 / (1 + 0.01 * s)) for s in range(3)) / 3)
    assert c["time_ratio"][0] == pytest.approx(want) and c["time_ratio"][1] < want < c["time_ratio"][2]
    assert c["cost_verdict"] == "not supported"  # a 75% reduction, all of its interval below 85%


def test_two_seeds_give_no_interval_and_no_verdict(three, tmp_path):
    from sdo_bench import report

    _, records = three
    two = [r for r in records if not r.endswith("-2.json")]
    verdict = tmp_path / "verdict.md"
    report.write("tables", two, [], tmp_path / "tables", verdict=verdict)
    text = verdict.read_text()
    assert "cannot decide" in text and "[" not in text.split("- **gmm-latent**")[1].split("\n")[0]
    claims = (tmp_path / "tables" / "claims.md").read_text()
    row = next(line for line in claims.splitlines() if line.startswith("| gmm-latent | sdo"))
    assert "n/a: 2 seeds" in row and "[" not in row


def test_the_headline_titles_name_what_it_shows(three, tmp_path):
    from sdo_bench.report.headline import headline
    from sdo_bench.report.load import load_records

    _, records = three
    df = load_records(records)
    text = headline(df, None, "gmm-latent", tmp_path / "h.png")
    rec = json.loads(open(records[0]).read())
    assert f"gmm-latent (N = {rec['steps']}, {rec['dtype']}, batch {rec['batch']}), MEASURED" in text["race"]
    assert (
        "3 seeds" in text["caption"] and "95% intervals" in text["caption"] and "CPU time" in text["caption"]
    )
    assert text["predicted"] == "" and (tmp_path / "h.png").stat().st_size > 10_000
    few = headline(df[df.seed < 2], None, "gmm-latent", tmp_path / "h2.png")
    assert "no intervals (2 seeds" in few["caption"]


def test_the_predicted_panel_is_titled_by_its_cost_rows(three, tmp_path):
    import pandas as pd

    from sdo_bench.report.headline import titles
    from sdo_bench.report.load import load_records

    _, records = three
    row = {"status": "ok", "variant": "sdo"}
    costs = pd.DataFrame([
        dict(row, task="tiny-sd-latent", steps=4, dtype="float32", batch=2),
        dict(row, task="sd15-latent-hpsv2", steps=50, dtype="float16", batch=1),
    ])  # fmt: skip
    t = titles(load_records(records), "gmm-latent", costs[:1])
    assert (
        t["predicted"].startswith("PREDICTED") and "tiny-sd-latent, N = 4, float32, batch 2" in t["predicted"]
    )
    t = titles(load_records(records), "gmm-latent", costs[1:])
    assert (
        t["predicted"].startswith("paper scale, PREDICTED") and "N = 50, float16, batch 1" in t["predicted"]
    )
