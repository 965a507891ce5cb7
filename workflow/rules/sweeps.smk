# Scaling sweeps: time, peak memory, graph bytes and gradient fidelity against the number of
# sampling steps N, a few iterations each (the medians need no more). One job per task and method
# runs every N in one process (one record per N).


rule sweep:
    input:
        weights_for,
    output:
        expand("results/sweeps/{{task}}/{{variant}}/N{steps}.json", steps=SWEEP_STEPS),
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/sweeps/{task}/{variant}.log",
    params:
        method=lambda wc: method_args(wc.variant),
        steps=" ".join(str(n) for n in SWEEP_STEPS),
        iterations=SWEEPS.get("iterations", 3),
        task=lambda wc: task_args(wc.task, sweep=True),
        common=lambda wc: common_args(wc.task),
        seed=SWEEPS.get("seed", 0),
    threads: 1
    resources:
        runtime=120,
        mem_mb=8000,
    shell:
        "OMP_NUM_THREADS={threads} sdo-bench sweep --task {wildcards.task} {params.method} "
        "--seed {params.seed} --steps {params.steps} --iterations {params.iterations} "
        "{params.task} {params.common} --out-dir results/sweeps/{wildcards.task}/{wildcards.variant} > {log} 2>&1"
