# The cost model: predicted peak tensor memory and FLOPs of one gradient at paper scale, on fake
# tensors with models built from their configs (no weights, no GPU). One job per task, method variant
# and dtype predicts every N of cost.steps; a method that cannot run on fake tensors is a row with
# status error, and the workflow goes on.


rule cost:
    output:
        OUT.COST_ROWS,
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/cost/{task}/{variant}/{dtype}.log",
    benchmark:
        OUT.BENCHMARK_COST,
    params:
        sdo_bench=SDO_BENCH,
        args=lambda wc: PLAN.cost_args(wc.task, wc.variant, wc.dtype),
    threads: 1
    resources:
        runtime=30,
        mem_mb=8000,
    shell:
        "OMP_NUM_THREADS={threads} {params.sdo_bench} cost {params.args} --out {output} > {log} 2>&1; "
        "{params.sdo_bench} progress cost"
