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


rule all:
    input:
        PLAN.all_outputs(),
    default_target: True
