# Tables: per task x method, pandas (docs/design.md §9).


rule tables:
    input:
        records=PLAN.run_records(),
        costs=PLAN.cost_records(),
    output:
        csv=TABLES["csv"],
        md=TABLES["md"],
        tex=TABLES["tex"],
        claims=TABLES["claims"],
        html=report(TABLES["html"], caption="../report/main_table.rst", category="Tables"),
        claims_html=report(TABLES["claims_html"], caption="../report/claims.rst", category="Tables"),
        cost=[TABLES[k] for k in ("cost_csv", "cost_md", "oom_md") if k in TABLES],
        cost_html=[
            report(TABLES[k], caption="../report/cost.rst", category="Cost model (predicted)")
            for k in ("cost_html", "oom_html")
            if k in TABLES
        ],
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/tables.log",
    benchmark:
        "results/benchmarks/tables.tsv",
    params:
        sdo_bench=SDO_BENCH,
        reference=PLAN.reference,
        out=lambda w, output: os.path.dirname(output.csv),
    shell:
        "{params.sdo_bench} report tables --records {input.records} --costs {input.costs} --out {params.out} "
        "--reference {params.reference} > {log} 2>&1"


# Where the time goes: Snakemake's benchmark files of the jobs, summed per rule family.
rule time_per_rule:
    input:
        PLAN.benchmark_files(),
    output:
        md=report("results/tables/time_per_rule.md", caption="../report/time_per_rule.rst", category="Tables"),
        csv="results/tables/time_per_rule.csv",
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/time_per_rule.log",
    params:
        sdo_bench=SDO_BENCH,
    shell:
        "{params.sdo_bench} report benchmarks --benchmarks {input} --out results/tables > {log} 2>&1"
