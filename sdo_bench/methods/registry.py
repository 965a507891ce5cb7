"""The method registry: every gradient method registers itself by name with :func:`register`.

Adding a method is one file under ``sdo_bench/methods/`` (a :class:`~.base.GradientMethod` subclass
decorated with ``@register``) and its module name in the import line of ``methods/__init__.py``; from
then on it is in ``sdo-bench list``, the workflow's config validation, ``gradcheck``, ``regress`` and
every table and figure (CONTRIBUTING.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def build(name: str, **options) -> GradientMethod:
    """The method ``name`` with its options (strings from the command line are parsed)."""
    return get(name)(**options)


def describe() -> str:
    """Every method with its options and their defaults (``sdo-bench list``)."""
    lines = ["methods:"]
    for name, cls in REGISTRY.items():
        lines.append(f"  {name:24s} {cls.summary()}")
        lines += [f"      {k} (default {o.default!r}): {o.help}" for k, o in cls.options.items()]
    return "\n".join(lines)
