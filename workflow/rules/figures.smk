# Figures: reward curves, samples, scaling and fidelity against N (DESIGN §9).


rule figures:
    input:
        records=PLAN.run_records(),
        sweeps=PLAN.sweep_records(),
        costs=PLAN.cost_records(),
    output:
        [report(f, caption="../report/figure.rst", category="Figures") for f in PLAN.figure_outputs()],
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/figures.log",
    benchmark:
        "results/benchmarks/figures.tsv",
    shell:
        "{SDO_BENCH} report figures --records {input.records} --sweeps {input.sweeps} --costs {input.costs} "
        "--out figures > {log} 2>&1"
