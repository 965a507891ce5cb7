"""Gradient methods through the sampler, one file each, chosen by name (docs/design.md §3).

``build(variant)`` (or ``build(name, **options)``) returns a method; ``method.gradient(task)`` a
:class:`GradientResult`. ``Variant(name, options)`` is a method with its options and the label tables
use (:mod:`sdo_bench.spec.variant`, re-exported here).
"""

from __future__ import annotations

# each module registers its method; a new method is one more name on this line (CONTRIBUTING.md),
# in the order `sdo-bench list`, gradcheck and regress show them
from . import bptt, checkpoint, truncated, adjoint, sdo, drtune, draft_lv, refl  # noqa: F401  # isort: skip
from ..spec.variant import Variant
from .base import GradientMethod, GradientResult, Option
from .registry import REGISTRY, build, check_variants, get, names, register

__all__ = [
    "GradientMethod",
    "GradientResult",
    "Option",
    "REGISTRY",
    "Variant",
    "build",
    "check_variants",
    "get",
    "names",
    "register",
]
