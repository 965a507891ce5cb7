"""The paper's two released experiments in miniature, on the trained digits world (the authors' regimes
on a model every machine has; full scale: SD 1.4, docs/paper-experiments.md).

* ``digits-latent-style`` — style-guided generation (``style_guide_implict.py``): the first 45 of 50 DDIM
  steps run once without gradient from a seeded x_T; x_45 is optimized, each iteration runs the last 5 steps.
  The reward is the style loss (:mod:`sdo_bench.rewards.style`): Gram matrices of the reward
  classifier's first convolution stage (its 16 × 16 positions as tokens, 32 channels), standing for
  CLIP's early block, against a style image taken from the held-out digits (``style_digit``, the
  ``style_index``-th held-out image of it). The judge stays independent (its own network), scoring the
  samples' class (``target_digit``: by default the style digit) and whether they are digits at all.
* ``digits-latent-improve`` — improving real images (``aesthetic_implict.py``): ``batch`` held-out real
  images of ``source_digit`` (which ones: drawn by the seed) are DDIM-inverted through ``invert_steps``
  steps (:meth:`sdo_bench.tasks.base.Task.invert`; 40 of 50: the state the authors' 40 sampled steps
  start from, start step 10); that state is optimized, each iteration samples those steps toward the
  reward ``log p(target_digit | image)``, the classifier's score standing
  for the aesthetic predictor's (a real digit already scores near 0 for its own class: the reward asks
  for another, so that there is room to improve, as an aesthetic score of 10 leaves room). Beside the
  judge, the record says how far the result moved from the original (``fidelity_mse``,
  ``fidelity_psnr_db`` in the judge's scores).

  The hand-off: the suite samples from the noise level the inversion reached (the last
  ``invert_steps`` steps of the N-step chain). The authors' script inverts through the inverse
  scheduler's first 10 (ascending) timesteps and then samples the descending schedule from its step 10,
  whose noise level is much higher (N = 50: t = 180 reached, t = 780 where sampling resumes); the suite
  keeps their 40 sampled steps and inverts up to where those begin (docs/paper-experiments.md).
"""

from __future__ import annotations

import torch
from torch import nn

from ...rewards.style import GramStyleReward, tokens
from ..fidelity import FidelityJudge
from ..registry import register
from .data import load_split, to_unit
from .targets import COMMON, WORKFLOW, _build, check


def held_out(digit: int) -> torch.Tensor:
    """The held-out real images of ``digit`` (model space, (n, 1, 16, 16))."""
    split = load_split()
    return split.held_x[split.held_y == int(digit)]


class ClassifierStage(nn.Module):
    """The reward classifier's first stage (conv, SiLU, conv, SiLU) on model-space images, as tokens."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.stage = classifier.features[:4]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return tokens(self.stage(to_unit(x)))


def _check(s: dict, built=()) -> None:
    from ...spec import settings as S

    check(s, built)
    S.optional(S.integer, "style_index", s.get("style_index"), least=0)
    if "invert_steps" in s:
        S.integer("invert_steps", s["invert_steps"], least=1, most=s["steps"])
    if s.get("start_step") and "invert_steps" in s:
        raise ValueError(
            "start_step: digits-latent-improve starts where the inversion ends (set invert_steps)"
        )


@register(
    "digits-latent-style",
    "digits UNet, the authors' style-guided regime: optimize x_45 of 50 for a Gram-matrix style loss",
    workflow=WORKFLOW,
    check=_check,
    iterations=30,
    lr=0.05,
    start_step=45,
    prior="none",
    style_index=0,
    **dict(COMMON, batch=4, target_digit=0),
)
def digits_style(name, *, style_index, **kw):
    task = _build(name, "latent", **kw)
    style = held_out(kw["target_digit"])
    if not 0 <= style_index < len(style):
        raise ValueError(f"style_index must be in 0..{len(style) - 1} for digit {kw['target_digit']}")
    features = ClassifierStage(task.reward_fn.classifier)
    image = style[style_index : style_index + 1].to(dtype=kw["dtype"], device=kw["device"])
    task.reward_fn = GramStyleReward(features, image)
    task.reward_name = "gram-style"
    task.resident = task.resident.replace("(reward)", "(first stage: the style loss)")
    return task


@register(
    "digits-latent-improve",
    "digits UNet, the authors' real-image regime: held-out 8s DDIM-inverted to step 10 of 50, the "
    "inverted state optimized toward a 3",
    workflow=WORKFLOW,
    check=_check,
    iterations=30,
    lr=0.02,
    invert_steps=40,
    prior="none",
    source_digit=8,
    **dict(COMMON, batch=4),
)
def digits_improve(name, *, invert_steps, **kw):
    task = _build(name, "latent", **kw)
    pool = held_out(kw["source_digit"])
    pick = torch.randperm(len(pool), generator=torch.Generator().manual_seed(kw["seed"]))[: kw["batch"]]
    originals = pool[pick].to(dtype=kw["dtype"], device=kw["device"])
    x_s = task.invert(originals, invert_steps)
    task.start_at(task.steps - invert_steps, x_s)
    task.judge = FidelityJudge(task.judge, to_unit(originals))
    return task
