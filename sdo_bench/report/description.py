"""The report's description (``workflow/report/workflow.rst``), written from the method registry so that
it lists every method as its module describes it: ``python -m sdo_bench.pipeline.generate`` rewrites
it, and a test checks that the committed file is what it writes. The configuration's figures (tasks,
seeds, device) stay Jinja expressions that Snakemake fills in when it builds the report."""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parent.parent.parent / "workflow" / "report" / "workflow.rst"


def text() -> str:
    from ..methods import REGISTRY

    lines = [
        "sdo-bench: gradient methods through diffusion sampling, on the same models, rewards, seeds and",
        "clock. It measures time, peak tensor memory (the bytes CUDA's allocator reports, counted on any",
        "device), reward and each gradient's agreement with the exact one; the paper-scale figures are",
        "predicted by the cost model on fake tensors and labelled so.",
        "",
        'Configuration: {{ snakemake.config["tasks"] | length }} task entries, '
        '{{ snakemake.config["methods"] | length }} method variants,',
        'seeds {{ snakemake.config["seeds"] }}, device {{ snakemake.config["device"] }}, '
        'dtype {{ snakemake.config["dtype"] }}.',
        "",
        f"The {len(REGISTRY)} gradient methods (exact, biased: a known part of the chain rule dropped, or",
        "approximate: another estimator):",
        "",
    ]
    for name, cls in REGISTRY.items():
        lines.append(f"- ``{name}`` ({cls.kind}): {cls.summary()}")
    lines += [
        "",
        "Figures are grouped by kind, each with its own caption on how to read it; within a kind, by task.",
        "",
    ]
    return "\n".join(lines)
