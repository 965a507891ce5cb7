# The main runs: one job per task entry, running every method variant on it and every seed in one
# process (one interpreter start, one set of imports, and per seed one initial evaluation and one
# exact gradient shared by the variants: docs/design.md §6), one record per variant and seed. A run
# that fails, runs out of memory or diverges still writes its record with that status, so the
# workflow goes on. The job is given as one spec (Plan.run_spec: sdo_bench.spec.job.RunJob) that names
# its exact output files (variant by variant, each seed in the order of its seeds). What survives an interruption: the records are update() outputs, so a rerun keeps
# the runs finished before the job started; and each run, as it finishes, is also copied under
# --keep-dir, outside the declared outputs, so that when a job is killed (SIGKILL, the OOM killer,
# scancel, a time limit) and Snakemake deletes the files the failed job made, the rerun restores its
# finished runs from there. The rules are named run_<task> (dashes as underscores); what a profile or
# the command line sets for `run` (--set-resources run:..., --set-threads run=...) applies to each.


_RUN_RESOURCES = resources_set_for("run")
_RUN_THREADS = threads_set_for("run")


for _task in PLAN.tasks:
    if not PLAN.task_variants(_task):
        continue

    rule:
        name:
            "run_" + _task.replace("-", "_").replace(".", "_")
        input:
            PLAN.inputs(_task),
        output:
            records=[update(f) for f in PLAN.task_outputs(_task, OUT.RUN_RECORD)],
            samples=[update(f) for f in PLAN.task_outputs(_task, OUT.RUN_SAMPLES)],
        log:
            f"logs/runs/{_task}.log",
        benchmark:
            OUT.BENCHMARK_RUN.format(task=_task)
        # the run jobs are the longest after model quality: started before the sweeps and the cost
        # model, so that the short jobs fill the cores at the end instead of a long one running alone
        priority: 5
        conda:
            "../envs/sdo-bench.yaml"
        threads: _RUN_THREADS
        resources:
            # the rule's own, overridden by what is set for `run`
            **{"runtime": 120, "mem_mb": 8000, **_RUN_RESOURCES},
        params:
            sdo_bench=SDO_BENCH,
            # the whole job (task, settings, variants, seeds and the outputs above) as one JSON spec
            spec=shlex.quote(PLAN.run_spec(_task).to_json()),
        shell:
            "OMP_NUM_THREADS={threads} {params.sdo_bench} run --spec {params.spec} > {log} 2>&1; "
            "{params.sdo_bench} progress runs"
