# Helpers: method variants and their labels, target files, and checks of the config against the
# names the library knows (so that a typo stops the workflow before any job starts).
import json
import os
import shlex

import sdo_bench


def variant_label(variant):
    if "label" in variant:
        return variant["label"]
    opts = variant.get("options") or {}
    return variant["method"] + "".join(f"-{k}={v}" for k, v in sorted(opts.items()))


def task_option_names(name):
    spec = sdo_bench.tasks.spec(name)
    return set(spec.defaults) | set(sdo_bench.tasks.COMMON_OVERRIDES)


def _check_config():
    known_tasks = sdo_bench.tasks.names()
    seen = set()
    for i, entry in enumerate(config["tasks"]):
        name = entry["task"]
        if name not in known_tasks:
            raise ValueError(f"config key tasks[{i}].task: unknown task {name!r}; valid choices: "
                             + ", ".join(known_tasks))
        if name in seen:
            raise ValueError(f"config key tasks[{i}].task: {name!r} listed twice")
        seen.add(name)
        valid = task_option_names(name)
        for key in entry.get("options") or {}:
            if key not in valid:
                raise ValueError(f"config key tasks[{i}].options.{key}: task {name!r} has no option "
                                 f"{key!r}; valid choices: " + ", ".join(sorted(valid)))
    for key in config.get("task_options") or {}:
        if not any(key in task_option_names(e["task"]) for e in config["tasks"]):
            raise ValueError(f"config key task_options.{key}: no task in `tasks` has option {key!r}")
    labels = {}
    for i, v in enumerate(config["methods"]):
        try:
            sdo_bench.methods.build(v["method"], **(v.get("options") or {}))
        except ValueError as e:
            raise ValueError(f"config key methods[{i}] ({v['method']}): {e}") from None
        label = variant_label(v)
        if label in labels:
            raise ValueError(f"config key methods[{i}]: label {label!r} used twice; set `label`")
        labels[label] = v
    sweeps = config.get("sweeps") or {}
    for name in sweeps.get("tasks", []):
        if name not in known_tasks:
            raise ValueError(f"config key sweeps.tasks: unknown task {name!r}; valid choices: "
                             + ", ".join(known_tasks))
    for label in sweeps.get("methods", []):
        if label not in labels:
            raise ValueError(f"config key sweeps.methods: unknown method label {label!r}; valid "
                             "choices: " + ", ".join(labels))
    ref = (config.get("report") or {}).get("reference_method", "bptt")
    if ref not in labels:
        raise ValueError(f"config key report.reference_method: {ref!r} is not a method label; "
                         "valid choices: " + ", ".join(labels))
    return labels


VARIANTS = _check_config()
TASKS = {entry["task"]: {k: v for k, v in entry.items() if k != "task"} for entry in config["tasks"]}
SEEDS = config.get("seeds", [0, 1, 2])
WEIGHTS = config.get("weights_dir", "sdo_bench/assets/digits")
SWEEPS = config.get("sweeps") or {}
SWEEP_TASKS = SWEEPS.get("tasks", [])
SWEEP_STEPS = SWEEPS.get("steps", [10, 20, 50, 100, 200])
SWEEP_VARIANTS = SWEEPS.get("methods") or list(VARIANTS)
REFERENCE = (config.get("report") or {}).get("reference_method", "bptt")
TINY_SD, TINY_CLIP = "results/models/tiny-sd", "results/models/tiny-clip"
DIGITS_WEIGHTS = [f"{WEIGHTS}/unet/config.json", f"{WEIGHTS}/classifier.pt", f"{WEIGHTS}/judge.pt"]

wildcard_constraints:
    task="[a-z0-9]+(-[a-z0-9.]+)*",
    variant="[A-Za-z0-9_.=-]+",
    seed=r"\d+",
    steps=r"\d+",


def run_records():
    return expand("results/raw/{task}/{variant}/seed{seed}.json", task=list(TASKS),
                  variant=list(VARIANTS), seed=SEEDS)


def sweep_records():
    return expand("results/sweeps/{task}/{variant}/N{steps}.json", task=SWEEP_TASKS,
                  variant=SWEEP_VARIANTS, steps=SWEEP_STEPS)



def weights_for(wildcards):
    if wildcards.task.startswith("digits"):
        return DIGITS_WEIGHTS
    if wildcards.task.startswith("tiny-sd"):
        settings = task_settings(wildcards.task)
        return [f"{settings['weights_dir']}/model_index.json",
                f"{settings['reward_dir']}/aesthetic_head.pth"]
    return []


def method_args(variant):
    v = VARIANTS[variant]
    opts = v.get("options") or {}
    return " ".join([f"--method {v['method']}"] + [f"--option {k}={val}" for k, val in opts.items()])


def common_args(task):
    args = [f"--device {config.get('device', 'cpu')}", f"--dtype {config.get('dtype', 'float32')}"]
    if config.get("memory_budget_bytes"):
        args.append(f"--memory-budget-bytes {config['memory_budget_bytes']}")
    if task.startswith("digits"):
        args.append(f"--set weights_dir={WEIGHTS}")
    return " ".join(args)


def task_settings(task):
    """The task's settings from the config: shared task_options it accepts, then its own entry."""
    valid = task_option_names(task)
    settings = {k: v for k, v in (config.get("task_options") or {}).items() if k in valid}
    entry = dict(TASKS.get(task) or {})
    settings.update(entry.pop("options", None) or {})
    settings.update(entry)
    if task.startswith("tiny-sd"):  # built by the build_tiny rule unless the config points elsewhere
        settings.setdefault("weights_dir", TINY_SD)
        settings.setdefault("reward_dir", TINY_CLIP)
    return settings


def _set_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return str(v)


def task_args(task, sweep=False):
    """Command-line arguments for the task's settings (a sweep sets steps and iterations itself)."""
    settings = task_settings(task)
    out = []
    for key in ("steps", "iterations"):
        if key in settings:
            value = settings.pop(key)
            if not sweep:
                out.append(f"--{key} {value}")
    out += [f"--set {shlex.quote(f'{k}={_set_value(v)}')}" for k, v in settings.items()]
    return " ".join(out)


def figure_outputs():
    tasks = list(TASKS)
    out = expand("figures/{kind}_{task}.png", kind=["reward_vs_iter", "reward_vs_time", "samples"],
                 task=tasks)
    out += expand("figures/{kind}_{task}.png", kind=["scaling", "fidelity"], task=SWEEP_TASKS)
    return out


def all_outputs():
    out = ["results/tables/main.csv", "results/tables/main.md", "results/tables/main.tex",
           "results/tables/claims.md"] + figure_outputs()
    if any(t.startswith("digits") for t in list(TASKS) + SWEEP_TASKS):
        out.append("results/model/model_quality.json")
    return out
