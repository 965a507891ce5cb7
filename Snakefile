# sdo-bench: gradient methods through diffusion sampling, on one table.
#   snakemake --cores all                      (the embedded default, profiles/default)
#   snakemake --workflow-profile profiles/ci   (the smallest run that still makes every output)
#   snakemake --profile profiles/slurm         (a SLURM cluster)
#   snakemake --report report.html             (every table and figure in one page)
from snakemake.utils import min_version

from sdo_bench.workflow import validate

min_version("8.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/sweeps.smk"
include: "workflow/rules/cost.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"


report: "workflow/report/workflow.rst"


# Tables, figures and the time summary read records and write small files in seconds: on a cluster
# they run where Snakemake runs instead of waiting in the queue (each SLURM job costs ~10 s of
# submission, polling and the job's own Snakemake start, more than these rules' work).
localrules:
    all,
    tables,
    figures,
    time_per_rule,
    docs_figures,


rule all:
    input:
        PLAN.all_outputs(),
    default_target: True
