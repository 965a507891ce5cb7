# Helpers: the library's Plan maps the validated config to runs, sweeps, outputs and job arguments,
# and stops the workflow on a config error (naming the key) before any job starts. On a cluster each
# job parses the workflow again in its own Snakemake: that one reads the plan saved here back.
import os
import shlex
import sys

from sdo_bench.spec import outputs as OUT
from sdo_bench.report.docs import FIGURES as DOCS_FIGURES
from sdo_bench.pipeline.plan import Plan

# every job runs the library with the interpreter that runs Snakemake (a venv's snakemake called by its
# full path works with nothing on PATH), named by an environment variable the jobs' shells inherit, so
# that no machine path shows in the report's job properties; with --sdm conda, the rule's environment's
# python
os.environ.update(SDO_BENCH_PYTHON=sys.executable)  # set here, for the jobs: no envvars: to assert
_CONDA = "conda" in str(workflow.deployment_settings.deployment_method).lower()
SDO_BENCH = "python -m sdo_bench" if _CONDA else '"$SDO_BENCH_PYTHON" -m sdo_bench'

if getattr(workflow, "is_main_process", True):
    try:
        PLAN = Plan(config)
    except ValueError as e:
        raise WorkflowError(str(e)) from None
    except ImportError as e:  # only Snakemake installed (a lint or format check): no torch to ask
        print(
            f"sdo-bench: {e}; the config is checked against its schema only and no job can run "
            "(install the project: pip install -e .)",
            file=sys.stderr,
        )
        PLAN = Plan.unchecked(config)
else:  # a job's own Snakemake (SLURM's jobstep): the plan checked above, read back without torch
    PLAN = Plan.for_job(config)
TABLES = PLAN.table_outputs()
SWEEP = config["sweeps"]


wildcard_constraints:
    task="[a-z0-9]+(-[a-z0-9.]+)*",
    variant="[A-Za-z0-9_.=-]+",
    seed=r"\d+",
    steps=r"\d+",


# What a profile or the command line sets for `run` or `sweep` (--set-resources run:..., --set-threads
# run=...) applies to each per-task rule of that family (run_<task>, sweep_<task>).
def _as_rule_resource(resource, name):
    """A resource set for ``name`` (a profile's set-resources) as a rule's own -- its value, or, for
    an expression (a quoted string is one, as in slurm_extra="'--gres=gpu:1'"), a function Snakemake
    evaluates per job as it would for the rule ``name``."""
    if not resource.is_evaluable():
        return resource.value

    def evaluate(wildcards, input, threads, attempt):
        return resource.evaluate(
            wildcards=wildcards, input=input, threads=threads, attempt=attempt, rulename=name, async_run=None
        ).value

    return evaluate


def resources_set_for(name):
    overwrite = workflow.resource_settings.overwrite_resources.get(name, {})
    return {k: _as_rule_resource(v, name) for k, v in dict(overwrite).items()}


def threads_set_for(name):
    threads = workflow.resource_settings.overwrite_threads.get(name, 1)
    return getattr(threads, "raw", threads)


def inputs_for(wildcards):
    return PLAN.inputs(wildcards.task)


# Written when the workflow starts running (after the lock is taken; never in a dry run or by an
# invocation the lock refuses, so those change nothing under .snakemake/): the plan for the jobs'
# own Snakemakes on a cluster (Plan.for_job), and what `sdo-bench progress` counts after each job.
onstart:
    if getattr(workflow, "is_main_process", True):
        PLAN.save()
        PLAN.write_progress()
