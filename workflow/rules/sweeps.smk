# Scaling sweeps: time, peak memory, graph bytes and gradient fidelity against the number of
# sampling steps N, a few iterations each (the medians need no more). One job per swept task runs
# every variant and every N in one process (one interpreter start and one set of imports: most of a
# sweep's time at these sizes), one record per variant and N. The rules are named sweep_<task>;
# what a profile or the command line sets for `sweep` applies to each, as `run`'s does to the run rules.

_SWEEP_RESOURCES = resources_set_for("sweep")
_SWEEP_THREADS = threads_set_for("sweep")


for _task in PLAN.sweep_tasks:
    if not PLAN.sweep_task_variants(_task):
        continue

    rule:
        name:
            "sweep_" + _task.replace("-", "_").replace(".", "_")
        input:
            PLAN.inputs(_task),
        output:
            PLAN.sweep_task_outputs(_task, OUT.SWEEP_RECORD),
        log:
            f"logs/sweeps/{_task}.log",
        benchmark:
            OUT.BENCHMARK_SWEEP.format(task=_task)
        conda:
            "../envs/sdo-bench.yaml"
        threads: _SWEEP_THREADS
        resources:
            **{"runtime": 120, "mem_mb": 8000, **_SWEEP_RESOURCES},
        params:
            sdo_bench=SDO_BENCH,
            args=PLAN.task_job_args(_task, sweep=True),
            steps=" ".join(str(n) for n in PLAN.sweep_steps),
            iterations=SWEEP["iterations"],
            seed=SWEEP["seed"],
        shell:
            "OMP_NUM_THREADS={threads} {params.sdo_bench} sweep {params.args} --seed {params.seed} "
            "--steps {params.steps} --iterations {params.iterations} "
            "--out {output} > {log} 2>&1; "
            "{params.sdo_bench} progress sweeps"
