"""The paper's two released experiments at full scale: Stable Diffusion 1.4 (local weights), as the
authors' scripts set them (github.com/deng-ai-lab/SDO @aac676b; docs/paper-experiments.md).

* ``sd14-latent-style`` — style-guided generation (``style_guide_implict.py``): DDIM, 50 steps, eta 0, on
  the authors' scheduler (scaled-linear betas 0.00085–0.012, ``clip_sample`` and ``set_alpha_to_one``
  off); classifier-free guidance 5.0 against the empty prompt; the prompt "A portrait of Caleb, a
  character from the Critical Role series."; the first 45 steps run once without gradient from a seeded
  x_T, x_45 is optimized and each iteration runs the last 5. The reward is minus the style loss
  (:mod:`sdo_bench.rewards.style`): Gram matrices of CLIP ViT-B/16's tokens after transformer block 2,
  CLS left out, for the image and the style image (``style_image``: center-cropped, resized to the model's
  512 px with Lanczos as the script does), both resized to 224 bicubic and CLIP-normalized. Adam with
  betas (0.9, 0.9) (``optimizer: adam-beta2-0.9``), lr 0.01, 200 iterations.
* ``sd14-latent-aesthetic`` — improving a real image (``aesthetic_implict.py``): unconditional (the empty
  prompt, no guidance). ``real_image`` (center-cropped, 512 px) is encoded by the VAE (× 0.18215) and
  DDIM-inverted up to the state the last 40 steps start from (start step 10); that state is optimized,
  each iteration samples those 40 steps and decodes. The reward is minus the authors' loss
  ``|aesthetic − 10|`` (:mod:`sdo_bench.rewards.laion_linear`: LAION's linear heads on CLIP ViT-L/14 and
  ViT-B/32, weights 0.5 and 1.5, 16 cutouts of cut power 0.3, scores clipped to [1, 10]). Adam (0.9,
  0.9), lr 0.01, 100 iterations. Fidelity to the real image is reported beside it.

What the suite chose, and why (each also in the docs page): the VAE encoding takes the posterior's mean
(the script draws a sample: one more source of randomness between methods); the cutouts are drawn once
per task from the seed (the script redraws them at every call: the objective would not be one function,
and no gradient could be compared with an exact one); the inversion goes up to where the sampled steps
begin (the script inverts 10 steps, to t = 180, and samples from t = 780: the noise levels at the
hand-off disagree). The step of the sampler is the suite's DDIM step, the same arithmetic as diffusers'
``DDIMScheduler.step`` with eta 0.
"""

from __future__ import annotations

import torch

from ...measure.counters import CountingNetwork
from ...rewards.clip_models import load_clip
from ...rewards.laion_linear import WHERE_CLIPS, WHERE_HEADS, load_laion_linear
from ...rewards.style import ClipBlockTokens, GramStyleReward
from ...sampling.ddim import DDIMSampler
from ...spec import settings as S
from ...weights import WeightsError, require, skipped
from ..base import Task, seeded_normal
from ..fidelity import FidelityJudge
from ..registry import register
from . import pipeline as sd

#: the authors' scheduler (both scripts build it so: steps_offset 0, "leading" spacing)
AUTHORS_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                         num_train_timesteps=1000, clip_sample=False, set_alpha_to_one=False)  # fmt: skip
STYLE_PROMPT = "A portrait of Caleb, a character from the Critical Role series."
WHERE_SD14 = (
    "download Stable Diffusion 1.4 in diffusers format once, e.g. `huggingface-cli download "
    "CompVis/stable-diffusion-v1-4 --local-dir PATH` (the directory with model_index.json), and point "
    "the option at PATH"
)
WHERE_STYLE_CLIP = (
    "OpenAI's CLIP ViT-B/16 weights: ViT-B-16.pt (openaipublic) or open_clip_pytorch_model.bin of the hub "
    "repo timm/vit_base_patch16_clip_224.openai; download once, point the option at it"
)
WHERE_IMAGE = "any RGB image file (the authors' style images are in github.com/deng-ai-lab/SDO, style_image/)"


def load_image(path, *, key: str, size: int, dtype, device) -> torch.Tensor:
    """The image file at ``path`` as the scripts load it — EXIF orientation applied, RGB, the central
    square, resized to ``size`` with Lanczos — as (1, 3, size, size) in [0, 1]. Under the cost model a
    gray image of that shape (nothing is read)."""
    path = require(path, key=key, where=WHERE_IMAGE)
    if path is None:
        return torch.full((1, 3, size, size), 0.5, dtype=dtype, device=device)
    import numpy as np
    from PIL import Image, ImageOps

    try:
        img = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    except Exception as e:  # noqa: BLE001 - an unreadable file is a user error, say which
        raise WeightsError(
            f"{key}: {path} is not an image PIL can read ({type(e).__name__}). {WHERE_IMAGE}"
        ) from None
    w, h = img.size
    m = min(w, h)
    img = img.crop(((w - m) / 2, (h - m) / 2, (w + m) / 2, (h + m) / 2)).resize((size, size), Image.LANCZOS)
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    return x.to(dtype=dtype, device=device)


def _check(s: dict, built=()) -> None:
    S.number("guidance_scale", s["guidance_scale"], signed=True, dtype=s["dtype"])
    require(s["sd14_path"], key="sd14_path", expected=sd.PIPELINE_FILES, kind="dir", where=WHERE_SD14)
    if "style_block" in s:
        S.integer("style_block", s["style_block"], least=0)
        for key, where in (("style_image", WHERE_IMAGE), ("style_clip", WHERE_STYLE_CLIP)):
            require(s[key], key=key, where=where)
    else:
        S.integer("invert_steps", s["invert_steps"], least=1, most=s["steps"])
        S.integer("cutouts", s["cutouts"], least=1)
        S.strings("aesthetic_models", s["aesthetic_models"])
        if len(s["aesthetic_models"]) != 2:
            raise ValueError(
                "aesthetic_models: two open_clip architectures, the ViT-L/14 and ViT-B/32 towers"
            )
        require(s["real_image"], key="real_image", where=WHERE_IMAGE)
        for tower in ("l", "b"):
            require(s[f"aesthetic_clip_{tower}"], key=f"aesthetic_clip_{tower}", where=WHERE_CLIPS)
            require(s[f"aesthetic_head_{tower}"], key=f"aesthetic_head_{tower}", where=WHERE_HEADS)
        if s.get("start_step"):
            raise ValueError(
                "start_step: sd14-latent-aesthetic starts where the inversion ends (set invert_steps)"
            )


def _pipeline(sd14_path, dtype, device):
    if skipped():  # the cost model: SD 1.4 has SD 1.5's architecture
        return sd.pipeline_from_configs(sd.sd15_configs(), dtype=dtype, device=device)
    return sd.load_pipeline(sd14_path, key="sd14_path", dtype=dtype, device=device, where=WHERE_SD14)


def _task(name, pipe, *, reward_fn, reward_name, cond, uncond, guidance, steps, seed, dtype, device, batch,
          resident) -> Task:  # fmt: skip
    from diffusers import DDIMScheduler

    noise = seeded_normal(sd.latent_shape(pipe, batch), seed, dtype, device).requires_grad_(True)
    return Task(
        name=name, model_name="sd14", reward_name=reward_name, target="latent",
        network=CountingNetwork(sd.SDDenoiser(pipe.unet)),
        sampler=DDIMSampler(DDIMScheduler(**AUTHORS_SCHEDULER), steps), reward_fn=reward_fn,
        params=[noise], noise=noise, decode=sd.decoder(pipe),
        condition=lambda n: cond.expand(n, -1, -1),
        uncondition=None if uncond is None else (lambda n: uncond.expand(n, -1, -1)),
        guidance_scale=float(guidance) if uncond is not None else 1.0, pipeline=pipe, resident=resident,
    )  # fmt: skip


@register(
    "sd14-latent-style",
    "SD 1.4 (local weights), the authors' style-guided generation: x_45 of 50 for a CLIP Gram style loss",
    check=_check,
    steps=50, start_step=45, batch=1, iterations=200, lr=0.01, optimizer="adam-beta2-0.9",
    prompts=[STYLE_PROMPT], guidance_scale=5.0, sd14_path=None, style_image=None, style_clip=None,
    style_model="ViT-B-16", style_block=2, prior="none",
)  # fmt: skip
def sd14_latent_style(name, *, sd14_path, style_image, style_clip, style_model, style_block, prompts,
                      guidance_scale, steps, seed, dtype, device, batch, **_) -> Task:  # fmt: skip
    pipe = _pipeline(sd14_path, dtype, device)
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    clip = load_clip(
        style_model, style_clip, key="style_clip", where=WHERE_STYLE_CLIP, dtype=dtype, device=device
    )
    style = load_image(style_image, key="style_image", size=size, dtype=dtype, device=device)
    reward = GramStyleReward(ClipBlockTokens(clip, style_block), style)
    cond, uncond = sd.encode_prompts(pipe, S.strings("prompts", prompts)[:1])
    return _task(name, pipe, reward_fn=reward, reward_name="clip-gram-style", cond=cond, uncond=uncond[:1],
                 guidance=guidance_scale, steps=steps, seed=seed, dtype=dtype, device=device, batch=batch,
                 resident="UNet, VAE, CLIP-L text encoder (resident), CLIP ViT-B/16 (style loss)",
                 )  # fmt: skip


@register(
    "sd14-latent-aesthetic",
    "SD 1.4 (local weights), the authors' real-image experiment: a real image inverted to step 10 of 50, "
    "optimized for LAION's linear aesthetic heads",
    check=_check,
    steps=50, invert_steps=40, batch=1, iterations=100, lr=0.01, optimizer="adam-beta2-0.9",
    guidance_scale=1.0, sd14_path=None, real_image=None, aesthetic_clip_l=None, aesthetic_clip_b=None,
    aesthetic_head_l=None, aesthetic_head_b=None, aesthetic_models=["ViT-L-14", "ViT-B-32"], cutouts=16,
    prior="none",
)  # fmt: skip
def sd14_latent_aesthetic(name, *, sd14_path, real_image, invert_steps, steps, seed, dtype, device, batch,
                          **s) -> Task:  # fmt: skip
    pipe = _pipeline(sd14_path, dtype, device)
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    reward = load_laion_linear(s, dtype=dtype, device=device, seed=seed)
    _, empty = sd.encode_prompts(pipe, [""])
    task = _task(name, pipe, reward_fn=reward, reward_name="laion-linear-aesthetic", cond=empty[:1],
                 uncond=None,
                 guidance=1.0, steps=steps, seed=seed, dtype=dtype, device=device, batch=batch,
                 resident="UNet, VAE, CLIP-L text encoder (resident), CLIP ViT-L/14 and ViT-B/32 "
                          "+ LAION heads")  # fmt: skip
    image = load_image(real_image, key="real_image", size=size, dtype=dtype, device=device).expand(
        batch, -1, -1, -1
    )
    with torch.no_grad():
        latent = pipe.vae.encode(image * 2 - 1).latent_dist.mean * pipe.vae.config.scaling_factor
    task.start_at(steps - invert_steps, task.invert(latent, invert_steps))
    task.judge = FidelityJudge(None, image)
    return task
