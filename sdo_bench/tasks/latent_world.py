"""One builder for the latent-diffusion families of 2023–2025 (``sdxl``, ``sd3``, ``flux``): a
:class:`World` says what a family's model is — denoiser, sampler, VAE decode, prompt conditioning,
what stays resident — and :func:`build_task` makes the task for a target from it, the same way for
every family (the targets as the Stable Diffusion 1.5 family builds them):

* ``latent``: x_T of the batch;
* ``condition``: every tensor of the per-prompt conditioning (prompt embeddings and pooled embedding);
  the null conditioning of classifier-free guidance stays fixed;
* ``lora``: a peft LoRA adapter on the denoiser's attention projections (B = 0: the model starts
  unchanged), trained on a fixed set of noises and evaluated on ``eval_batch`` held-out ones.

A family's parts come from its diffusers pipeline — the user's local directory at paper scale, or the
family's tiny random pipeline saved to disk — loaded by :func:`open_pipeline`, with the conditioning its
own ``encode_prompt`` makes (:func:`encoded`). Under the cost model (:func:`sdo_bench.weights.configs_only`)
the paper-scale models are built from their shipped configs on fake tensors; each cost row says what is
resident (:attr:`World.resident`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..measure.counters import CountingNetwork
from ..spec import outputs
from ..spec import settings as S
from ..weights import require, skipped
from .base import Task, add_lora, seeded_normal
from .registry import WorkflowFiles

TINY_PROMPTS = ["a red cube on a wooden table", "a watercolor painting of a lighthouse at dusk"]

#: written for this suite (not from any benchmark's prompt set): varied subjects and styles
PAPER_PROMPTS = [
    "a corgi wearing a yellow raincoat in a city street, photograph",
    "an old stone bridge over a misty river at sunrise, oil painting",
    "a bowl of ramen with a soft-boiled egg, studio food photography",
    "a futuristic library with floating books, digital art",
]

#: the attention projections LoRA adapts in every latent-diffusion denoiser (diffusers' LoRA scripts)
LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]

#: tiny worlds built from configs in code (tiny-sd3, tiny-flux) need only the tiny reward's checkpoint
TINY_REWARD_WORKFLOW = WorkflowFiles(
    inputs={"reward_dir": outputs.TINY_CLIP_FILES}, defaults={"reward_dir": outputs.TINY_CLIP}
)


def check_tiny_reward(s: dict, built=(), *more) -> None:
    """The tiny checkpoints a tiny task names (``reward_dir``, and ``more`` (key, files) pairs), where
    set; unset ones are built into the cache when first used."""
    where = "build it with `sdo-bench build-tiny` (or leave the option unset)"
    for key, files in (*more, ("reward_dir", ("hps.pt", *outputs.TINY_CLIP_FILES))):
        if s.get(key) is not None and key not in built:
            require(s[key], key=key, expected=files, kind="dir", where=where)


def vae_decoder(vae, *, upcast: bool = False):
    """latents -> images in [0, 1] (B, 3, H, W), differentiable: the pipelines' decode and postprocess,
    ``vae.decode(x / scaling_factor + shift_factor) / 2 + 1/2`` clamped (SD1.5 and SDXL: no shift).
    ``upcast``: the VAE runs in float32 on float32 latents and the image comes back in the latents'
    dtype (SDXL's pipeline in float16: its VAE overflows in half precision, ``force_upcast``)."""
    scale, shift = float(vae.config.scaling_factor), float(getattr(vae.config, "shift_factor", None) or 0.0)
    if upcast:
        from .base import frozen

        frozen(vae, torch.float32, next(vae.parameters()).device)

    def decode(latents: torch.Tensor) -> torch.Tensor:
        dtype = latents.dtype
        latents = latents / scale
        if shift:
            latents = latents + shift
        if upcast:
            latents = latents.to(torch.float32)
        image = vae.decode(latents, return_dict=False)[0]
        return (image / 2 + 0.5).clamp(0, 1).to(dtype)

    return decode


#: the text encoders: kept on the device beside the denoiser (their weights count), or dropped after
#: the prompts are encoded once (the embeddings are precomputed; many users drop T5 from the GPU)
TEXT_ENCODERS = ("resident", "precomputed")

#: the targets' settings: the tiny worlds (CPU-sized) and the paper-scale models (batch 1)
TINY_TARGETS = {
    "latent": dict(iterations=5, lr=0.05),
    "condition": dict(iterations=5, lr=0.01),
    "lora": dict(iterations=5, lr=1e-3, lora_rank=4, eval_batch=4),
}
PAPER_TARGETS = {
    "latent": dict(iterations=20, lr=0.01),
    "condition": dict(iterations=20, lr=1e-3),
    "lora": dict(iterations=20, lr=1e-4, lora_rank=4, eval_batch=2),
}


def check_options(s: dict, built=(), *, resolution: dict | None = None, paths: dict | None = None) -> None:
    """The options every task of these families takes, each by its rule, then its local files: a tiny
    world's (``resolution`` None: the saved tiny pipeline ``weights_dir`` holding ``paths["files"]``, and
    the reward checkpoint, where set), or a paper-scale model's ``resolution``
    (:func:`sdo_bench.spec.settings.resolution`'s ``multiple``, ``top`` and ``model``) and its weights
    (``paths``: :func:`check_paper_weights`'s ``key``, ``files`` and ``where``)."""
    S.strings("prompts", s["prompts"])
    S.number("guidance_scale", s["guidance_scale"], signed=True, dtype=s["dtype"])
    S.integer("lora_rank", s.get("lora_rank", 1), least=1)
    S.optional(S.integer, "eval_batch", s.get("eval_batch"), least=1)
    S.choice("text_encoders", s["text_encoders"], TEXT_ENCODERS)
    if resolution is None:
        check_tiny_reward(s, built, *([("weights_dir", paths["files"])] if paths else []))
        return
    S.resolution(s["resolution"], **resolution)
    if paths:
        check_paper_weights(s, **paths)


@dataclass
class World:
    """What a family builds for one model (module doc)."""

    model_name: str
    #: ``net(x, t, cond) -> prediction``: the family's denoiser (a module; ``cond`` a dict of tensors)
    denoiser: torch.nn.Module
    #: the module LoRA adapts (diffusers' ``add_adapter``) and the projections it adapts
    adapted: Any
    lora_targets: list[str]
    sampler: Any
    decode: Callable[[torch.Tensor], torch.Tensor]
    latent_shape: Callable[[int], tuple]
    #: per-prompt conditioning: a dict of tensors with one row per distinct prompt
    cond: dict[str, torch.Tensor]
    #: null conditioning (one row) for classifier-free guidance; None: the model takes no guidance batch
    uncond: dict[str, torch.Tensor] | None
    guidance_scale: float
    reward_fn: Callable[[torch.Tensor], torch.Tensor]
    #: every module that stays in memory (denoiser, VAE, text encoders where resident, reward model)
    modules: dict[str, torch.nn.Module] = field(default_factory=dict)
    #: what the task's cost rows say is in memory, e.g. "transformer, VAE, CLIP-L, CLIP-G, T5-XXL, HPSv2"
    resident: str = ""


def _expanded(cond: dict, n: int) -> dict:
    return {k: v.expand(n, *v.shape[1:]) for k, v in cond.items()}


def _rows(cond: dict, n: int) -> dict:
    first = next(iter(cond.values()))
    idx = torch.arange(n, device=first.device) % first.shape[0]
    return {k: v[idx] for k, v in cond.items()}


def build_task(name, target, world: World, *, prompts, steps, batch, iterations, seed, dtype, device,
               lr, optimizer, lora_rank=4, eval_batch=None, **_) -> Task:  # fmt: skip
    """The task ``name`` optimizing ``target`` on ``world`` (module doc)."""
    cond = world.cond
    noise = seeded_normal(world.latent_shape(batch), seed, dtype, device)
    eval_noise = None
    params: list[torch.Tensor]
    if target == "latent":
        noise.requires_grad_(True)
        params = [noise]
    elif target == "condition":
        cond = {k: v.detach().clone().requires_grad_(True) for k, v in cond.items()}
        params = list(cond.values())
    elif target == "lora":
        params = add_lora(world.adapted, lora_rank, seed, world.lora_targets)
        eval_noise = seeded_normal(world.latent_shape(eval_batch or 2 * batch), seed + 10_000, dtype, device)
    else:
        raise ValueError(f"unknown target {target!r}")
    uncond = world.uncond
    task = Task(
        name=name,
        model_name=world.model_name,
        reward_name="hpsv2",
        target=target,
        network=CountingNetwork(world.denoiser),
        sampler=world.sampler,
        reward_fn=world.reward_fn,
        params=params,
        noise=noise,
        decode=world.decode,
        condition=lambda n: _rows(cond, n),
        uncondition=None if uncond is None else (lambda n: _expanded(uncond, n)),
        guidance_scale=float(world.guidance_scale) if uncond is not None else 1.0,
        eval_noise=eval_noise,
        pipeline=world.modules,
        prompts=[prompts[i % len(prompts)] for i in range(batch)],
        resident=world.resident,
    )  # fmt: skip
    return task


def seeded_embeddings(shapes: dict[str, tuple], prompts: list[str], seed: int, dtype, device) -> dict:
    """Per-prompt conditioning of the given shapes without a text encoder: a seeded normal draw per
    prompt (tiny worlds: random weights have no text to read; the paper-scale cost model: values that
    fake tensors never read). Shapes exclude the prompt axis."""
    out = {}
    for j, (key, shape) in enumerate(shapes.items()):
        out[key] = seeded_normal((len(prompts), *shape), seed * 1000 + j, dtype, device)
    return out


def hps_reward(model: str, s: dict, *, dtype, device):
    """HPSv2: the tiny random open_clip on a tiny world (HPS's code path, no meaning); at paper scale
    the user's checkpoint (``hps_checkpoint``, ``hps_version``, ``hps_model``), or under the cost model
    ViT-H-14 built from open_clip's config."""
    from ..rewards import clip_models, tiny_clip
    from ..rewards.hpsv2 import load_hpsv2

    if model.startswith("tiny"):
        hps = None if skipped() else tiny_clip.ensure(s.get("reward_dir")) / "hps.pt"
        return load_hpsv2(
            hps, list(s["prompts"]), key="reward_dir", model=clip_models.TINY, dtype=dtype, device=device
        )
    return load_hpsv2(
        s.get("hps_checkpoint"), list(s["prompts"]), version=s.get("hps_version", "v2.1"),
        model=s.get("hps_model", "ViT-H-14"), dtype=dtype, device=device,
    )  # fmt: skip


def check_paper_weights(s: dict, *, key: str, files, where: str) -> None:
    """A paper-scale task's local files, before anything large is loaded: the pipeline directory
    ``key`` and the HPSv2 checkpoint (one line each, naming the option, the files and where to get
    them)."""
    from ..rewards.hpsv2 import VERSIONS, WHERE

    S.choice("hps_version", s["hps_version"], VERSIONS)
    require(s[key], key=key, expected=files, kind="dir", where=where)
    require(s["hps_checkpoint"], key="hps_checkpoint", where=WHERE)


#: the HPSv2 options of every paper-scale task (the open_clip architecture is an option only so that
#: tests can run these tasks on tiny checkpoints)
HPS = dict(hps_checkpoint=None, hps_version="v2.1", hps_model="ViT-H-14")


def open_pipeline(cls_name: str, tiny, s: dict, *, key: str, files, where: str, scheduler=None):
    """The family's pipeline for the task settings ``s``: ``tiny`` (the family's tiny module, or None at
    paper scale) built in code under the cost model, else the saved tiny pipeline (``weights_dir``, made
    in the cache when unset); at paper scale the user's directory ``s[key]``, loaded by
    :func:`sdo_bench.tasks.pipelines.load` (``scheduler``: its class in place of the saved one)."""
    from . import pipelines

    dtype, device = s["dtype"], s["device"]
    if tiny is not None and skipped():
        return pipelines.freeze(tiny.pipeline(), dtype, device)
    if tiny is not None:
        key, where = "weights_dir", WHERE_TINY.format(family=tiny.__name__.split(".")[-2])
        path = tiny.ensure(s.get("weights_dir"))
    else:
        path = s.get(key)
    return pipelines.load(cls_name, path, key=key, files=files, where=where, dtype=dtype, device=device,
                          scheduler=scheduler)  # fmt: skip


#: how a user makes a tiny pipeline directory for ``weights_dir``
WHERE_TINY = (
    "save one with `sdo-bench build-tiny --family {family} --sd-out DIR --clip-out DIR` (or leave "
    "weights_dir unset: it is built in the cache)"
)


def encoded(pipe, encode, prompts, mode: str, labels: str):
    """The per-prompt and null conditioning the pipeline's own ``encode_prompt`` makes (``encode(pipe,
    prompts) -> (cond, uncond)``, under no_grad), the text encoders kept (``resident``) or dropped
    (``precomputed``), and the words a cost row uses for them."""
    import diffusers.utils.logging as dlog

    from . import pipelines
    from .text_encoders import resident_words

    level = dlog.get_verbosity()
    dlog.set_verbosity_error()  # no per-prompt notice that T5's tokens are truncated (as configured)
    try:
        with torch.no_grad():
            cond, uncond = encode(pipe, list(prompts))
    finally:
        dlog.set_verbosity(level)
    encoders = pipelines.text_encoders(pipe)
    if mode == "precomputed":
        pipelines.drop_text_encoders(pipe)
        encoders = {}
    return cond, uncond, encoders, resident_words(labels, mode)
