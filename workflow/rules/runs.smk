# The main runs: task x method variant, one job running every seed in one process (one interpreter
# start and one set of imports for five runs), one record per seed (docs/design.md §6). A run that fails, runs
# out of memory or diverges still writes its record with that status, so the workflow goes on. The
# records are update() outputs: a rerun of an interrupted job keeps the seeds it had finished. The job
# is given its exact output files (one record and one .npz per seed, in the order of --seeds).


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
    threads: 1
    resources:
        runtime=60,
        mem_mb=8000,
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} run {params.args} --seeds {params.seeds} "
        "--out {output.records} --samples-out {output.samples} > {log} 2>&1; "
        "{params.sdo_bench} progress runs"
