"""sdo-bench: gradient methods through diffusion sampling, measured on one table (see docs/design.md)."""

import importlib

__all__ = ["experiment", "methods", "tasks", "GradientResult", "__version__"]


def __getattr__(name: str):
    """The submodules load on first use (``sdo-bench --help`` and the workflow's jobs import only what
    they need; diffusers alone takes seconds)."""
    if name in ("experiment", "methods", "tasks"):
        return importlib.import_module(f".{name}", __name__)
    if name == "__version__":
        return importlib.import_module(".buildinfo", __name__).version()
    if name == "GradientResult":
        return importlib.import_module(".methods", __name__).GradientResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
