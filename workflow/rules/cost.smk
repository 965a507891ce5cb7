# The cost model: predicted peak tensor memory and FLOPs of one gradient at paper scale, on fake
# tensors with models built from their configs (no weights, no GPU). One job per cost task predicts
# every variant that applies to it at every N of cost.steps, one process per dtype in which the
# paper-scale models are built once (a build takes longer than one prediction). A method that cannot
# run on fake tensors is a row with status error, and the workflow goes on. The rules are named
# cost_<task> (dashes and dots as underscores).
def _cost_outputs(task, dtype):
    return [OUT.COST_ROWS.format(task=task, variant=v, dtype=dtype) for v in PLAN.cost_variants_of(task)]


for _task in PLAN.cost_tasks:
    if not PLAN.cost_variants_of(_task):
        continue

    rule:
        name:
            "cost_" + _task.replace("-", "_").replace(".", "_")
        output:
            [f for d in PLAN.cost_dtypes for f in _cost_outputs(_task, d)],
        log:
            f"logs/cost/{_task}.log",
        benchmark:
            OUT.BENCHMARK_COST.format(task=_task)
        # as long as a run job: started with them, so that the short sweeps fill the cores at the end
        priority: 5
        conda:
            "../envs/sdo-bench.yaml"
        threads: 1
        resources:
            runtime=60,
            mem_mb=8000,
        params:
            sdo_bench=SDO_BENCH,
            # one command per dtype, each with its own outputs
            commands=" && ".join(
                f"{SDO_BENCH} cost {PLAN.cost_args(_task, d)} --out "
                + " ".join(shlex.quote(f) for f in _cost_outputs(_task, d))
                for d in PLAN.cost_dtypes
            ),
        shell:
            "(export OMP_NUM_THREADS={threads}; {params.commands}) > {log} 2>&1; "
            "{params.sdo_bench} progress cost"


# Checks of the cost model (config key cost_check, off by default): every row of a cost task at each N
# of cost_check.steps, run again with random weights on cost_check.device beside its prediction
# (sdo-bench cost --check). A run out of memory is a row with check_status oom. The rules are named
# cost_check_<task>.
def _check_outputs(task, dtype):
    return [
        OUT.COST_CHECK_ROWS.format(task=task, variant=v, dtype=dtype) for v in PLAN.cost_variants_of(task)
    ]


for _task in PLAN.cost_tasks if PLAN.cost_check["enabled"] else []:
    if not PLAN.cost_variants_of(_task):
        continue

    rule:
        name:
            f"cost_check_{_task.replace('-', '_').replace('.', '_')}"
        output:
            [f for d in PLAN.cost_dtypes for f in _check_outputs(_task, d)],
        log:
            f"logs/cost_check/{_task}.log",
        benchmark:
            OUT.BENCHMARK_COST_CHECK.format(task=_task)
        conda:
            "../envs/sdo-bench.yaml"
        threads: 1
        resources:
            runtime=120,
            mem_mb=16000,
            # one GPU on a cluster (snakemake-executor-plugin-slurm's gpu resource)
            gpu=int(PLAN.cost_check["device"].startswith("cuda")),
        params:
            commands=" && ".join(
                f"{SDO_BENCH} cost {PLAN.cost_args(_task, d, check=True)} --out "
                + " ".join(shlex.quote(f) for f in _check_outputs(_task, d))
                for d in PLAN.cost_dtypes
            ),
        shell:
            "(export OMP_NUM_THREADS={threads}; {params.commands}) > {log} 2>&1"
