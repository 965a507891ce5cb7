"""The package's version and the commit it was built from, without torch (``sdo-bench --version``,
every record's provenance).

The version comes from git through setuptools-scm at install time (``pyproject.toml``), which also
writes ``sdo_bench/_version.py`` with the commit. In a git checkout the commit is asked of git (the
working tree may have moved on since the install); an installed copy, with no repository around it,
reads the one its build recorded.
"""

from __future__ import annotations

import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def version() -> str:
    """The build's version (``_version.py``), else the installed metadata's, else ``0+unknown``."""
    built = getattr(_built(), "__version__", None)
    if built:
        return str(built)
    try:
        return metadata.version("sdo-bench")
    except metadata.PackageNotFoundError:  # a source tree that was never built or installed
        return "0+unknown"


def _built():
    try:
        from .. import _version
    except ImportError:
        return None
    return _version


@lru_cache(maxsize=1)  # once per process: a job that runs five seeds asks git once
def commit() -> dict:
    """``{"commit": sha or "unknown", "dirty": bool, "source": "git" | "build" | "none"}``."""

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()

    sha = ""
    if (ROOT / ".git").exists():
        try:
            sha = git("rev-parse", "HEAD")
            dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        except (OSError, subprocess.SubprocessError):
            sha = ""
        if sha:
            return {"commit": sha, "dirty": dirty, "source": "git"}
    built = getattr(_built(), "__commit_id__", None) or _from_version(version())
    if built:
        return {"commit": built.removeprefix("g"), "dirty": _dirty(version()), "source": "build"}
    return {"commit": "unknown", "dirty": False, "source": "none"}


def _from_version(v: str) -> str | None:
    """The short commit in a setuptools-scm version's local part (``0.1.dev5+g1a2b3c4``)."""
    local = v.partition("+")[2]
    for part in local.split("."):
        if part.startswith("g") and len(part) > 4 and all(c in "0123456789abcdef" for c in part[1:]):
            return part[1:]
    return None


def _dirty(v: str) -> bool:
    """setuptools-scm marks a build from a tree with uncommitted changes ``.dYYYYMMDD``."""
    return any(p.startswith("d") and p[1:].isdigit() and len(p) == 9 for p in v.partition("+")[2].split("."))


def text() -> str:
    """``sdo-bench --version``: the version, the commit and where the commit was read."""
    c = commit()
    dirty = " (uncommitted changes)" if c["dirty"] else ""
    return f"sdo-bench {version()} (commit {c['commit']}{dirty}, from {c['source']})"
