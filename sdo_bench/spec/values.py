"""The text form of a setting in ``--set KEY=VALUE`` and ``--option KEY=VALUE``: JSON where it parses
as JSON (``7.5``, ``false``, ``["a", "b"]``, ``"3"``), else the string itself (``step=last``).

:func:`encode` is its inverse, used by the workflow so that every config value reaches a job with its
type: a string is written bare when it reads back as itself, else JSON-quoted.
"""

from __future__ import annotations

import json


def parse(value: str):
    """A value as typed on the command line (``True``/``False`` in any case are booleans)."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        if value.startswith("["):
            raise ValueError(f"value {value!r} is not a valid JSON list") from None
        return {"true": True, "false": False}.get(value.lower(), value)


def encode(value) -> str:
    """The text that :func:`parse` reads back as ``value``."""
    if isinstance(value, str) and value and parse(value) == value and not value[0].isspace():
        return value
    return json.dumps(value)


def pairs(items: list[str], flag: str) -> dict:
    """``["k=v", ...]`` -> ``{k: parse(v)}``; ``flag`` names the option in the error."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"{flag} {item!r} must look like KEY=VALUE")
        key, value = item.split("=", 1)
        out[key.strip()] = parse(value.strip())
    return out
