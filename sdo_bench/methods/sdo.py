"""``sdo``: Shortcut Diffusion Optimization — "You Only Look One Step" (Dou et al., 2025,
arXiv 2505.07477).

The network call of one step ``k*`` keeps its graph; every other step evaluates ``ε(x_k, t_k, c; θ)``
under ``no_grad`` (a constant for autograd), while the state itself is **not** detached::

    x_{k+1} = a_k x_k + b_k · sg[ε(x_k, t_k, c; θ)]     for k ≠ k*
    x_{k*+1} = a_{k*} x_{k*} + b_{k*} · ε(x_{k*}, t_{k*}, c; θ)

so the gradient flows through the affine part ``a_k x_k`` of every step and through the network only at
``k*``. Exact in the forward (the same DDIM sample); the gradient is the shortcut approximation that drops
the network Jacobians of all other steps. With ``keep = m`` the steps ``k*, …, k*+m-1`` keep their graph;
``keep = N`` is ``bptt``. Costs N network forwards (``keep`` with graph) and ``keep`` backwards.

``step``: ``first`` (the step that consumes x_T), ``last``, ``random`` (uniform per gradient) or an
integer 0..N-keep. Default: ``first`` for the ``latent`` target (the authors' released scripts) and
``random`` for parameter targets — the step the paper uses for network parameters is not public, so that
default is an assumption.
"""

from __future__ import annotations

import torch

from .base import GradientMethod, Option, as_int
from .registry import register

STEP_CHOICES = ("first", "last", "random")


@register
class SDO(GradientMethod):
    name = "sdo"
    keeps = (
        "one network call's activations per kept step (keep, default 1); the affine state chain keeps nothing"
    )
    kind = "approximate"

    def affine_cost(self) -> bool:
        return True  # keep steps of N, wherever they are

    benchmark_options = {"step": "last"}
    options = {
        "step": Option(
            None,
            "which step keeps its graph: first | last | random | an integer 0..N-keep "
            "(default: first for latent, random otherwise)",
        ),
        "keep": Option(1, "how many consecutive steps keep their graph (1..N)"),
    }

    @classmethod
    def examples(cls, steps):
        return [{}, {"step": "last"}]

    def parse_option(self, key, value):
        if key == "step":
            if value is None or value in STEP_CHOICES:
                return value
            try:
                v = as_int(key, value, self.name)
            except ValueError:
                raise ValueError(
                    f"option step of method 'sdo' must be one of {', '.join(STEP_CHOICES)} "
                    f"or an integer step index, got {value!r}"
                ) from None
            if v < 0:
                raise ValueError(f"option step of method 'sdo' must be >= 0, got {v}")
            return v
        v = as_int(key, value, self.name)
        if v < 1:
            raise ValueError(f"option keep of method 'sdo' must be >= 1, got {v}")
        return v

    def step_choice(self, task):
        step = self.opts["step"]
        if step is None:
            step = "first" if task.target == "latent" else "random"
        return step

    def resolved_options(self, task=None):
        opts = dict(self.opts)
        if task is not None:
            opts["step"] = self.step_choice(task)
        return opts

    def algorithm(self, task) -> str:
        # with x_T fixed, keeping only the last step's graph is DRaFT-K's truncation with K = 1
        keep = self.opts["keep"]
        if keep == task.steps:
            return "bptt"  # every step keeps its graph
        if task.target != "latent" and self.resolved_options(task)["step"] == "last":
            return f"truncated-k={keep}"
        return super().algorithm(task)

    def check(self, task):
        N, keep, step = task.steps, self.opts["keep"], self.opts["step"]
        if keep > N:
            raise ValueError(
                f"option keep={keep} of method 'sdo' exceeds the number of steps N={N}; valid choices: 1..{N}"
            )
        if isinstance(step, int) and step + keep > N:
            raise ValueError(
                f"option step={step} of method 'sdo' is out of range for N={N}, "
                f"keep={keep}; valid choices: first, last, random, or 0..{N - keep}"
            )

    def kept_start(self, task) -> int:
        """``k*``: the first step whose network call keeps its graph."""
        N, keep, step = task.steps, self.opts["keep"], self.step_choice(task)
        if step == "first":
            return 0
        if step == "last":
            return N - keep
        if step == "random":
            return self.rng(task).randint(0, N - keep)
        return step

    def forward(self, task):
        k_star = self.kept_start(task)
        kept = range(k_star, k_star + self.opts["keep"])
        self.info["step"] = k_star
        x = task.x_T()
        for k in range(task.steps):
            if k in kept:
                eps = task.eps(x, k)
            else:
                with torch.no_grad():
                    eps = task.eps(x, k)  # sg[ε]: a constant for autograd
            x = task.sampler.step(k, x, eps)
        return x
