# Scaling sweeps: time, peak memory, graph bytes and gradient fidelity against the number of
# sampling steps N, a few iterations each (the medians need no more).


rule sweep:
    input:
        weights_for,
    output:
        record="results/sweeps/{task}/{variant}/N{steps}.json",
    log:
        "logs/sweeps/{task}/{variant}/N{steps}.log",
    params:
        method=lambda wc: method_args(wc.variant),
        task=lambda wc: task_args(wc.task, steps=int(wc.steps),
                                  iterations=SWEEPS.get("iterations", 3)),
        common=lambda wc: common_args(wc.task),
        seed=SWEEPS.get("seed", 0),
    threads: 1
    resources:
        runtime=60,
        mem_mb=8000,
    shell:
        "OMP_NUM_THREADS={threads} sdo-bench run --task {wildcards.task} {params.method} "
        "--seed {params.seed} {params.task} {params.common} --out {output.record} > {log} 2>&1"
