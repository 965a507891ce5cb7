"""The command line's arguments, one table per command: each flag with its type, default and help
text (every flag has one; ``--help`` shows each default). :mod:`sdo_bench.cli` builds the parser from
:data:`COMMANDS` and owns what each command does."""

from __future__ import annotations

import argparse

from ..spec.outputs import TABLES_DIR
from ..spec.settings import ATTENTION, COST_DTYPES, DTYPES

PAIR = dict(action="append", default=[], metavar="KEY=VALUE")


def _int(name: str, least: int | None = None):
    """An ``argparse`` type: an integer (at least ``least``), with an error that names the flag."""

    def parse(v):
        try:
            i = int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {v!r}") from None
        if least is not None and i < least:
            raise argparse.ArgumentTypeError(f"{name} must be >= {least}, got {i}")
        return i

    return parse


# the argument tables, one argument a line
# fmt: off
REQ, SEED = dict(required=True), ("--seed", dict(type=_int("--seed", 0), default=0, help="the random seed"))
OBJECTIVE = ("--objective", dict(choices=["epsilon", "flow"], default="epsilon", help="the digits "
                                "model: epsilon, the DDPM (unet/); flow, its rectified flow (flow_unet/)"))
JSON = ("--json", dict(action="store_true", help="print the results as JSON instead of a table"))
STRICT = ("--strict", dict(action="store_true", help="exit 1 when a run failed, ran out of memory or "
                                                     "diverged (its record is written either way)"))
VARIANT = [("--task", dict(REQ, help="a task name (`sdo-bench list`)")),
           ("--method", dict(REQ, help="a gradient method (`sdo-bench list`)")),
           ("--label", dict(help="the variant's name in tables (default: method and options)")),
           ("--option", dict(PAIR, help="a method option, repeatable (e.g. --option step=first)")),
           ("--set", dict(PAIR, help="a task setting, any of `sdo-bench list` (e.g. --set batch=8)"))]
# shorthands of --set KEY=VALUE for the most used settings
SHORT = [("--dtype", dict(choices=DTYPES, help="the task's dtype (default: the task's own)")),
         ("--device", dict(help="cpu, cuda or cuda:N (default: the task's own)")),
         ("--task-label", dict(help="the task's name in tables (default: the task name)")),
         ("--memory-budget-bytes", dict(type=_int("--memory-budget-bytes", 1),
                                        help="mark the run oom when its graph bytes exceed this"))]
# run, sweep, cost: one variant (--method, --option, --label) or several (--variants, a JSON list)
RUN_VARIANT = [VARIANT[0], ("--method", dict(help="a gradient method (`sdo-bench list`); or --variants")),
               *VARIANT[2:],
               ("--variants", dict(help="several variants in one process, as a JSON list of "
                                        '{"method": ..., "options": {...}, "label": ...}; --out lists '
                                        "one output per variant (and seed or N), variant by variant"))]
COMMANDS = {  # name: (help, [(flag, argparse keywords)])
    "list": ("tasks, methods and their options", [JSON]),
    "run": ("optimization runs, one record per seed", [
        ("--spec", dict(help="the whole job as one JSON object (or @FILE): task, task_label, settings, "
                             "variants, seeds, outs, samples_outs, keep_dir, log_dir, memory_budget_bytes, "
                             "fidelity; instead of the flags below (the workflow's jobs use it)")),
        ("--task", dict(help="a task name (`sdo-bench list`)")), *RUN_VARIANT[1:], *SHORT,
        ("--steps", dict(type=_int("--steps", 1), help="sampling steps N (default: the task's own)")),
        ("--iterations", dict(type=_int("--iterations", 1), help="optimizer steps (default: the task's)")),
        ("--seed", dict(type=_int("--seed", 0), nargs="+", dest="seeds",
                        help="one seed or several (default: --set seed, else 0)")),
        ("--seeds", dict(type=_int("--seeds", 0), nargs="+", dest="seeds", help=argparse.SUPPRESS)),
        ("--no-fidelity", dict(action="store_true", help="skip the comparison with bptt")),
        ("--out", dict(nargs="+", help="one record path per seed (JSON, written atomically)")),
        ("--samples-out", dict(nargs="+", help="one .npz per seed: images before/after optimization")),
        ("--keep-dir", dict(help="also keep a copy of each finished seed's files here; a rerun restores "
                                 "them (they survive a killed job)")),
        ("--log-dir", dict(help="also write TensorBoard scalars (reward, objective, gradient norm per "
                                "iteration) and sample grids here, one run per subfolder (needs the "
                                "tensorboard package: pip install sdo-bench[live])")),
        STRICT, JSON]),
    "sweep": ("one run per number of steps N, in one process, one record each", RUN_VARIANT + SHORT + [SEED,
        ("--steps", dict(type=_int("--steps", 1), nargs="+", required=True, help="values of N")),
        ("--iterations", dict(type=_int("--iterations", 1), default=3, help="optimizer steps per N")),
        ("--out", dict(REQ, nargs="+", help="one record path per N, in the order of --steps (--variants: "
                                            "per variant and N, variant by variant)")),
        STRICT, JSON]),
    "cost": ("predicted peak memory and FLOPs of one gradient (fake tensors, no weights, no GPU)",
             RUN_VARIANT + [
        ("--steps", dict(type=_int("--steps", 1), nargs="+", required=True, help="values of N")),
        ("--dtype", dict(default="float16", choices=COST_DTYPES, help="the models' dtype")),
        ("--batch", dict(type=_int("--batch", 1), help="images per gradient (default: the task's own)")),
        ("--attention", dict(default="flash", choices=ATTENTION, help="the attention kernel whose memory "
                                                                      "is counted")),
        JSON,
        ("--out", dict(nargs="+", help="also write the rows to a JSON file (--variants: one per variant)")),
        ("--extrapolate", dict(action="store_true", help="larger N from the exact predictions "
                               "at N = 1, 2, 3 (else 2, 3, 4) where affine in N (checked; else direct)")),
        ("--check", dict(action="store_true", help="also run each row for real with random weights on "
                         "--check-device and print the measurement beside the prediction")),
        ("--check-device", dict(default="cuda", help="where --check runs: cuda, cuda:N, or cpu (the "
                                "tensor tracker on real tensors) (default: cuda)")),
        ("--check-iterations", dict(type=_int("--check-iterations", 0), default=3,
                                    help="timed iterations per checked row (default: 3)"))]),
    "fit": ("will it fit? each method's largest N (with --steps: batch) on each card, predicted", [
        ("--task", dict(REQ, help="a task name (`sdo-bench list`)")),
        ("--method", dict(REQ, nargs="+", help="one or more gradient methods (`sdo-bench list`)")),
        ("--dtype", dict(default="float16", choices=COST_DTYPES, help="the models' dtype")),
        ("--batch", dict(type=_int("--batch", 1), help="images per gradient (default: the task's own)")),
        ("--attention", dict(default="flash", choices=ATTENTION, help="the attention kernel whose memory "
                                                                      "is counted")),
        ("--card", dict(nargs="+", help="the cards to ask about (default: every card the cost model knows)")),
        ("--steps", dict(type=_int("--steps", 1), help="also the largest batch at this N")),
        ("--set", dict(PAIR, help="a task setting, any of `sdo-bench list` (e.g. --set resolution=768)")),
        JSON]),
    "gpu-check": ("every cost-model family checked on this machine's GPU in one command", [
        ("--device", dict(default="cuda", help="cuda, cuda:N, or cpu (the tiny tasks only: a substitution)")),
        ("--out", dict(default=TABLES_DIR, help="the folder of gpu_check.{csv,md} and the overheads")),
        ("--time-limit", dict(type=float, default=480.0, help="seconds; rows past it are listed as not run")),
        ("--iterations", dict(type=_int("--iterations", 0), default=2, help="timed iterations per row")),
        ("--tasks", dict(nargs="+", help="only these tasks of the plan (default: all, cheapest first)")),
        JSON]),
    "gradcheck": ("every method's gradient against bptt on one task", [
        ("--task", dict(REQ, help="a task name (`sdo-bench list`)")),
        ("--steps", dict(type=_int("--steps", 1), help="sampling steps N (default: the task's own)")), SEED,
        ("--dtype", dict(default="float64", choices=["float32", "float64"], help="the dtype of the check")),
        JSON]),
    "regress": ("compare a fresh performance measurement with the baseline", [
        ("--baseline", dict(default="benchmarks/baseline.json", help="the baseline measurement (JSON)")),
        ("--tolerance", dict(type=float, default=0.2, help="largest growth of a time ratio (0.2 = 20%%)")),
        ("--update", dict(action="store_true", help="rewrite the baseline with this measurement")),
        ("--save", dict(help="also write the fresh measurement to this JSON file")), JSON]),
    "compare": ("two results folders (or record files) side by side; exit 1 on a regression", [
        ("a", dict(metavar="A", help="the reference: a results folder or a records file")),
        ("b", dict(metavar="B", help="the one judged against A: a results folder or a records file")),
        ("--tolerance", dict(type=float, default=0.5, help="largest growth of the time per iteration "
                                                           "(0.5 = 50%%: two runs on a shared machine)")),
        ("--allow-incomplete", dict(action="store_true", help="report damaged records and (task, variant, "
                                    "seed) on one side only as warnings instead of failing")),
        JSON]),
    "report": ("tables or figures from run records", [
        ("what", dict(choices=["tables", "figures", "benchmarks", "docs"], help="what to write")),
        ("--records", dict(nargs="*", default=[], help="main-run record files")),
        ("--sweeps", dict(nargs="*", default=[], help="sweep record files (figures)")),
        ("--costs", dict(nargs="*", default=[], help="sdo-bench cost --out files (predicted)")),
        ("--checks", dict(nargs="*", default=[], help="sdo-bench cost --check --out files (measured)")),
        ("--verdict", dict(help="tables: also write the verdict (the answer in a paragraph) to this file; "
                                "docs: the verdict to copy into docs/ and README.md")),
        ("--benchmarks", dict(nargs="*", default=[], help="Snakemake benchmark files (benchmarks)")),
        ("--out", dict(REQ, help="output directory")),
        ("--reference", dict(default="bptt", help="variant label ratios are taken against")),
        ("--reward-margin", dict(type=float, default=0.1, help="the reward claim's non-inferiority "
                                 "margin: the fraction of the reference's gain in the objective a method "
                                 "may lose"))]),
    "train-model": ("train the digits UNet (save_pretrained to OUT/unet)", [
        ("--out", dict(REQ, help="the weights directory")),
        ("--steps", dict(type=_int("--steps", 1), default=2000, help="training steps")),
        ("--batch", dict(type=_int("--batch", 1), default=128, help="images per training step")), SEED,
        OBJECTIVE]),
    "train-classifier": ("train the reward classifier and the judge", [
        ("--out", dict(REQ, help="weights directory (classifier.pt, judge.pt)")),
        ("--which", dict(choices=["reward", "judge", "both"], default="both", help="which to train")),
        ("--epochs", dict(type=_int("--epochs", 1), default=30, help="training epochs"))]),
    "evaluate-model": ("judge the trained digits model; write a sample grid", [
        ("--weights", dict(REQ, help="the digits weights directory")),
        ("--out", dict(REQ, help="the results (JSON)")),
        ("--grid", dict(help="also a sample grid, one row per class (PNG)")),
        ("--samples", dict(type=_int("--samples", 1), default=500, help="samples judged")), OBJECTIVE,
        JSON]),
    "progress": ("runs done and time left per rule family of a running workflow", [
        ("family", dict(choices=["runs", "sweeps", "cost"], help="the rule family")), JSON]),
    "build-tiny": ("save a tiny pipeline and the tiny open_clip checkpoints (random weights, offline)", [
        ("--family", dict(choices=["sd", "sdxl", "sd3", "flux"], default="sd",
                          help="the pipeline: tiny-sd (default), tiny-sdxl, tiny-sd3 or tiny-flux")),
        ("--sd-out", dict(REQ, help="the tiny pipeline directory (the tiny tasks' weights_dir)")),
        ("--clip-out", dict(REQ, help="the tiny open_clip checkpoints' directory")), SEED]),
}
# fmt: on
