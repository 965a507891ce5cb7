"""The experiment layer: one run (:mod:`.runner`), its evaluation outside the optimization
(:mod:`.evaluation`), the scaling sweep (:mod:`.sweep`), gradient fidelity against the exact gradient
(:mod:`.gradcheck`), resuming (:mod:`.resume`) and live metrics and progress bars (:mod:`.live`).

``sdo_bench.experiment.run(task, variant)`` is the entry point (docs/design.md §4).
"""

from .runner import run, run_job, run_seeds, run_variants

__all__ = ["run", "run_job", "run_seeds", "run_variants"]
