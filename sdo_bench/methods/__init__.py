"""Gradient methods through the sampler, one file each, chosen by name (DESIGN §3).

``build(name, **options)`` returns a method; ``method.gradient(task)`` a :class:`GradientResult`.
"""
from __future__ import annotations

from .adjoint import Adjoint
from .base import GradientMethod, GradientResult
from .bptt import BPTT
from .checkpoint import Checkpoint
from .sdo import SDO
from .truncated import Truncated

REGISTRY: dict[str, type[GradientMethod]] = {
    cls.name: cls for cls in (BPTT, Checkpoint, Truncated, Adjoint, SDO)
}


def names() -> list[str]:
    return list(REGISTRY)


def build(name: str, **options) -> GradientMethod:
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r}; valid choices: {', '.join(REGISTRY)}")
    return REGISTRY[name](**options)


__all__ = ["GradientMethod", "GradientResult", "build", "names", "REGISTRY"]
