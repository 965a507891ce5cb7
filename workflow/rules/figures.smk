# Figures: reward curves, samples, scaling and fidelity against N (docs/design.md §9).


rule figures:
    input:
        records=PLAN.run_records(),
        sweeps=PLAN.sweep_records(),
        costs=PLAN.cost_records(),
    output:
        [
            report(
                f,
                caption=f"../report/figures/{kind}.rst",
                category=OUT.FIGURE_TITLES[kind],
                subcategory=task,
                labels={"task": task, "figure": OUT.FIGURE_TITLES[kind]},
            )
            for f, kind, task in PLAN.figure_outputs(kinds=True)
        ],
    log:
        "logs/figures.log",
    benchmark:
        OUT.BENCHMARK_REPORT.format(rule="figures")
    conda:
        "../envs/sdo-bench.yaml"
    params:
        sdo_bench=SDO_BENCH,
        out=lambda w, output: os.path.dirname(output[0]),
    shell:
        "{params.sdo_bench} report figures --records {input.records} --sweeps {input.sweeps} --costs {input.costs} "
        "--out {params.out} > {log} 2>&1"


# The README's pictures (not part of `all`: it writes into the repository's docs/figures):
#   snakemake --cores all docs_figures
rule docs_figures:
    input:
        figures=lambda w: list(DOCS_FIGURES.values()),
        records=PLAN.run_records()[:1],
        verdict=OUT.VERDICT,
    output:
        "docs/figures/SOURCE.md",
    log:
        "logs/docs_figures.log",
    conda:
        "../envs/sdo-bench.yaml"
    params:
        sdo_bench=SDO_BENCH,
    shell:
        "{params.sdo_bench} report docs --records {input.records} --verdict {input.verdict} "
        "--out docs/figures > {log} 2>&1"
