"""Every file the workflow makes, by pattern, each written here once: the rules take their ``output:``
and ``benchmark:`` from these names, :class:`sdo_bench.pipeline.plan.Plan` expands them, and the library
writes the tables and figures under the names listed here. A job receives its exact output files from
its rule (``--out``), never a directory plus a naming of its own.

Names only, no torch, pandas or matplotlib: the workflow reads them while it parses, in every job's
own Snakemake on a cluster too.
"""

from __future__ import annotations

#: one record (and the images before and after) per task (or label) x variant x seed
RUN_RECORD = "results/raw/{task}/{variant}/seed{seed}.json"
RUN_SAMPLES = "results/raw/{task}/{variant}/seed{seed}.npz"
#: copies of each finished seed's record and images, outside every job's declared outputs: they
#: survive a job killed after some seeds (Snakemake deletes what a failed job made), and its rerun
#: restores them (``sdo-bench run --keep-dir``)
RUN_KEPT = "results/kept/{task}"
#: one record per swept task x variant x N
SWEEP_RECORD = "results/sweeps/{task}/{variant}/N{steps}.json"
#: the cost model's rows (every N of the grid) per task x variant x dtype
COST_ROWS = "results/cost/{task}/{variant}/{dtype}.json"
#: the same rows checked by a real run (``sdo-bench cost --check``), where the config switches it on
COST_CHECK_ROWS = "results/cost_check/{task}/{variant}/{dtype}.json"

#: Snakemake's ``benchmark:`` files, summed per rule family in the time table (a family is the first
#: folder under the benchmarks' folder, or the rule's own file)
#: one TensorBoard run under ``sdo-bench run --log-dir DIR`` (:mod:`sdo_bench.experiment.live`)
LIVE_RUN = "{log_dir}/{task}/{variant}/seed{seed}"
BENCHMARKS_DIR = "results/benchmarks"
BENCHMARK_RUN = BENCHMARKS_DIR + "/runs/{task}.tsv"
BENCHMARK_SWEEP = BENCHMARKS_DIR + "/sweeps/{task}.tsv"  # one job per swept task
BENCHMARK_COST = BENCHMARKS_DIR + "/cost/{task}.tsv"  # one job per cost task
BENCHMARK_COST_CHECK = BENCHMARKS_DIR + "/cost_check/{task}.tsv"  # one job per checked cost task
BENCHMARK_MODEL = BENCHMARKS_DIR + "/models/{rule}.tsv"
BENCHMARK_REPORT = BENCHMARKS_DIR + "/{rule}.tsv"

#: the answer in a paragraph (:mod:`sdo_bench.report.verdict`), written with the tables
VERDICT = "results/verdict.md"
#: its HTML copy, first in the workflow's report
VERDICT_HTML = "results/verdict.html"
#: the tables (:func:`sdo_bench.report.tables.write_tables`, :func:`sdo_bench.report.cost.write`)
TABLES_DIR = "results/tables"
TABLES = {
    "csv": "main.csv",
    "md": "main.md",
    "tex": "main.tex",
    "claims": "claims.md",
    "html": "main.html",
    "claims_html": "claims.html",
}
#: beside them, where the config has a cost grid
COST_TABLES = {
    "cost_csv": "cost.csv",
    "cost_md": "cost.md",
    "cost_html": "cost.html",
    "oom_md": "oom_map.md",
    "oom_html": "oom_map.html",
}
#: beside them, where the config checks the cost grid (``cost_check``)
CHECK_TABLES = {
    "cost_check_csv": "cost_check.csv",
    "cost_check_md": "cost_check.md",
    "cost_check_html": "cost_check.html",
}
#: ``sdo-bench gpu-check``'s tables (:mod:`sdo_bench.cost.gpu_check`), in the folder it is given
GPU_CHECK_TABLES = {"csv": "gpu_check.csv", "md": "gpu_check.md", "overheads": "gpu_check_overheads.json"}
#: where the time goes (:func:`sdo_bench.report.benchmarks.write`)
TIME_PER_RULE = {"md": "time_per_rule.md", "csv": "time_per_rule.csv", "html": "time_per_rule.html"}

#: figures/<kind>_<task>.png for every task of the main runs, for every swept task, for every cost task
FIGURES_DIR = "figures"
FIGURE = "{kind}_{task}.png"
PER_TASK = ("headline", "reward_vs_iter", "reward_vs_time", "samples")
PER_SWEPT_TASK = ("scaling", "fidelity")
PER_COST_TASK = ("cost_memory",)

#: the models the workflow builds: the digits weights (files inside the config's ``weights_dir``) and
#: the tiny random Stable Diffusion and open_clip checkpoints
DIGITS_MODEL = ("unet/config.json",)
DIGITS_FLOW_MODEL = ("flow_unet/config.json",)
DIGITS_CLASSIFIERS = ("classifier.pt", "judge.pt")
TINY_SD, TINY_SD_FILES = "results/models/tiny-sd", ("model_index.json",)
TINY_CLIP, TINY_CLIP_FILES = "results/models/tiny-clip", ("aesthetic_head.pth",)

#: a family's own outputs (``WorkflowFiles.outputs``): name -> (rule, its files)
FAMILY_OUTPUTS = {
    "digits_model_quality": (
        "digits_model_quality",
        {"json": "results/model/model_quality.json", "grid": "results/model/digits_samples.png"},
    ),
    "digits_flow_model_quality": (
        "digits_flow_model_quality",
        {"json": "results/model/flow_model_quality.json", "grid": "results/model/flow_digits_samples.png"},
    ),
}


def table(key: str) -> str:
    """The path of table ``key`` of :data:`TABLES`, :data:`COST_TABLES`, :data:`CHECK_TABLES` or
    :data:`TIME_PER_RULE`."""
    names = {**TABLES, **COST_TABLES, **CHECK_TABLES, **{f"time_{k}": v for k, v in TIME_PER_RULE.items()}}
    return f"{TABLES_DIR}/{names[key]}"


def figure_name(kind: str, task: str) -> str:
    """The file name of a figure (inside its directory)."""
    return FIGURE.format(kind=kind, task=task)


def figures(tasks, swept_tasks, cost_tasks=(), out=FIGURES_DIR, kinds: bool = False) -> list:
    """The figure files :func:`sdo_bench.report.figures.write_all` and :func:`sdo_bench.report.write`
    make (``kinds``: as ``(path, kind, task)``, for the report's categories and captions)."""
    return [
        (f"{out}/{figure_name(kind, task)}", kind, task) if kinds else f"{out}/{figure_name(kind, task)}"
        for kind_list, names in (
            (PER_TASK, tasks),
            (PER_SWEPT_TASK, swept_tasks),
            (PER_COST_TASK, cost_tasks),
        )
        for kind in kind_list
        for task in names
    ]


#: each figure kind's title in the report (its caption: workflow/report/figures/<kind>.rst)
FIGURE_TITLES = {
    "headline": "Headline: reward and time against bptt",
    "reward_vs_iter": "Reward against iterations",
    "reward_vs_time": "Reward against time",
    "samples": "Samples before and after",
    "scaling": "Scaling with N",
    "fidelity": "Gradient fidelity against N",
    "cost_memory": "Paper-scale memory (predicted)",
}
