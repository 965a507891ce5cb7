"""The method registry: every gradient method registers itself by name with :func:`register`.

Adding a method is one file under ``sdo_bench/methods/`` (a :class:`~.base.GradientMethod` subclass
decorated with ``@register``) and its module name in the import line of ``methods/__init__.py``; from
then on it is in ``sdo-bench list``, the workflow's config validation, ``gradcheck``, ``regress`` and
every table and figure (CONTRIBUTING.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..spec.variant import Variant

if TYPE_CHECKING:
    from .base import GradientMethod

REGISTRY: dict[str, type[GradientMethod]] = {}


def register(cls: type[GradientMethod]) -> type[GradientMethod]:
    """Class decorator: make ``cls`` buildable as ``build(cls.name, ...)``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no `name`; set the class attribute before registering")
    REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str) -> type[GradientMethod]:
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r}; valid choices: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def build(variant: str | Variant, **options) -> GradientMethod:
    """The method of a :class:`~sdo_bench.spec.variant.Variant` (its options checked: ``ValueError``
    names a bad one), or of a method name with its options."""
    if isinstance(variant, Variant):
        return get(variant.method)(**variant.options, **options)
    return get(variant)(**options)


def check_variants(variants: list[Variant]) -> None:
    """Several variants for one process: each label once, every method and option valid (``ValueError``
    before the first run)."""
    labels = [v.label for v in variants]
    if len(set(labels)) != len(labels):
        raise ValueError(f"variants {labels} name a variant twice; give each its own label")
    for v in variants:
        build(v)
