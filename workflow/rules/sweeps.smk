# Scaling sweeps: time, peak memory, graph bytes and gradient fidelity against the number of
# sampling steps N, a few iterations each (the medians need no more). One job per task and method
# runs every N in one process (one record per N).


rule sweep:
    input:
        inputs_for,
    output:
        expand(OUT.SWEEP_RECORD, steps=PLAN.sweep_steps, allow_missing=True),
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/sweeps/{task}/{variant}.log",
    benchmark:
        OUT.BENCHMARK_SWEEP,
    params:
        sdo_bench=SDO_BENCH,
        args=lambda wc: PLAN.job_args(wc.task, wc.variant, sweep=True),
        steps=" ".join(str(n) for n in PLAN.sweep_steps),
        iterations=SWEEP["iterations"],
        seed=SWEEP["seed"],
    threads: 1
    resources:
        runtime=120,
        mem_mb=8000,
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} sweep {params.args} --seed {params.seed} "
        "--steps {params.steps} --iterations {params.iterations} "
        "--out {output} > {log} 2>&1; "
        "{params.sdo_bench} progress sweeps"
