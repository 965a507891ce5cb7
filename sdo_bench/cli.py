"""The ``sdo-bench`` command line (docs/design.md §5): parses arguments, calls one library function, prints.

Bad input: one line on stderr, exit code 2. A run that fails, runs out of memory or diverges still writes
its record (with that status) and exits 0. ``--set``/``--option`` values: JSON or strings (:mod:`.values`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from .values import integer as _int
from .values import pairs

DTYPES = ["float32", "float64", "float16", "bfloat16"]
PAIR = dict(action="append", default=[], metavar="KEY=VALUE")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


# the argument tables, one argument a line
# fmt: off
REQ, SEED = dict(required=True), ("--seed", dict(type=_int("--seed"), default=0))
VARIANT = [("--task", REQ), ("--method", REQ), ("--label", dict(help="the variant's name in tables")),
           ("--option", dict(PAIR, help="a method option, repeatable (e.g. --option step=first)")),
           ("--set", dict(PAIR, help="a task setting (e.g. --set batch=8 --set lr=0.1)"))]
RUN = VARIANT + [SEED, ("--dtype", dict(choices=DTYPES)), ("--device", dict(help="cpu, cuda or cuda:N")),
                 ("--task-label", dict(help="the task's name in tables (default: the task name)")),
                 ("--memory-budget-bytes", dict(type=_int("--memory-budget-bytes", 1),
                                                help="mark the run oom when its graph bytes exceed this"))]
COMMANDS = {  # name: (help, [(flag, argparse keywords)])
    "list": ("tasks, methods and their options", []),
    "run": ("one optimization run, one record", RUN + [
        ("--steps", dict(type=_int("--steps", 1))), ("--iterations", dict(type=_int("--iterations", 1))),
        ("--no-fidelity", dict(action="store_true", help="skip the comparison with bptt")),
        ("--out", dict(help="record path (JSON, written atomically)")),
        ("--samples-out", dict(help="also save images before/after optimization (.npz)")),
        ("--seeds", dict(type=_int("--seeds"), nargs="+", help="several seeds in one process (--out-dir)")),
        ("--out-dir", dict(help="with --seeds: OUT_DIR/seed<S>.json and .npz; existing ones are kept"))]),
    "sweep": ("one run per number of steps N, in one process, one record each", RUN + [
        ("--steps", dict(type=_int("--steps", 1), nargs="+", required=True, help="values of N")),
        ("--iterations", dict(type=_int("--iterations", 1), default=3)),
        ("--out-dir", dict(REQ, help="the record of N goes to OUT_DIR/N<N>.json"))]),
    "cost": ("predicted peak memory and FLOPs of one gradient (fake tensors, no weights, no GPU)", VARIANT + [
        ("--steps", dict(type=_int("--steps", 1), nargs="+", required=True, help="values of N")),
        ("--dtype", dict(default="float16", help="float16 (default), bfloat16 or float32")),
        ("--batch", dict(type=_int("--batch", 1))), ("--attention", dict(default="flash", help="flash|math")),
        ("--json", dict(action="store_true")), ("--out", dict(help="also write the rows to a JSON file"))]),
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
        ("--reference", dict(default="bptt", help="variant label ratios are taken against"))]),
    "train-model": ("train the digits UNet (save_pretrained to OUT/unet)", [
        ("--out", REQ), ("--steps", dict(type=_int("--steps", 1), default=2000)),
        ("--batch", dict(type=_int("--batch", 1), default=128)), SEED]),
    "train-classifier": ("train the reward classifier and the judge", [
        ("--out", dict(REQ, help="weights directory (classifier.pt, judge.pt)")),
        ("--which", dict(choices=["reward", "judge", "both"], default="both")),
        ("--epochs", dict(type=_int("--epochs", 1), default=30))]),
    "evaluate-model": ("judge the trained digits model; write a sample grid", [
        ("--weights", REQ), ("--out", dict(REQ, help="directory for the results")),
        ("--samples", dict(type=_int("--samples", 1), default=500))]),
    "progress": ("runs done and time left per rule family of a running workflow", [
        ("family", dict(choices=["runs", "sweeps", "cost"]))]),
    "build-tiny": ("build tiny-sd and tiny open_clip checkpoints (random weights, offline) into OUT", [
        ("--out", REQ), SEED]),
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


def _call(target: str, *args, **kwargs):
    """``module:function`` of the library, imported only when its command runs (a fast ``--help``)."""
    module, function = target.split(":")
    return getattr(importlib.import_module(f"sdo_bench.{module}"), function)(*args, **kwargs)


# each command: one library call; what it returns is printed ((code, text) sets the exit code)
# fmt: off
HANDLERS = {
    "run": lambda a: _call("experiment:command", a), "sweep": lambda a: _call("experiment:command", a),
    "list": lambda a: _call("listing:text"),
    "gradcheck": lambda a: _call("experiment:gradcheck_text", a.task, steps=a.steps, seed=a.seed,
                                 dtype=a.dtype),
    "regress": lambda a: _call("regress:check", Path(a.baseline), a.tolerance, a.update, a.save),
    "report": lambda a: _call("report:write", a.what, a.records, a.sweeps, a.out, a.reference, a.costs,
                              a.benchmarks),
    "train-model": lambda a: _call("models.digits:train_summary", a.out, a.steps, a.batch, a.seed),
    "train-classifier": lambda a: _call("rewards.digit_classifier:train_summary", a.which, a.out, a.epochs),
    "evaluate-model": lambda a: _call("worlds.digits.model_quality:summary", a.weights, a.out, a.samples),
    "progress": lambda a: _call("progress:line", a.family),
    "build-tiny": lambda a: _call("models.tiny_sd:build_all", Path(a.out), seed=a.seed),
    "cost": lambda a: _call("cost:run", a.task, a.method, pairs(a.option, "--option"), a.steps,
                            label=a.label, dtype=a.dtype, batch=a.batch, attention=a.attention,
                            settings=pairs(a.set, "--set"), as_json=a.json, out=a.out),
}
# fmt: on


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
