# Figures: reward curves, samples, scaling and fidelity against N (DESIGN §9).


rule figures:
    input:
        records=run_records(),
        sweeps=sweep_records(),
    output:
        [report(f, caption="../report/figure.rst", category="Figures") for f in figure_outputs()],
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/figures.log",
    shell:
        "sdo-bench report figures --records {input.records} --sweeps {input.sweeps} "
        "--out figures > {log} 2>&1"
