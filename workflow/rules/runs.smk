# The main runs: task x method variant, one job running every seed in one process (one interpreter
# start and one set of imports for five runs), one record per seed (docs/design.md §6). A run that fails,
# runs out of memory or diverges still writes its record with that status, so the workflow goes on.
# The job is given its exact output files (one record and one .npz per seed, in the order of --seeds).
# What survives an interruption: the records are update() outputs, so a rerun keeps the seeds finished
# before the job started; and each seed, as it finishes, is also copied under --keep-dir, outside the
# declared outputs, so that when a job is killed (SIGKILL, the OOM killer, scancel, a time limit) and
# Snakemake deletes the files the failed job made, the rerun restores its finished seeds from there.


rule run:
    input:
        inputs_for,
    output:
        records=[update(f) for f in expand(OUT.RUN_RECORD, seed=PLAN.seeds, allow_missing=True)],
        samples=[update(f) for f in expand(OUT.RUN_SAMPLES, seed=PLAN.seeds, allow_missing=True)],
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/runs/{task}/{variant}.log",
    benchmark:
        OUT.BENCHMARK_RUN
    params:
        sdo_bench=SDO_BENCH,
        args=lambda wc: PLAN.job_args(wc.task, wc.variant),
        seeds=" ".join(map(str, PLAN.seeds)),
        kept=lambda wc: OUT.RUN_KEPT.format(task=wc.task, variant=wc.variant),
    threads: 1
    resources:
        runtime=60,
        mem_mb=8000,
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} run {params.args} --seeds {params.seeds} "
        "--out {output.records} --samples-out {output.samples} --keep-dir {params.kept} > {log} 2>&1; "
        "{params.sdo_bench} progress runs"
