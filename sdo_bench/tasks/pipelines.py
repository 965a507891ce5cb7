"""Loading a diffusers pipeline from a local directory: the one loader of every latent-diffusion family
(SD1.5, SDXL, SD3/3.5, FLUX.1) and of their tiny random-weight versions saved with ``save_pretrained``.

``from_pretrained(path, local_files_only=True)``: nothing downloads. A missing directory, a directory
without the pipeline's files, or one that does not load is one :class:`~sdo_bench.weights.WeightsError`
naming the option, the files expected and where users get them. Every loaded module is frozen and in
eval mode; no safety checker.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..weights import WeightsError, require
from .base import frozen

#: the text encoders a pipeline may hold (attribute names), in the pipelines' order
TEXT_ENCODER_ATTRS = ("text_encoder", "text_encoder_2", "text_encoder_3")


def quiet_progress_bars() -> None:
    """No per-component loading bars from diffusers/transformers in run logs."""
    import diffusers.utils.logging as dlog
    import transformers.utils.logging as tlog

    dlog.disable_progress_bar()
    tlog.disable_progress_bar()


def load(
    cls_name: str,
    path,
    *,
    key: str,
    files: tuple[str, ...],
    where: str,
    dtype: torch.dtype = torch.float32,
    device="cpu",
    scheduler: str | None = None,
):
    """The diffusers pipeline ``cls_name`` (e.g. ``"FluxPipeline"``) saved at ``path``, frozen, on
    ``device`` in ``dtype``; ``scheduler``: a diffusers scheduler class built from the directory's own
    scheduler config in place of the saved one (SD and SDXL: ``"DDIMScheduler"``, the paper's sampler)."""
    import diffusers

    path = require(path, key=key, expected=files, kind="dir", where=where)
    saved = _class_name(path / "model_index.json")
    if saved is not None and saved != cls_name:
        raise WeightsError(
            f"{key}: {path} holds a {saved} (model_index.json), not the {cls_name} this task needs. {where}"
        )
    quiet_progress_bars()
    extra = {}
    if cls_name == "StableDiffusionPipeline":  # the one family that ships a safety checker
        extra = dict(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    try:
        pipe = getattr(diffusers, cls_name).from_pretrained(path, dtype=dtype, local_files_only=True, **extra)
    except Exception as e:  # noqa: BLE001 - any failure here is an unusable directory for the user
        raise WeightsError(
            f"{key}: {cls_name} at {path} could not be loaded "
            f"({type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}). {where}"
        ) from None
    if scheduler is not None:
        pipe.scheduler = getattr(diffusers, scheduler).from_config(pipe.scheduler.config)
    return freeze(pipe, dtype, device)


def freeze(pipe, dtype: torch.dtype, device):
    """Every module of ``pipe`` frozen, in eval mode, on ``device`` in ``dtype``; no progress bars."""
    pipe.set_progress_bar_config(disable=True)
    for module in pipe.components.values():
        if isinstance(module, torch.nn.Module):
            frozen(module, dtype, device)
    return pipe


def _class_name(index: Path) -> str | None:
    """The pipeline class a saved directory declares (None where its index does not say)."""
    import json

    try:
        found = json.loads(index.read_text()).get("_class_name")
    except (OSError, ValueError, AttributeError):
        return None  # from_pretrained says what is wrong with it
    return found if isinstance(found, str) else None


def save(pipe, out: str | Path) -> Path:
    """``pipe.save_pretrained(out)`` in safetensors: a directory :func:`load` reads back."""
    pipe.save_pretrained(Path(out), safe_serialization=True)
    return Path(out)


def ensure_saved(name: str, build, out=None, seed: int = 0) -> Path:
    """A tiny pipeline's directory ``out`` (default ``$SDO_BENCH_CACHE/<name>``), ``build(seed)`` saved
    there first if it is not (atomically: concurrent jobs never see half a directory)."""
    from ..weights import cache_dir, ensure_built

    target = Path(out) if out else cache_dir(name)
    return ensure_built(target, "model_index.json", lambda tmp: save(build(seed), tmp))


def text_encoders(pipe) -> dict[str, torch.nn.Module]:
    """The pipeline's text encoders that are present, by attribute name."""
    return {a: getattr(pipe, a) for a in TEXT_ENCODER_ATTRS if getattr(pipe, a, None) is not None}


def drop_text_encoders(pipe) -> None:
    """``text_encoders: precomputed``: the prompts are encoded; the encoders leave the pipeline (and the
    device) before the first gradient, so that neither memory nor the tracker sees them."""
    import gc

    for attr in text_encoders(pipe):
        setattr(pipe, attr, None)
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


#: the tiny random-weight pipelines ``sdo-bench build-tiny`` saves, by family (module paths)
TINY = {
    "sd": "sdo_bench.tasks.stable_diffusion.tiny",
    "sdxl": "sdo_bench.tasks.sdxl.tiny",
    "sd3": "sdo_bench.tasks.sd3.tiny",
    "flux": "sdo_bench.tasks.flux.tiny",
}


def build_tiny(family: str, out: Path, clip_out: Path, seed: int = 0) -> str:
    """``sdo-bench build-tiny``: the tiny ``family`` pipeline saved into ``out`` and the tiny open_clip
    checkpoints (the tiny reward) into ``clip_out``; what to pass the tiny tasks."""
    import importlib

    from ..records.io import check_dir
    from ..rewards import tiny_clip

    check_dir(out, "--sd-out")
    check_dir(clip_out, "--clip-out")
    pipe_dir = importlib.import_module(TINY[family]).ensure(out, seed=seed)
    clip_dir = tiny_clip.ensure(clip_out, seed=seed)
    tasks = "tiny-sd" if family == "sd" else f"tiny-{family}"
    return (
        f"{tasks} in {pipe_dir} (--set weights_dir={pipe_dir}); "
        f"tiny open_clip in {clip_dir} (--set reward_dir={clip_dir})"
    )
