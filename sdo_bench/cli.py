"""The ``sdo-bench`` command line (docs/design.md §5). It owns the command line and nothing else: each
command is a function here that turns the parsed arguments into plain values and calls one library
function (imported inside it, so that ``--help`` and ``list`` load no torch), then prints what it
returns. Values are checked by the modules that own them (:mod:`.settings`, the registries).

Bad input: one line on stderr, exit code 2. A run that fails, runs out of memory or diverges still writes
its record (with that status) and exits 0. ``--set``/``--option`` values: JSON or strings (:mod:`.values`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .settings import ATTENTION, COST_DTYPES, DTYPES
from .values import pairs

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


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


# the argument tables, one argument a line
# fmt: off
REQ, SEED = dict(required=True), ("--seed", dict(type=_int("--seed", 0), default=0))
VARIANT = [("--task", REQ), ("--method", REQ), ("--label", dict(help="the variant's name in tables")),
           ("--option", dict(PAIR, help="a method option, repeatable (e.g. --option step=first)")),
           ("--set", dict(PAIR, help="a task setting, any of `sdo-bench list` (e.g. --set batch=8)"))]
# shorthands of --set KEY=VALUE for the most used settings
SHORT = [("--dtype", dict(choices=DTYPES)), ("--device", dict(help="cpu, cuda or cuda:N")),
         ("--task-label", dict(help="the task's name in tables (default: the task name)")),
         ("--memory-budget-bytes", dict(type=_int("--memory-budget-bytes", 1),
                                        help="mark the run oom when its graph bytes exceed this"))]
# run: one variant (--method, --option, --label) or several (--variants, a JSON list)
RUN_VARIANT = [("--task", REQ), ("--method", {}), *VARIANT[2:],
               ("--variants", dict(help="several variants in one process, as a JSON list of "
                                        '{"method": ..., "options": {...}, "label": ...}; --out lists '
                                        "one record per variant and seed, variant by variant"))]
COMMANDS = {  # name: (help, [(flag, argparse keywords)])
    "list": ("tasks, methods and their options", []),
    "run": ("optimization runs, one record per seed", RUN_VARIANT + SHORT + [
        ("--steps", dict(type=_int("--steps", 1))), ("--iterations", dict(type=_int("--iterations", 1))),
        ("--seed", dict(type=_int("--seed", 0), nargs="+", dest="seeds", help="one seed or several")),
        ("--seeds", dict(type=_int("--seeds", 0), nargs="+", dest="seeds", help=argparse.SUPPRESS)),
        ("--no-fidelity", dict(action="store_true", help="skip the comparison with bptt")),
        ("--out", dict(REQ, nargs="+", help="one record path per seed (JSON, written atomically)")),
        ("--samples-out", dict(nargs="+", help="one .npz per seed: images before/after optimization")),
        ("--keep-dir", dict(help="also keep a copy of each finished seed's files here; a rerun restores "
                                 "them (they survive a killed job)"))]),
    "sweep": ("one run per number of steps N, in one process, one record each", RUN_VARIANT + SHORT + [SEED,
        ("--steps", dict(type=_int("--steps", 1), nargs="+", required=True, help="values of N")),
        ("--iterations", dict(type=_int("--iterations", 1), default=3)),
        ("--out", dict(REQ, nargs="+", help="one record path per N, in the order of --steps (--variants: "
                                            "per variant and N, variant by variant)"))]),
    "cost": ("predicted peak memory and FLOPs of one gradient (fake tensors, no weights, no GPU)",
             RUN_VARIANT + [
        ("--steps", dict(type=_int("--steps", 1), nargs="+", required=True, help="values of N")),
        ("--dtype", dict(default="float16", choices=COST_DTYPES)),
        ("--batch", dict(type=_int("--batch", 1))), ("--attention", dict(default="flash", choices=ATTENTION)),
        ("--json", dict(action="store_true")),
        ("--out", dict(nargs="+", help="also write the rows to a JSON file (--variants: one per variant)")),
        ("--extrapolate", dict(action="store_true", help="N above 4 from the exact predictions at "
                               "N = 2, 3, 4 where they are affine in N (checked; otherwise direct)"))]),
    "gradcheck": ("every method's gradient against bptt on one task", [
        ("--task", REQ), ("--steps", dict(type=_int("--steps", 1))), SEED,
        ("--dtype", dict(default="float64", choices=["float32", "float64"]))]),
    "regress": ("compare a fresh performance measurement with the baseline", [
        ("--baseline", dict(default="benchmarks/baseline.json")),
        ("--tolerance", dict(type=float, default=0.2, help="largest growth of a time ratio (0.2 = 20%%)")),
        ("--update", dict(action="store_true", help="rewrite the baseline with this measurement")),
        ("--save", dict(help="also write the fresh measurement to this JSON file"))]),
    "report": ("tables or figures from run records", [
        ("what", dict(choices=["tables", "figures", "benchmarks", "docs"])),
        ("--records", dict(nargs="*", default=[], help="main-run record files")),
        ("--sweeps", dict(nargs="*", default=[], help="sweep record files (figures)")),
        ("--costs", dict(nargs="*", default=[], help="sdo-bench cost --out files (predicted)")),
        ("--benchmarks", dict(nargs="*", default=[], help="Snakemake benchmark files (benchmarks)")),
        ("--out", dict(REQ, help="output directory")),
        ("--reference", dict(default="bptt", help="variant label ratios are taken against")),
        ("--reward-margin", dict(type=float, default=0.1, help="the reward claim's non-inferiority "
                                 "margin: the fraction of the reference's gain in the objective a method "
                                 "may lose"))]),
    "train-model": ("train the digits UNet (save_pretrained to OUT/unet)", [
        ("--out", REQ), ("--steps", dict(type=_int("--steps", 1), default=2000)),
        ("--batch", dict(type=_int("--batch", 1), default=128)), SEED]),
    "train-classifier": ("train the reward classifier and the judge", [
        ("--out", dict(REQ, help="weights directory (classifier.pt, judge.pt)")),
        ("--which", dict(choices=["reward", "judge", "both"], default="both")),
        ("--epochs", dict(type=_int("--epochs", 1), default=30))]),
    "evaluate-model": ("judge the trained digits model; write a sample grid", [
        ("--weights", REQ), ("--out", dict(REQ, help="the results (JSON)")),
        ("--grid", dict(help="also a sample grid, one row per class (PNG)")),
        ("--samples", dict(type=_int("--samples", 1), default=500))]),
    "progress": ("runs done and time left per rule family of a running workflow", [
        ("family", dict(choices=["runs", "sweeps", "cost"]))]),
    "build-tiny": ("build tiny-sd and tiny open_clip checkpoints (random weights, offline)", [
        ("--sd-out", dict(REQ, help="the tiny-sd pipeline directory")),
        ("--clip-out", dict(REQ, help="the tiny open_clip checkpoints' directory")), SEED]),
}
# fmt: on


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sdo-bench", description="Gradient methods through diffusion sampling.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (text, arguments) in COMMANDS.items():
        s = sub.add_parser(name, help=text)
        for flag, keywords in arguments:
            s.add_argument(flag, **keywords)
    return p


def _settings(a) -> dict:
    """``--set`` pairs, with the shorthand flags that were given (a key given twice is an error)."""
    settings = pairs(a.set, "--set")
    for key in ("steps", "iterations", "dtype", "device"):
        value = getattr(a, key, None)
        if value is None or (a.command == "sweep" and key in ("steps", "iterations")):
            continue
        if key in settings and settings[key] != value:
            raise ValueError(f"--{key} {value} and --set {key}={settings[key]} disagree; give {key} once")
        settings[key] = value
    return settings


def _variant(a):
    from .variant import Variant

    for flag, value in (("--label", a.label), ("--task-label", getattr(a, "task_label", None))):
        if value is not None and not value.strip():
            raise ValueError(f"{flag} is empty; give a name, or leave it out for the default")
    return Variant(a.method, pairs(a.option, "--option"), a.label)


def _variants(text: str) -> list:
    """``--variants``: a JSON list of ``{"method", "options", "label"}`` objects."""
    import json

    from .variant import Variant

    try:
        items = json.loads(text)
    except ValueError as e:
        raise ValueError(f"--variants is not JSON ({e})") from None
    if not isinstance(items, list) or not items:
        raise ValueError('--variants must be a non-empty JSON list of {"method": ..., "options": {...}}')
    out = []
    for i, item in enumerate(items):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("method"), str)
            or set(item) - {"method", "options", "label"}
        ):
            raise ValueError(
                f'--variants[{i}] must be an object with "method" (a name) and optionally "options" '
                f'and "label", got {item!r}'
            )
        if not isinstance(item.get("options") or {}, dict):
            raise ValueError(f"--variants[{i}].options must be an object, got {item['options']!r}")
        out.append(Variant.from_config(item))
    return out


def _several(a) -> list | None:
    """The variants of ``--variants`` (None: one variant, ``--method`` with ``--option``/``--label``);
    either, never both."""
    if a.variants is None:
        if not a.method:
            raise ValueError("the following arguments are required: --method (or --variants)")
        return None
    if a.method or a.option or a.label:
        raise ValueError("give the variants once: --variants, or --method with --option/--label")
    return _variants(a.variants)


# each command: the parsed arguments as plain values, one library call; what it returns is printed
# ((code, text) sets the exit code)
def _run(a):
    from . import experiment

    settings = _settings(a)
    seeds = a.seeds or [settings.pop("seed", 0)]
    if a.seeds and "seed" in settings:
        raise ValueError("give the seed once: --seed/--seeds or --set seed=, not both")
    settings.pop("seed", None)
    kw = dict(task_label=a.task_label, memory_budget_bytes=a.memory_budget_bytes, fidelity=not a.no_fidelity)
    kw["keep_dir"] = a.keep_dir
    variants = _several(a)
    if variants is not None:
        recs = experiment.run_variants(a.task, settings, variants, seeds, a.out, a.samples_out, **kw)
        return f"{len(recs)} records"
    recs = experiment.run_seeds(a.task, settings, _variant(a), seeds, a.out, a.samples_out, **kw)
    return "\n".join(experiment.summary(r) for r in recs) if len(recs) == 1 else f"{len(recs)} records"


def _sweep(a):
    from .sweep import sweep, sweep_variants

    settings = dict(_settings(a), seed=a.seed, iterations=a.iterations)
    kw = dict(task_label=a.task_label, memory_budget_bytes=a.memory_budget_bytes)
    variants = _several(a)
    if variants is not None:
        recs = sweep_variants(a.task, settings, variants, a.steps, a.out, **kw)
        return f"{a.task}: {len(recs)} records"
    recs = sweep(a.task, settings, _variant(a), a.steps, a.out, **kw)
    return f"{a.task} {recs[0]['variant']}: {len(recs)} records"


def _cost(a):
    from . import cost

    settings = pairs(a.set, "--set")
    kw = dict(label=a.label, dtype=a.dtype, batch=a.batch, attention=a.attention, settings=settings)
    kw["extrapolate"] = a.extrapolate
    variants = _several(a)
    if variants is not None:
        kw.update(label=None, variants=variants)
        return cost.run(a.task, None, {}, a.steps, as_json=a.json, out=a.out, **kw)
    if a.out and len(a.out) > 1:
        raise ValueError(f"--out: one file for one variant, got {len(a.out)} (several: --variants)")
    out = a.out[0] if a.out else None
    return cost.run(a.task, a.method, pairs(a.option, "--option"), a.steps, as_json=a.json, out=out, **kw)


def _gradcheck(a):
    from .gradcheck import text

    return text(a.task, steps=a.steps, seed=a.seed, dtype=a.dtype)


def _regress(a):
    from .regress import check

    return check(Path(a.baseline), a.tolerance, a.update, Path(a.save) if a.save else None)


def _report(a):
    from .report import write

    return write(a.what, a.records, a.sweeps, a.out, a.reference, a.costs, a.benchmarks, a.reward_margin)


def _train_model(a):
    from .tasks.digits.model import train_summary

    return train_summary(a.out, a.steps, a.batch, a.seed)


def _train_classifier(a):
    from .tasks.digits.classifier import train_summary

    return train_summary(a.which, a.out, a.epochs)


def _evaluate_model(a):
    from .tasks.digits.model_quality import summary

    return summary(a.weights, a.out, a.grid, a.samples)


def _build_tiny(a):
    from .tasks.stable_diffusion.tiny import build_all

    return build_all(Path(a.sd_out), Path(a.clip_out), seed=a.seed)


def _list(a):
    from .listing import text

    return text()


def _progress(a):
    from .progress import line

    return line(a.family)


HANDLERS = {
    "list": _list, "run": _run, "sweep": _sweep, "cost": _cost, "gradcheck": _gradcheck,
    "regress": _regress, "report": _report, "train-model": _train_model,
    "train-classifier": _train_classifier, "evaluate-model": _evaluate_model, "progress": _progress,
    "build-tiny": _build_tiny,
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        out = HANDLERS[args.command](args)
    except (ValueError, FileNotFoundError) as e:
        print(f"sdo-bench: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    code, text = out if isinstance(out, tuple) else (0, out)
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
