# Helpers: the library's Plan maps the validated config to runs, sweeps, outputs and job arguments,
# and stops the workflow on a config error (naming the key) before any job starts.
import os

from sdo_bench.workflow import Plan

try:
    PLAN = Plan(config)
except ValueError as e:
    raise WorkflowError(str(e)) from None

TABLES = PLAN.table_outputs()
SWEEP = config["sweeps"]
TINY_SD, TINY_CLIP = PLAN.tiny_outputs()


wildcard_constraints:
    task="[a-z0-9]+(-[a-z0-9.]+)*",
    variant="[A-Za-z0-9_.=-]+",
    seed=r"\d+",
    steps=r"\d+",


def inputs_for(wildcards):
    return PLAN.inputs(wildcards.task)
