"""``drtune``: DRTune — "Deep Reward Supervisions for Tuning Text-to-Image Diffusion Models" (Wu et al.,
2024, arXiv 2405.00760).

The network input is detached at every step (a stop-gradient on ``x_t`` into ``ε``), and only ``K``
steps, spread over the trajectory, keep the network's parameter graph::

    x_{k+1} = a_k x_k + b_k · ε(sg[x_k], t_k, c; θ)        for the K kept steps
    x_{k+1} = a_k x_k + b_k · sg[ε(x_k, t_k, c; θ)]        for the others

The state is not detached, so the reward's gradient reaches every kept step through the affine parts
``a_k``; it never passes through a network Jacobian with respect to its input. The kept steps are spread
evenly over the N steps with a random offset per gradient (``k`` > 1). ``K`` defaults to the paper's
(``k: paper``): DRTune trains K = 5 of its T = 50 sampling steps; here the same K = 5 steps, spread over
the N steps (``min(5, N)``).
With ``k = 1`` the option ``step`` chooses the step as for ``sdo`` (``first`` | ``last`` | ``random`` |
an integer); for parameter targets ``drtune`` with ``k = 1, step = s`` *is* ``sdo`` with ``step = s``
(in ``sdo`` the kept step's input does not depend on θ either: every earlier ε is a constant) — a test,
and the reason the default race runs the paper's K, not k = 1.

Not applicable to the ``latent`` target: with every network input detached, x_T's gradient would skip
every network Jacobian (only the affine chain remains), which is not DRTune's rule for anything. Costs
N network forwards and K backwards.
"""

from __future__ import annotations

import torch

from .base import NOT_APPLICABLE, GradientMethod, Option, as_int
from .registry import register
from .sdo import STEP_CHOICES

PAPER = "paper"
#: DRTune's experiments: K trained steps of T sampling steps
PAPER_K, PAPER_T = 5, 50


@register
class DRTune(GradientMethod):
    name = "drtune"
    keeps = "K steps' parameter graph (network inputs detached)"
    kind = "biased"

    def applies_to(self, target: str) -> bool:
        return target != "latent"  # every network input detached: x_T would meet no network Jacobian

    def affine_cost(self) -> bool:
        return self.opts["k"] != PAPER  # the paper's K grows with N

    benchmark_options = {"k": 1, "step": "last"}
    options = {
        "k": Option(
            "paper",
            "number of steps that keep the network's parameter graph (1..N), spread evenly; "
            "paper: the DRTune paper's K = 5 (of its T = 50), spread over the N steps",
        ),
        "step": Option(
            "random", "with k = 1: which step keeps its graph: first | last | random | an integer"
        ),
    }

    @classmethod
    def examples(cls, steps):
        return [{"k": 1, "step": "last"}, {"k": min(5, steps)}, {"k": PAPER}]

    def parse_option(self, key, value):
        if key == "step" and value in STEP_CHOICES:
            return value
        if key == "k" and value == PAPER:
            return value
        v = as_int(key, value, self.name)
        if v < (1 if key == "k" else 0):
            raise ValueError(f"option {key} of method 'drtune' must be >= {1 if key == 'k' else 0}, got {v}")
        return v

    def k_for(self, steps: int) -> int:
        """K at N = ``steps``: the option, or the paper's K = 5 (at most N) for ``paper``."""
        k = self.opts["k"]
        return min(PAPER_K, steps) if k == PAPER else k

    def resolved_options(self, task=None) -> dict:
        opts = dict(self.opts)
        if task is not None:
            opts["k"] = self.k_for(task.steps)
        return opts

    def algorithm(self, task) -> str:
        from .sdo import SDO

        step = self.opts["step"]
        if task.target != "latent" and self.k_for(task.steps) == 1:
            # the same kept step; a random one drawn from the same stream, the same way (a test)
            return SDO(step=step).algorithm(task)
        return super().algorithm(task)

    def check(self, task):
        N, k, step = task.steps, self.k_for(task.steps), self.opts["step"]
        if k > N:
            raise ValueError(
                f"option k={k} of method 'drtune' exceeds the number of steps N={N}; valid: 1..{N}"
            )
        if isinstance(step, int) and step >= N:
            raise ValueError(
                f"option step={step} of method 'drtune' is out of range for N={N}; valid: 0..{N - 1}"
            )

    def kept_steps(self, task) -> list[int]:
        N, k, step = task.steps, self.k_for(task.steps), self.opts["step"]
        if k == 1:
            if step == "first":
                return [0]
            if step == "last":
                return [N - 1]
            return [self.rng(task).randint(0, N - 1)] if step == "random" else [step]
        offset = self.rng(task).random() * N / k
        return sorted({min(N - 1, int(offset + j * N / k)) for j in range(k)})

    def forward(self, task):
        if task.target == "latent":
            self.info["reason"] = "drtune detaches every network input: x_T would get no network gradient"
            return NOT_APPLICABLE
        kept = self.kept_steps(task)
        self.info["kept"] = kept
        x = task.x_T()
        for k in range(task.steps):
            if k in kept:
                eps = task.eps(x.detach(), k)  # sg[x_k]: the parameter graph only
            else:
                with torch.no_grad():
                    eps = task.eps(x, k)
            x = task.sampler.step(k, x, eps)
        return x
