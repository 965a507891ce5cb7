"""A method variant: a method name with its options, and the label that names it everywhere.

The label is how tables, figures, record paths, ``regress`` and ``gradcheck`` name a variant:
``method`` followed by ``-key=value`` for each option in key order (``truncated-k=1``,
``sdo-step=last``), unless a config gives its own ``label``. It is defined here once and stored in
every record (field ``variant``).

It imports no method (nor torch): the workflow's jobs read their plan's variants back without the
registry (:mod:`sdo_bench.pipeline.plan`). A variant becomes a method with
:func:`sdo_bench.methods.build`, which is also where its options are checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    method: str
    options: dict = field(default_factory=dict)
    name: str | None = None  # an explicit label (config key `label`)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return self.method + "".join(f"-{k}={v}" for k, v in sorted(self.options.items()))

    @classmethod
    def from_config(cls, entry: dict) -> Variant:
        """From a config entry ``{method, options, label}``."""
        return cls(entry["method"], dict(entry.get("options") or {}), entry.get("label"))

    def __hash__(self) -> int:
        return hash(self.label)


def from_list(items, where: str = "--variants") -> list[Variant]:
    """Variants from a JSON list of ``{"method", "options", "label"}`` objects (``--variants``, a job
    spec's ``variants``); ``ValueError`` naming ``where`` and the entry that is not one."""
    if not isinstance(items, list) or not items:
        raise ValueError(f'{where} must be a non-empty JSON list of {{"method": ..., "options": {{...}}}}')
    out = []
    for i, item in enumerate(items):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("method"), str)
            or set(item) - {"method", "options", "label"}
        ):
            raise ValueError(
                f'{where}[{i}] must be an object with "method" (a name) and optionally "options" '
                f'and "label", got {item!r}'
            )
        if not isinstance(item.get("options") or {}, dict):
            raise ValueError(f"{where}[{i}].options must be an object, got {item['options']!r}")
        out.append(Variant.from_config(item))
    return out
