"""The performance regression check: exact figures must match, ratios may grow by a tolerance, and an
injected regression is caught with the method and figure named."""

import copy

import pytest

from sdo_bench.compare import regress
from sdo_bench.methods.sdo import SDO

SMALL = [("gmm-latent", 10, {"batch": 8}, 5)]


def fake(**over):
    base = {
        "status": "ok",
        "graph_bytes": 1000,
        "nfe_forward": 10,
        "nfe_backward": 1,
        "time_s": 0.01,
        "time_over_sample": 1.1,
        "time_over_bptt": 0.4,
    }
    base.update(over)
    return {"machine": {"device_name": "x"}, "cases": {"gmm-latent/N10/sdo-step=last": base}}


def test_compare_passes_within_tolerance_and_fails_outside():
    ok, rows = regress.compare(fake(time_over_sample=1.2), fake(), 0.2)
    assert ok and rows == []
    ok, rows = regress.compare(fake(time_over_sample=1.5), fake(), 0.2)
    assert not ok and rows[0]["figure"] == "time_over_sample" and "sdo" in rows[0]["case"]
    ok, rows = regress.compare(fake(time_over_bptt=0.2), fake(), 0.2)
    assert ok and "improved" in rows[0]["verdict"]


@pytest.mark.parametrize("figure", ["graph_bytes", "nfe_forward", "nfe_backward", "status"])
def test_deterministic_figures_must_match_exactly(figure):
    changed = fake(**{figure: "diverged" if figure == "status" else 1001})
    ok, rows = regress.compare(changed, fake())
    assert not ok and rows[0]["figure"] == figure and "exactly" in rows[0]["verdict"]


def test_missing_case_fails():
    fresh = fake()
    fresh["cases"]["gmm-latent/N10/bptt"] = copy.deepcopy(fresh["cases"]["gmm-latent/N10/sdo-step=last"])
    ok, rows = regress.compare(fresh, fake())
    assert not ok and "baseline" in rows[0]["verdict"]


def _inject(monkeypatch, kind):
    """A regression in sdo alone: one extra network evaluation per step, or twice the saved
    activations per step."""
    forward = SDO.forward

    def slower(self, task):
        original = task.eps_at

        def eps_at(x, t):
            if kind == "extra_nfe":
                original(x, t)
                return original(x, t)
            out = original(x, t)
            return out + 0.0 * (out.clone() * out.clone()) if out.requires_grad else out

        task.eps_at = eps_at
        try:
            return forward(self, task)
        finally:
            del task.eps_at

    monkeypatch.setattr(SDO, "forward", slower)


@pytest.mark.parametrize("kind,figure", [("extra_nfe", "nfe_forward"), ("double_saved", "graph_bytes")])
def test_injected_regression_is_caught(monkeypatch, kind, figure):
    clean = regress.measure(SMALL, progress=False)
    _inject(monkeypatch, kind)
    injected = regress.measure(SMALL, progress=False)
    ok, rows = regress.compare(injected, clean, tolerance=1.0)
    assert not ok
    failing = [(r["case"], r["figure"]) for r in rows if r["verdict"].startswith("FAIL")]
    assert ("gmm-latent/N10/sdo-step=last", figure) in failing
    assert all("sdo" in case for case, _ in failing)
    # without the injection the deterministic figures match exactly
    monkeypatch.undo()
    ok, rows = regress.compare(regress.measure(SMALL, progress=False), clean, tolerance=1.0)
    assert ok, regress.format_rows(rows)


def test_committed_baseline_covers_every_case():
    base = regress.load(
        regress.DEFAULT_BASELINE
        if regress.DEFAULT_BASELINE.is_absolute()
        else __import__("pathlib").Path(__file__).parent.parent / regress.DEFAULT_BASELINE
    )
    keys = {f"{t}/N{n}/{v.label}" for t, n, _, _ in regress.CASES for v in regress.default_variants()}
    assert keys <= set(base["cases"])


@pytest.mark.parametrize("slower,code", [(1.0, 0), (2.0, 1)])
def test_cli_exit_status_is_zero_on_pass_and_one_on_fail(monkeypatch, tmp_path, capsys, slower, code):
    """CI reads the exit status: a passing check must exit 0 (a (True, text) pair once exited 1)."""
    from sdo_bench.cli import commands as cli

    base = tmp_path / "baseline.json"
    regress.write(base, fake())
    monkeypatch.setattr(regress, "measure", lambda *a, **k: fake(time_over_sample=1.1 * slower))
    assert cli.main(["regress", "--baseline", str(base)]) == code
    assert ("PASS" if code == 0 else "FAIL") in capsys.readouterr().out
