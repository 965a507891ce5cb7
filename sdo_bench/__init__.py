"""sdo-bench: gradient methods through diffusion sampling, measured on one table (see DESIGN.md)."""

from . import experiment, methods, tasks
from .methods import GradientResult

__version__ = "0.1.0"
__all__ = ["experiment", "methods", "tasks", "GradientResult", "__version__"]
