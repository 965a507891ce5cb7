"""The ``sdo-bench`` command line (docs/design.md §5). It owns the command line and nothing else: each
command is a function here that turns the parsed arguments into plain values and calls one library
function (imported inside it, so that ``--help`` and ``list`` load no torch), then prints what it
returns. Values are checked by the modules that own them (:mod:`.settings`, the registries).

Bad input: one line on stderr, exit code 2. A run that fails, runs out of memory or diverges still writes
its record (with that status) and exits 0, or 1 with ``--strict``; ``compare`` and ``regress`` exit 1 on a
regression. Task and method names are checked before torch is imported (:func:`.listing.check_names`).
Every command that prints results takes ``--json``. ``--set``/``--option`` values: JSON or strings
(:mod:`.values`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..spec.values import pairs
from .arguments import COMMANDS


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Version(argparse.Action):
    """``--version``: the version and commit (:mod:`.buildinfo`, asked only when the flag is given)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from ..records.buildinfo import text

        print(text())
        parser.exit(0)


class _Help(argparse.HelpFormatter):
    """Each flag's help with its default, where it has one that means something (not None, an empty
    list or an off switch) and the help does not say it already."""

    def _get_help_string(self, action):
        text = action.help or ""
        d = action.default
        if d in (None, [], False, argparse.SUPPRESS) or "default" in text or action.option_strings == []:
            return text
        return f"{text} (default: %(default)s)"


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sdo-bench",
        description="Gradient methods through diffusion sampling: runs, sweeps, "
        "the cost model, comparisons and reports (docs/design.md).",
        formatter_class=_Help,
    )
    p.add_argument("--version", action=_Version, help="print the version and the commit, and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for name, (text, arguments) in COMMANDS.items():
        s = sub.add_parser(name, help=text, description=text, formatter_class=_Help)
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
    from ..spec.variant import Variant

    for flag, value in (("--label", a.label), ("--task-label", getattr(a, "task_label", None))):
        if value is not None and not value.strip():
            raise ValueError(f"{flag} is empty; give a name, or leave it out for the default")
    return Variant(a.method, pairs(a.option, "--option"), a.label)


def _variants(text: str) -> list:
    """``--variants``: a JSON list of ``{"method", "options", "label"}`` objects."""
    import json

    from ..spec.variant import from_list

    try:
        items = json.loads(text)
    except ValueError as e:
        raise ValueError(f"--variants is not JSON ({e})") from None
    return from_list(items)


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
def _names(a) -> None:
    """The task and method names, checked before anything imports torch."""
    from .listing import check_names

    methods = [a.method] if getattr(a, "method", None) else []
    if getattr(a, "variants", None):
        methods = [v.method for v in _variants(a.variants)]
    check_names(a.task, methods)


def _records_out(a, recs: list[dict], text: str):
    """A run's or sweep's answer: the text or (``--json``) each record's summary; with ``--strict`` exit
    code 1 when any run failed, ran out of memory or diverged."""
    from ..records.io import FAILED, brief

    failed = [r for r in recs if r["status"] in FAILED]
    if a.json:
        import json

        text = json.dumps([brief(r) for r in recs], indent=1)
    elif failed:
        text += f"\n{len(failed)} of {len(recs)} runs did not finish: " + ", ".join(
            f"{r['variant']} seed {r['seed']} N={r['steps']} {r['status']}" for r in failed
        )
    return (1 if a.strict and failed else 0), text


#: the flags of ``run`` that describe the job, which ``--spec`` gives instead
_JOB_FLAGS = ("task", "method", "variants", "label", "option", "set", "dtype", "device", "task_label",
              "memory_budget_bytes", "steps", "iterations", "seeds", "no_fidelity", "out", "samples_out",
              "keep_dir", "log_dir")  # fmt: skip


def _job_spec(a):
    """``--spec JSON`` (or ``@FILE``) as a :class:`~sdo_bench.spec.job.RunJob`, given alone."""
    from ..spec.job import RunJob

    given = [f"--{k.replace('_', '-')}" for k in _JOB_FLAGS if getattr(a, k) not in (None, [], False)]
    if given:
        raise ValueError(f"give the job once: --spec, or the flags ({', '.join(given)}), not both")
    text = a.spec
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text()
        except (OSError, UnicodeError) as e:
            raise ValueError(f"--spec {a.spec}: cannot read {path} ({e.strerror or e})") from None
    return RunJob.from_json(text)


def _run(a):
    if a.spec is not None:
        job = _job_spec(a)
        from .listing import check_names

        check_names(job.task, [v.method for v in job.variants])
        from ..experiment import runner as experiment

        recs = experiment.run_job(job)
        return _records_out(a, recs, f"{len(recs)} records")
    for flag in ("task", "out"):
        if getattr(a, flag) is None:
            raise ValueError(f"the following arguments are required: --{flag} (or --spec)")
    _names(a)
    from ..experiment import runner as experiment

    settings = _settings(a)
    seeds = a.seeds or [settings.pop("seed", 0)]
    if a.seeds and "seed" in settings:
        raise ValueError("give the seed once: --seed/--seeds or --set seed=, not both")
    settings.pop("seed", None)
    kw = dict(task_label=a.task_label, memory_budget_bytes=a.memory_budget_bytes, fidelity=not a.no_fidelity)
    kw.update(keep_dir=a.keep_dir, log_dir=a.log_dir)
    variants = _several(a)
    if variants is not None:
        recs = experiment.run_variants(a.task, settings, variants, seeds, a.out, a.samples_out, **kw)
        return _records_out(a, recs, f"{len(recs)} records")
    recs = experiment.run_seeds(a.task, settings, _variant(a), seeds, a.out, a.samples_out, **kw)
    text = "\n".join(experiment.summary(r) for r in recs) if len(recs) == 1 else f"{len(recs)} records"
    return _records_out(a, recs, text)


def _sweep(a):
    _names(a)
    from ..experiment.sweep import sweep, sweep_variants

    settings = dict(_settings(a), seed=a.seed, iterations=a.iterations)
    kw = dict(task_label=a.task_label, memory_budget_bytes=a.memory_budget_bytes)
    variants = _several(a)
    if variants is not None:
        recs = sweep_variants(a.task, settings, variants, a.steps, a.out, **kw)
        return _records_out(a, recs, f"{a.task}: {len(recs)} records")
    recs = sweep(a.task, settings, _variant(a), a.steps, a.out, **kw)
    return _records_out(a, recs, f"{a.task} {recs[0]['variant']}: {len(recs)} records")


def _cost(a):
    _names(a)
    from ..cost import predict as cost

    settings = pairs(a.set, "--set")
    kw = dict(label=a.label, dtype=a.dtype, batch=a.batch, attention=a.attention, settings=settings)
    kw["extrapolate"] = a.extrapolate
    if a.check:
        kw.update(check_device=a.check_device, check_iterations=a.check_iterations)
    elif a.check_device != "cuda" or a.check_iterations != 3:
        raise ValueError("--check-device and --check-iterations take effect with --check; add --check")
    variants = _several(a)
    if variants is not None:
        kw.update(label=None, variants=variants)
        rows = cost.run(a.task, None, {}, a.steps, out=a.out, **kw)
    else:
        if a.out and len(a.out) > 1:
            raise ValueError(f"--out: one file for one variant, got {len(a.out)} (several: --variants)")
        out = a.out[0] if a.out else None
        rows = cost.run(a.task, a.method, pairs(a.option, "--option"), a.steps, out=out, **kw)
    if a.json:  # one object for one row, else a list; a non-finite number is null
        import json
        import math

        finite = lambda v: None if isinstance(v, float) and not math.isfinite(v) else str(v)
        return json.dumps(rows[0] if len(rows) == 1 else rows, indent=1, default=finite)
    from ..report.cost import format_rows

    return format_rows(rows, checked=a.check)


def _fit(a):
    from .listing import check_names

    check_names(a.task, a.method)
    from ..cost.fit import fit
    from ..spec.variant import Variant

    rows = fit(a.task, [Variant(m) for m in a.method], dtype=a.dtype, batch=a.batch, attention=a.attention,
               settings=pairs(a.set, "--set"), cards=a.card, steps=a.steps)  # fmt: skip
    if a.json:
        import json

        return json.dumps(rows, indent=1)
    cols = ["variant", "card", "max_steps"] + (["max_batch"] if a.steps else []) + ["reserve"]
    head = {"max_steps": "largest N", "max_batch": f"largest batch at N = {a.steps}"}
    lines = [
        f"{a.task}, {a.dtype}, batch {a.batch or 'the task default'}, {a.attention} attention "
        "(PREDICTED on fake tensors; the reserve is what the card needs beyond the tensors)"
    ]
    table = [[head.get(c, c) for c in cols]] + [
        [
            str(r.get(c) if r.get("status") == "ok" or c in ("variant", "card") else r.get("error"))
            for c in cols
        ]
        for r in rows
    ]
    widths = [max(len(x[i]) for x in table) for i in range(len(cols))]
    lines += ["  ".join(x[i].ljust(widths[i]) for i in range(len(cols))) for x in table]
    return "\n".join(lines)


def _gpu_check(a):
    from ..cost import gpu_check

    known = {t for t, _ in (*gpu_check.TINY, *gpu_check.PAPER)}
    for t in a.tasks or []:
        if t not in known:
            raise ValueError(
                f"--tasks: {t!r} is not in the GPU check's plan; valid choices: {', '.join(sorted(known))}"
            )
    result = gpu_check.run(a.device, a.out, a.time_limit, a.iterations, tasks=a.tasks)
    if a.json:
        import json

        from ..records.io import _clean

        return json.dumps(_clean(result), indent=1, default=str)
    return gpu_check.text(result)


def _gradcheck(a):
    _names(a)
    from ..experiment.gradcheck import text

    return text(a.task, steps=a.steps, seed=a.seed, dtype=a.dtype, as_json=a.json)


def _regress(a):
    from ..compare.regress import check

    return check(Path(a.baseline), a.tolerance, a.update, Path(a.save) if a.save else None, as_json=a.json)


def _compare(a):
    from ..compare.folders import command

    return command(a.a, a.b, a.tolerance, as_json=a.json, allow_incomplete=a.allow_incomplete)


def _report(a):
    from ..report import write

    if a.verdict is not None and a.what not in ("tables", "docs"):
        raise ValueError(f"--verdict goes with report tables (written) or docs (copied), not with {a.what}")
    return write(
        a.what,
        a.records,
        a.sweeps,
        a.out,
        a.reference,
        a.costs,
        a.benchmarks,
        a.reward_margin,
        a.checks,
        verdict=a.verdict,
    )


def _train_model(a):
    from ..tasks.digits.model import train_summary

    return train_summary(a.out, a.steps, a.batch, a.seed, a.objective)


def _train_classifier(a):
    from ..tasks.digits.classifier import train_summary

    return train_summary(a.which, a.out, a.epochs)


def _evaluate_model(a):
    from ..tasks.digits.model_quality import summary

    return summary(a.weights, a.out, a.grid, a.samples, a.objective)  # JSON either way


def _build_tiny(a):
    from ..tasks.pipelines import build_tiny

    return build_tiny(a.family, Path(a.sd_out), Path(a.clip_out), seed=a.seed)


def _list(a):
    from .listing import as_json, text

    if a.json:
        import json

        return json.dumps(as_json(), indent=1)
    return text()


def _progress(a):
    from ..pipeline.progress import line, state

    if a.json:
        import json

        return json.dumps(state(a.family), indent=1)
    return line(a.family)


HANDLERS = {
    "list": _list, "run": _run, "sweep": _sweep, "cost": _cost, "fit": _fit, "gpu-check": _gpu_check,
    "gradcheck": _gradcheck, "regress": _regress, "compare": _compare, "report": _report,
    "train-model": _train_model,
    "train-classifier": _train_classifier, "evaluate-model": _evaluate_model, "progress": _progress,
    "build-tiny": _build_tiny,
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.command is None:  # a bare `sdo-bench`: what it can do
        p.print_help()
        return 0
    import warnings

    # a library's warnings (deprecations, a loader's notes) are shown after a command that worked and
    # dropped before an error, whose one line is then all that stderr holds
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            out = HANDLERS[args.command](args)
        except (ValueError, FileNotFoundError) as e:
            print(f"sdo-bench: error: {str(e).splitlines()[0]}", file=sys.stderr)
            return 2
        except OSError as e:  # the last line of defence: the path and what was done to it
            where = f" {e.filename}" if e.filename else ""
            print(
                f"sdo-bench: error: {e.strerror or e}:{where} (while running `{args.command}`)",
                file=sys.stderr,
            )
            return 2
        except UnicodeError as e:
            print(f"sdo-bench: error: text that is not UTF-8 ({e.reason}) while running `{args.command}`",
                  file=sys.stderr)  # fmt: skip
            return 2
    for w in caught:
        sys.stderr.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno))
    code, text = out if isinstance(out, tuple) else (0, out)
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
