"""How the parameter targets' default regularizers were chosen (README, "Regularized parameter
targets"): ``bptt`` on digits-condition, digits-lora and digits-weights as the default config runs them
(N = 10, 10 iterations, 64 judge samples), for each regularizer kind and weight of the grid, over
seeds 0-2; one JSON line per run with the final reward and the judge's p(a digit) and p(3).

    OMP_NUM_THREADS=1 python benchmarks/select_regularizer.py > selection.jsonl
    OMP_NUM_THREADS=1 python benchmarks/select_regularizer.py pretrain lora weights   # one kind, two targets

A default keeps every seed's judge p(a digit) >= 0.8 at the least cost in reward. Arguments: the
regularizer kinds and the targets to run (default: the whole grid)."""

import json
import sys

import torch

from sdo_bench import tasks
from sdo_bench.experiment import runner as experiment
from sdo_bench.spec.variant import Variant

GRID = [
    ("none", 0.0),
    ("kl", 1000.0),
    ("kl", 3000.0),
    ("kl", 10000.0),
    ("pretrain", 300.0),
    ("pretrain", 1000.0),
    ("pretrain", 3000.0),
    ("pretrain", 10000.0),
]
TARGETS = ("condition", "lora", "weights")
SEEDS = (0, 1, 2)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--summary"]:
        return summary(argv[1:])
    torch.set_num_threads(1)
    kinds = [a for a in argv if a in {k for k, _ in GRID}] or [k for k, _ in GRID]
    targets = [a for a in argv if a in TARGETS] or list(TARGETS)
    for target in targets:
        for regularizer, weight in [(k, w) for k, w in GRID if k in kinds]:
            for seed in SEEDS:
                task = tasks.build(f"digits-{target}", steps=10, iterations=10, seed=seed, judge_samples=64,
                                   regularizer=regularizer, regularizer_weight=weight)  # fmt: skip
                rec = experiment.run(task, Variant("bptt"), progress=False, fidelity=False)
                judge = rec["judge"] or {}
                prov = rec["provenance"]
                print(json.dumps({
                    "commit": prov["git_commit"], "dirty": prov.get("git_dirty"),
                    "cpu": prov.get("cpu_model"),
                    "task": f"digits-{target}", "regularizer": regularizer, "weight": weight, "seed": seed,
                    "status": rec["status"], "reward_final": rec["reward_final"],
                    "regularizer_final": rec["regularizer_final"],
                    "judge_real_prob": judge.get("judge_real_prob"),
                    "judge_target_prob": judge.get("judge_target_prob"),
                }), flush=True)  # fmt: skip


#: the rule a default meets: the judge calls bptt's final samples digits on every seed
MIN_DIGIT_PROB = 0.8


def summary(paths: list[str]) -> None:
    """The grid's JSON lines as Markdown: per target, each kind and weight with p(a digit) per seed and
    the mean final reward, the default the rule picks (every seed >= MIN_DIGIT_PROB, then the best mean
    reward), and the commit and machine the runs came from."""
    import collections

    rows = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    cells = collections.defaultdict(list)
    for r in rows:
        cells[(r["task"], r["regularizer"], r["weight"])].append(r)
    grid = list(dict.fromkeys((k, w) for _, k, w in cells))
    head = (
        "| target | "
        + " | ".join(f"`{k}` {w:g}" if k != "none" else "none" for k, w in grid)
        + " | default |"
    )
    lines = [
        "# How the parameter targets' default regularizers were chosen",
        "",
        "Written by `python benchmarks/select_regularizer.py --summary` from the grid's runs: `bptt` on",
        "each target, N = 10, 10 iterations, 64 judge samples, seeds 0-2. Each cell: the judge's p(a digit)",
        f"per seed and, in brackets, the mean final reward. A default keeps p(a digit) >= {MIN_DIGIT_PROB}",
        "on every seed at the least cost in reward.",
        "",
        head,
        "|" + "---|" * (len(grid) + 2),
    ]
    for task in dict.fromkeys(t for t, _, _ in cells):
        out, best = [], None
        for k, w in grid:
            runs = cells.get((task, k, w), [])
            if not runs:
                out.append("–")
                continue
            probs = [r["judge_real_prob"] for r in runs]
            reward = sum(r["reward_final"] for r in runs) / len(runs)
            out.append(" ".join(f"{p:.2f}" for p in probs) + f" ({reward:+.2f})")
            if (
                k != "none"
                and len(runs) == 3
                and min(probs) >= MIN_DIGIT_PROB
                and (best is None or reward > best[2])
            ):
                best = (k, w, reward)
        default = f"`{best[0]}` {best[1]:g}" if best else "none meets the rule"
        lines.append(f"| {task.removeprefix('digits-')} | " + " | ".join(out) + f" | {default} |")
    commits = sorted(
        {(r.get("commit") or "?")[:12] + (" (uncommitted changes)" if r.get("dirty") else "") for r in rows}
    )
    machines = sorted({r.get("cpu") or "?" for r in rows})
    lines += [
        "",
        f"Runs (`benchmarks/regularizer_selection.jsonl`, one JSON line each) of commit "
        f"{', '.join(commits)} on {', '.join(machines)}.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
