# The main runs: task x method variant x seed, one record each (DESIGN §6). A run that fails, runs
# out of memory or diverges still writes its record with that status, so the workflow goes on.


rule run:
    input:
        inputs_for,
    output:
        record="results/raw/{task}/{variant}/seed{seed}.json",
        samples="results/raw/{task}/{variant}/seed{seed}.npz",
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/runs/{task}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/runs/{task}/{variant}/seed{seed}.tsv",
    params:
        args=lambda wc: PLAN.job_args(wc.task, wc.variant),
    threads: 1
    resources:
        runtime=60,
        mem_mb=8000,
    shell:
        "OMP_NUM_THREADS={threads} sdo-bench run {params.args} --seed {wildcards.seed} "
        "--out {output.record} --samples-out {output.samples} > {log} 2>&1"
