"""The ``sdo-bench`` command line (DESIGN §5).

    sdo-bench list
    sdo-bench run --task T --method M [--option KEY=VALUE ...] --seed S [--steps N] [--iterations I] --out RECORD.json
    sdo-bench gradcheck --task T [--steps N]
    sdo-bench build-tiny --out DIR      (tiny-sd + tiny open_clip checkpoints, offline)

Bad input ends with one line on stderr and exit code 2; a run that fails, runs out of memory or
diverges still writes its record (with that status) and exits 0 so that a workflow carries on.
"""
from __future__ import annotations

import argparse
import sys

import torch


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _options(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--option {pair!r} must look like KEY=VALUE")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _positive(name):
    def parse(v):
        try:
            i = int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {v!r}") from None
        if i < 1:
            raise argparse.ArgumentTypeError(f"{name} must be >= 1, got {i}")
        return i
    return parse


def _integer(name):
    def parse(v):
        try:
            return int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {v!r}") from None
    return parse


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sdo-bench", description="Gradient methods through diffusion sampling.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("list", help="tasks, methods and their options")

    r = sub.add_parser("run", help="one optimization run, one record")
    r.add_argument("--task", required=True)
    r.add_argument("--method", required=True)
    r.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a method option, repeatable (e.g. --option step=first)")
    r.add_argument("--seed", type=_integer("--seed"), default=0)
    r.add_argument("--steps", type=_positive("--steps"))
    r.add_argument("--iterations", type=_positive("--iterations"))
    r.add_argument("--dtype", choices=["float32", "float64", "float16", "bfloat16"])
    r.add_argument("--device", help="cpu (default), cuda or cuda:N")
    r.add_argument("--memory-budget-bytes", type=_positive("--memory-budget-bytes"),
                   help="mark the run oom when its graph bytes exceed this")
    r.add_argument("--no-fidelity", action="store_true",
                   help="skip the comparison with the exact bptt gradient")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a task setting override (e.g. --set batch=8 --set lr=0.1)")
    r.add_argument("--out", required=True, help="record path (JSON, written atomically)")
    r.add_argument("--samples-out", help="also save images before/after optimization (.npz)")

    sw = sub.add_parser("sweep", help="one run per number of steps N, in one process, one record each")
    sw.add_argument("--task", required=True)
    sw.add_argument("--method", required=True)
    sw.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    sw.add_argument("--seed", type=_integer("--seed"), default=0)
    sw.add_argument("--steps", type=_positive("--steps"), nargs="+", required=True,
                    help="values of N; the record of N goes to OUT_DIR/N<N>.json")
    sw.add_argument("--iterations", type=_positive("--iterations"), default=3)
    sw.add_argument("--dtype", choices=["float32", "float64", "float16", "bfloat16"])
    sw.add_argument("--device")
    sw.add_argument("--memory-budget-bytes", type=_positive("--memory-budget-bytes"))
    sw.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    sw.add_argument("--out-dir", required=True)

    rg = sub.add_parser("regress", help="compare a fresh performance measurement with the baseline")
    rg.add_argument("--baseline", default="benchmarks/baseline.json")
    rg.add_argument("--tolerance", type=float, default=0.2,
                    help="largest allowed growth of a time ratio (0.2 = 20%%)")
    rg.add_argument("--update", action="store_true", help="rewrite the baseline with this measurement")
    rg.add_argument("--save", help="also write the fresh measurement to this JSON file")

    tm = sub.add_parser("train-model", help="train the digits UNet (save_pretrained to OUT/unet)")
    tm.add_argument("--out", required=True, help="weights directory (the UNet goes to OUT/unet)")
    tm.add_argument("--steps", type=_positive("--steps"), default=2000)
    tm.add_argument("--batch", type=_positive("--batch"), default=128)
    tm.add_argument("--seed", type=_integer("--seed"), default=0)

    tc = sub.add_parser("train-classifier", help="train the reward classifier and the judge")
    tc.add_argument("--out", required=True, help="weights directory (classifier.pt, judge.pt)")
    tc.add_argument("--which", choices=["reward", "judge", "both"], default="both")
    tc.add_argument("--epochs", type=_positive("--epochs"), default=30)

    ev = sub.add_parser("evaluate-model", help="judge the trained digits model; write a sample grid")
    ev.add_argument("--weights", required=True, help="weights directory")
    ev.add_argument("--out", required=True, help="directory for model_quality.json and the grid")
    ev.add_argument("--samples", type=_positive("--samples"), default=500)

    bt = sub.add_parser("build-tiny", help="build tiny-sd and the tiny open_clip checkpoints (random "
                        "weights, offline) into OUT/tiny-sd and OUT/tiny-clip")
    bt.add_argument("--out", required=True)
    bt.add_argument("--seed", type=_integer("--seed"), default=0)

    rp = sub.add_parser("report", help="tables or figures from run records")
    rp.add_argument("what", choices=["tables", "figures"])
    rp.add_argument("--records", nargs="*", default=[], help="main-run record files")
    rp.add_argument("--sweeps", nargs="*", default=[], help="sweep record files (figures)")
    rp.add_argument("--out", required=True, help="output directory")
    rp.add_argument("--reference", default="bptt", help="method label ratios are taken against")

    g = sub.add_parser("gradcheck", help="every method's gradient against bptt on one task")
    g.add_argument("--task", required=True)
    g.add_argument("--steps", type=_positive("--steps"))
    g.add_argument("--seed", type=_integer("--seed"), default=0)
    g.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    return p


def _coerce(value: str):
    """A --set value: int, float, true/false, a JSON list (e.g. prompts=["a cat", "a dog"]), else the string."""
    import json

    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value.startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"--set value {value!r} is not a valid JSON list ({e})") from None
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            pass
    return value


def _short(v) -> str:
    if isinstance(v, list):
        return f"[{len(v)} items]"
    return repr(v) if isinstance(v, str) else str(v)


def cmd_list() -> int:
    from . import methods, tasks

    print("tasks:")
    for name in tasks.names():
        s = tasks.spec(name)
        print(f"  {name:24s} {s.description}")
        shown = [f"{k}={_short(v)}" for k, v in s.defaults.items()]
        print(f"      options (--set KEY=VALUE): {', '.join(shown)}; also "
              f"{', '.join(k for k in tasks.COMMON_OVERRIDES if k not in s.defaults)}")
    print("methods:")
    for name, cls in methods.REGISTRY.items():
        print(f"  {name}")
        for key, opt in cls.options.items():
            print(f"      {key} (default {opt.default!r}): {opt.help}")
    return 0


def cmd_run(args) -> int:
    from . import experiment
    from .records import check_writable

    check_writable(args.out)
    if args.samples_out:
        check_writable(args.samples_out)
    overrides = {k: _coerce(v) for k, v in _options(args.set).items()}
    built = experiment.prepare(args.task, args.method, _options(args.option), seed=args.seed,
                               steps=args.steps, iterations=args.iterations, dtype=args.dtype,
                               device=args.device, task_overrides=overrides)
    rec = experiment.run(args.task, args.method, built=built, memory_budget_bytes=args.memory_budget_bytes,
                         fidelity=not args.no_fidelity, out=args.out, samples_out=args.samples_out)
    line = f"{rec['task']} {rec['method']} seed={rec['seed']}: {rec['status']}"
    if rec["status"] == "ok":
        line += f", reward {rec['reward_init']:.4g} -> {rec['reward_final']:.4g}"
    elif rec["error"]:
        line += f" ({rec['error'].splitlines()[0][:200]})"
    print(line)
    return 0


def cmd_gradcheck(args) -> int:
    from . import methods, tasks

    task = tasks.build(args.task, steps=args.steps, seed=args.seed, dtype=args.dtype)
    exact = methods.build("bptt").gradient(task)
    e = torch.cat([g.reshape(-1).double() for g in exact.grads])
    print(f"{args.task}: N={task.steps}, dtype={args.dtype}, |grad bptt| = {float(e.norm()):.4e}")
    print(f"{'method':22s} {'status':15s} {'rel. error':>11s} {'cosine':>8s} {'nfe fwd/bwd':>12s} "
          f"{'graph bytes':>12s}")
    variants = [("bptt", {}), ("checkpoint", {}), ("truncated", {"k": 1}),
                ("truncated", {"k": task.steps}), ("adjoint", {}), ("sdo", {}),
                ("sdo", {"step": "last"})]
    for name, opts in variants:
        res = methods.build(name, **opts).gradient(task)
        label = name + ("" if not opts else "(" + ",".join(f"{k}={v}" for k, v in opts.items()) + ")")
        if res.status != "ok":
            print(f"{label:22s} {res.status:15s}")
            continue
        g = torch.cat([x.reshape(-1).double() for x in res.grads])
        rel = float((g - e).norm() / e.norm())
        cos = float(g @ e / (g.norm() * e.norm()))
        print(f"{label:22s} {res.status:15s} {rel:11.3e} {cos:8.4f} "
              f"{res.nfe_forward:>5d}/{res.nfe_backward:<6d} {res.graph_bytes:12d}")
    return 0


def cmd_sweep(args) -> int:
    from pathlib import Path

    from . import experiment
    from .records import check_writable

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_writable(out_dir / "probe.json")
    overrides = {k: _coerce(v) for k, v in _options(args.set).items()}

    def prepare(n):
        return experiment.prepare(args.task, args.method, _options(args.option), seed=args.seed,
                                  steps=n, iterations=args.iterations, dtype=args.dtype,
                                  device=args.device, task_overrides=overrides)

    # one unrecorded gradient at the smallest N first, so that one-time allocations (lazy module
    # init, allocator arenas) do not land in the first N's peak-memory figure
    warm_task, warm_method = prepare(min(args.steps))
    try:
        warm_method.gradient(warm_task)
    except Exception:  # noqa: BLE001 - the recorded runs below record any failure
        pass
    del warm_task, warm_method
    for n in args.steps:  # bad input raises in prepare(), before that N's record is written
        rec = experiment.run(args.task, args.method, built=prepare(n), out=out_dir / f"N{n}.json",
                             memory_budget_bytes=args.memory_budget_bytes)
        print(f"{args.task} {args.method} N={n}: {rec['status']}", flush=True)
    return 0


def cmd_regress(args) -> int:
    from pathlib import Path

    from . import regress

    path = Path(args.baseline)
    if args.tolerance <= 0:
        raise ValueError(f"--tolerance must be > 0, got {args.tolerance}")
    baseline = None if args.update else regress.load(path)
    # the baseline is the median of three measurements; a check takes the better of two, so that a
    # regression must show in both while one disturbed measurement does not fail the check
    runs = [regress.measure() for _ in range(3 if args.update else 2)]
    fresh = regress.combine(runs, "median" if args.update else "min")
    if args.save:
        regress.write(Path(args.save), fresh)
    if args.update:
        regress.write(path, fresh)
        print(f"baseline written to {path} ({len(fresh['cases'])} entries)")
        return 0
    ok, rows = regress.compare(fresh, baseline, args.tolerance)
    print(regress.format_rows(rows))
    print(f"regression check: {'PASS' if ok else 'FAIL'} (tolerance {args.tolerance:.0%}; baseline "
          f"from {baseline['machine']['device_name']})")
    return 0 if ok else 1


def cmd_train_model(args) -> int:
    from pathlib import Path

    from .models.digits import train_model

    info = train_model(Path(args.out) / "unet", steps=args.steps, batch=args.batch, seed=args.seed)
    print(f"trained digits UNet ({info['parameters']} parameters) in {info['train_seconds']:.0f} s; "
          f"final loss {info['loss_log'][-1]['loss']:.4f}; saved to {Path(args.out) / 'unet'}")
    return 0


def cmd_train_classifier(args) -> int:
    from .rewards.digit_classifier import train_classifier

    for kind in (["reward", "judge"] if args.which == "both" else [args.which]):
        info = train_classifier(kind, args.out, epochs=args.epochs)
        print(f"trained {kind} classifier {info['arch']} in {info['train_seconds']:.0f} s; "
              f"held-out accuracy {info['held_out_accuracy']:.4f}")
    return 0


def cmd_build_tiny(args) -> int:
    from pathlib import Path

    from .models import tiny_sd
    from .rewards import clip_models

    out = Path(args.out)
    sd_dir = tiny_sd.ensure(out / "tiny-sd", seed=args.seed)
    clip_dir = clip_models.ensure_tiny(out / "tiny-clip", seed=args.seed)
    print(f"tiny-sd in {sd_dir} (use --set weights_dir={sd_dir}); tiny open_clip checkpoints in "
          f"{clip_dir} (--set reward_dir={clip_dir})")
    return 0


def cmd_evaluate_model(args) -> int:
    import json

    from .model_quality import evaluate

    print(json.dumps(evaluate(args.weights, args.out, n=args.samples), indent=1))
    return 0


def cmd_report(args) -> int:
    from pathlib import Path

    from .report import figures as F
    from .report.load import load_records
    from .report.tables import write_tables

    for p in [*args.records, *args.sweeps]:
        if not Path(p).is_file():
            raise ValueError(f"record {p} does not exist")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df = load_records(args.records)
    if args.what == "tables":
        if df.empty:
            raise ValueError("no records given (--records)")
        table = write_tables(df, out, args.reference)
        print(f"wrote {out}/main.{{csv,md,tex}} and {out}/claims.md ({len(table)} rows)")
        return 0
    for task in dict.fromkeys(df.task) if not df.empty else []:
        F.reward_curves(df, task, "iter", out / f"reward_vs_iter_{task}.png")
        F.reward_curves(df, task, "time", out / f"reward_vs_time_{task}.png")
        F.samples(df, task, out / f"samples_{task}.png")
    sw = load_records(args.sweeps)
    for task in dict.fromkeys(sw.task) if not sw.empty else []:
        F.scaling(sw, task, out / f"scaling_{task}.png")
        F.fidelity(sw, task, out / f"fidelity_{task}.png")
    print(f"wrote figures to {out}")
    return 0


COMMANDS = {"report": cmd_report, "sweep": cmd_sweep, "regress": cmd_regress, "list": lambda a: cmd_list(), "run": cmd_run, "gradcheck": cmd_gradcheck,
            "train-model": cmd_train_model, "train-classifier": cmd_train_classifier,
            "evaluate-model": cmd_evaluate_model, "build-tiny": cmd_build_tiny}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError) as e:
        print(f"sdo-bench: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
