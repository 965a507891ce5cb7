"""Where a result came from: commit, package versions, device, config hash, start time."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from functools import lru_cache
from importlib import metadata

import torch

PACKAGES = (
    "sdo-bench",
    "torch",
    "torchvision",
    "diffusers",
    "transformers",
    "peft",
    "torchdiffeq",
    "open_clip_torch",
    "torchmetrics",
    "numpy",
    "scikit-learn",
)


def git_commit() -> dict:
    """The commit of the code that ran (:func:`sdo_bench.records.buildinfo.commit`)."""
    from .buildinfo import commit

    c = commit()
    return {"commit": c["commit"], "dirty": c["dirty"]}


@lru_cache(maxsize=1)
def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_name(device: torch.device | str) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model()


def config_hash(config: dict) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def provenance(config: dict, device) -> dict:
    g = git_commit()
    return {
        "git_commit": g["commit"],
        "git_dirty": g["dirty"],
        "versions": versions(),
        "device_name": device_name(device),
        "threads": torch.get_num_threads(),
        "config_hash": config_hash(config),
        # every setting the task was built with, defaults included (weights paths, dtype, text encoders)
        "task_settings": config.get("task_config"),
        "start_time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu_model": cpu_model(),
        # the machine's load when the run started: a busy machine slows wall-clock times (not CPU time)
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo, else the platform's word for it)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
