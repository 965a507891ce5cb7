# Tables: per task x method, pandas (docs/design.md §9).


rule tables:
    input:
        records=PLAN.run_records(),
        costs=PLAN.cost_records(),
        checks=PLAN.cost_check_records(),
    output:
        verdict=OUT.VERDICT,
        verdict_html=report(
            OUT.VERDICT_HTML,
            caption="../report/verdict.rst",
            category="1. Verdict",
            labels={"table": "verdict"},
        ),
        csv=TABLES["csv"],
        md=TABLES["md"],
        tex=TABLES["tex"],
        claims=TABLES["claims"],
        html=report(
            TABLES["html"], caption="../report/main_table.rst", category="Tables", labels={"table": "main"}
        ),
        claims_html=report(
            TABLES["claims_html"],
            caption="../report/claims.rst",
            category="Tables",
            labels={"table": "claims"},
        ),
        cost=[TABLES[k] for k in ("cost_csv", "cost_md", "oom_md") if k in TABLES],
        cost_html=[
            report(TABLES[k], caption="../report/cost.rst", category="Cost model (predicted)")
            for k in ("cost_html", "oom_html")
            if k in TABLES
        ],
        check=[TABLES[k] for k in ("cost_check_csv", "cost_check_md") if k in TABLES],
        check_html=[
            report(TABLES[k], caption="../report/cost_check.rst", category="Cost model (predicted)")
            for k in ("cost_check_html",)
            if k in TABLES
        ],
    log:
        "logs/tables.log",
    benchmark:
        OUT.BENCHMARK_REPORT.format(rule="tables")
    conda:
        "../envs/sdo-bench.yaml"
    params:
        sdo_bench=SDO_BENCH,
        reference=PLAN.reference,
        margin=config["report"]["reward_margin"],
        out=lambda w, output: os.path.dirname(output.csv),
    shell:
        "{params.sdo_bench} report tables --records {input.records} --costs {input.costs} --checks {input.checks} "
        "--out {params.out} --verdict {output.verdict} "
        "--reference {params.reference} --reward-margin {params.margin} > {log} 2>&1"


# Where the time goes: Snakemake's benchmark files of the jobs, summed per rule family.
rule time_per_rule:
    input:
        PLAN.benchmark_files(),
    output:
        md=OUT.table("time_md"),
        csv=OUT.table("time_csv"),
        html=report(OUT.table("time_html"), caption="../report/time_per_rule.rst", category="Tables"),
    log:
        "logs/time_per_rule.log",
    conda:
        "../envs/sdo-bench.yaml"
    params:
        sdo_bench=SDO_BENCH,
        out=lambda w, output: os.path.dirname(output.md),
    shell:
        "{params.sdo_bench} report benchmarks --benchmarks {input} --out {params.out} > {log} 2>&1"
