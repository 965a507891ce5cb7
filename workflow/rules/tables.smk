# Tables: per task x method, pandas (DESIGN §9).


rule tables:
    input:
        PLAN.run_records(),
    output:
        csv=TABLES["csv"],
        md=TABLES["md"],
        tex=TABLES["tex"],
        claims=TABLES["claims"],
        html=report(TABLES["html"], caption="../report/main_table.rst", category="Tables"),
        claims_html=report(TABLES["claims_html"], caption="../report/claims.rst", category="Tables"),
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/tables.log",
    params:
        reference=PLAN.reference,
        out=lambda w, output: os.path.dirname(output.csv),
    shell:
        "sdo-bench report tables --records {input} --out {params.out} "
        "--reference {params.reference} > {log} 2>&1"
