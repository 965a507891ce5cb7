"""The ``digits`` model: a small class-conditional ``diffusers.UNet2DModel`` trained on the bundled digits.

Classes 0–9 plus a null class (10) for classifier-free guidance; trained with the usual ε-prediction
loss on the same linear-β DDPM schedule the sampler uses, the label dropped to the null class 10% of the
time, with an EMA of the weights (diffusers' ``EMAModel``). ``sdo-bench train-model`` trains it and
saves it with ``save_pretrained``; :func:`load_unet` loads it with ``from_pretrained`` from a local
directory only.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from torch import nn
from tqdm.auto import tqdm

from ...weights import WeightsError, skipped
from .data import IMAGE_SIZE, load_split

NULL_CLASS = 10
NUM_CLASSES = 10
TRAIN_COMMAND = "sdo-bench train-model --out {path}"
#: where each training objective's model lives in a weights directory: the DDPM, the rectified flow
MODEL_DIRS = {"epsilon": "unet", "flow": "flow_unet"}
OBJECTIVES = tuple(MODEL_DIRS)


def unet_config(size: int = IMAGE_SIZE) -> dict:
    return dict(
        sample_size=size,
        in_channels=1,
        out_channels=1,
        block_out_channels=(16, 32),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        num_class_embeds=NUM_CLASSES + 1,
        norm_num_groups=8,
        attention_head_dim=8,
        add_attention=False,
    )


def noise_schedule_config() -> dict:
    return dict(num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02)


#: the rectified flow's sampler: flow-matching Euler, no shift, on the training's t = 1000 σ
FLOW_SCHEDULER = dict(num_train_timesteps=1000, shift=1.0)


def sampler(objective: str, steps: int):
    """The sampler of the model trained with ``objective``: DDIM on the DDPM's schedule, or
    flow-matching Euler for the rectified flow."""
    if objective == "flow":
        from ...sampling.flow import FlowMatchSampler, flow_scheduler

        return FlowMatchSampler(flow_scheduler(FLOW_SCHEDULER), steps)
    from ...sampling.ddim import DDIMSampler

    return DDIMSampler(ddim_scheduler(), steps)


def ddim_scheduler() -> DDIMScheduler:
    """The sampler's scheduler: the training schedule; the last step lands on the clean sample."""
    return DDIMScheduler(
        **noise_schedule_config(),
        clip_sample=False,
        set_alpha_to_one=True,
        timestep_spacing="trailing",
        steps_offset=0,
    )


class DigitsDenoiser(nn.Module):
    """``eps = model(x, t, cond)`` where ``cond`` is a class *embedding* (B, E), not a label.

    The UNet's class-embedding table is taken out of the UNet (which then adds ``cond`` to its time
    embedding as it is): the ``condition`` target optimizes that vector directly.
    """

    def __init__(self, unet: UNet2DModel):
        super().__init__()
        self.class_table = unet.class_embedding
        unet.class_embedding = nn.Identity()
        self.unet = unet

    def embed(self, labels: torch.Tensor) -> torch.Tensor:
        return self.class_table(labels)

    def forward(self, x, t, cond):
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(-1)  # one t, or one per sample
        return self.unet(x, t, class_labels=cond).sample


# -- loading ---------------------------------------------------------------------------------------
def load_unet(path: str | Path) -> UNet2DModel:
    """Load the trained UNet from a local directory; a clear error names the path and the fix."""
    path = Path(path)
    command = TRAIN_COMMAND.format(path=path.parent)  # train-model writes OUT/unet or OUT/flow_unet
    fix = f"create it with `{command}{' --objective flow' * (path.name == MODEL_DIRS['flow'])}`"
    if skipped() and (path / "config.json").is_file():  # the architecture only (cost model)
        return UNet2DModel.from_config(UNet2DModel.load_config(path))
    if not (path / "config.json").is_file():
        raise WeightsError(f"digits model weights not found at {path} (no config.json); {fix}")
    try:
        unet = UNet2DModel.from_pretrained(path, local_files_only=True)
    except Exception as e:  # noqa: BLE001 - any load failure is a corrupted directory for the user
        raise WeightsError(
            f"digits model weights at {path} could not be loaded "
            f"({type(e).__name__}: {str(e).splitlines()[0][:200]}); {fix}"
        ) from None
    return unet.eval()


# -- training --------------------------------------------------------------------------------------
def train_model(
    out: str | Path,
    *,
    steps: int = 2000,
    batch: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    cond_drop: float = 0.1,
    ema_decay: float = 0.999,
    progress: bool | None = None,
    objective: str = "epsilon",
) -> dict:
    """Train the digits UNet and save it (EMA weights) with ``save_pretrained`` to ``out``.

    ``objective``: ``epsilon`` (the DDPM: ε-prediction on the linear-β schedule) or ``flow`` (a
    rectified flow: x_σ = (1 − σ) x_0 + σ n with σ ~ U(0, 1), the network at timestep 1000 σ predicts
    the velocity n − x_0; sampled by :class:`~sdo_bench.sampling.flow.FlowMatchSampler`)."""
    from diffusers.training_utils import EMAModel

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    split = load_split()
    x_all, y_all = split.train_x, split.train_y
    unet = UNet2DModel(**unet_config())
    ema = EMAModel(unet.parameters(), decay=ema_decay)
    sched = DDPMScheduler(**noise_schedule_config())
    opt = torch.optim.AdamW(unet.parameters(), lr=lr, weight_decay=0.0)
    warm = 200
    lr_at = lambda i: lr * min(1.0, (i + 1) / warm) * 0.5 * (1 + math.cos(math.pi * i / steps))  # noqa
    log, t_start = [], time.time()
    bar = tqdm(range(steps), desc="train digits UNet", disable=progress is False, mininterval=2)
    for i in bar:
        idx = torch.randint(0, len(x_all), (batch,), generator=g)
        x0, y = x_all[idx], y_all[idx].clone()
        y[torch.rand(batch, generator=g) < cond_drop] = NULL_CLASS
        noise = torch.randn(x0.shape, generator=g)
        if objective == "flow":
            sigma = torch.rand(batch, generator=g)
            s4 = sigma.view(-1, 1, 1, 1)
            xt, target, t = (1 - s4) * x0 + s4 * noise, noise - x0, sigma * sched.config.num_train_timesteps
        else:
            t = torch.randint(0, sched.config.num_train_timesteps, (batch,), generator=g)
            xt, target = sched.add_noise(x0, noise, t), noise
        loss = F.mse_loss(unet(xt, t, class_labels=y).sample, target)
        for group in opt.param_groups:
            group["lr"] = lr_at(i)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        ema.step(unet.parameters())
        if i % 50 == 0 or i == steps - 1:
            log.append({"step": i, "loss": float(loss.detach()), "lr": lr_at(i), "s": time.time() - t_start})
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
    ema.copy_to(unet.parameters())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    unet.save_pretrained(out)
    info = {
        "steps": steps,
        "batch": batch,
        "lr": lr,
        "seed": seed,
        "cond_drop": cond_drop,
        "ema_decay": ema_decay,
        "objective": objective,
        "train_seconds": time.time() - t_start,
        "image_size": IMAGE_SIZE,
        "parameters": sum(p.numel() for p in unet.parameters()),
        "loss_log": log,
    }
    (out / "training.json").write_text(json.dumps(info, indent=1))
    info["summary"] = (
        f"trained digits {'flow ' * (objective == 'flow')}UNet ({info['parameters']} parameters)"
        f" in {info['train_seconds']:.0f} s; "
        f"final loss {log[-1]['loss']:.4f}; saved to {out}"
    )
    return info


def train_summary(out, steps: int = 2000, batch: int = 128, seed: int = 0, objective: str = "epsilon") -> str:
    """``sdo-bench train-model``: train into ``out/unet`` (``flow``: ``out/flow_unet``); one line on
    what was trained."""
    from ...records.io import check_dir

    check_dir(out, "--out")
    path = Path(out) / MODEL_DIRS[objective]
    return train_model(path, steps=steps, batch=batch, seed=seed, objective=objective)["summary"]
