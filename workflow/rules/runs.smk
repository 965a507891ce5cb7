# The main runs: task x method variant, one job running every seed in one process (one interpreter
# start and one set of imports for five runs), one record per seed (docs/design.md §6). A run that fails, runs
# out of memory or diverges still writes its record with that status, so the workflow goes on. The
# records are update() outputs: a rerun of an interrupted job keeps the seeds it had finished.


rule run:
    input:
        inputs_for,
    output:
        records=[update(f) for f in expand("results/raw/{{task}}/{{variant}}/seed{s}.json", s=PLAN.seeds)],
        samples=[update(f) for f in expand("results/raw/{{task}}/{{variant}}/seed{s}.npz", s=PLAN.seeds)],
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/runs/{task}/{variant}.log",
    benchmark:
        "results/benchmarks/runs/{task}/{variant}.tsv"
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
        "--out-dir results/raw/{wildcards.task}/{wildcards.variant} > {log} 2>&1; "
        "{params.sdo_bench} progress runs"
