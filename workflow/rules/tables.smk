# Tables: per task x method, pandas (DESIGN §9).


rule tables:
    input:
        run_records(),
    output:
        csv="results/tables/main.csv",
        md="results/tables/main.md",
        tex="results/tables/main.tex",
        claims="results/tables/claims.md",
        html=report("results/tables/main.html", caption="../report/main_table.rst",
                    category="Tables"),
        claims_html=report("results/tables/claims.html", caption="../report/claims.rst",
                           category="Tables"),
    conda:
        "../envs/sdo-bench.yaml"
    log:
        "logs/tables.log",
    params:
        reference=REFERENCE,
    shell:
        "sdo-bench report tables --records {input} --out results/tables "
        "--reference {params.reference} > {log} 2>&1"
