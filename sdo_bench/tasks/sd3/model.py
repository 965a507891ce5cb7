"""Stable Diffusion 3 / 3.5 as a velocity field, a prompt conditioning and a differentiable VAE decode.

The pipeline's own loop (``StableDiffusion3Pipeline``), written out: the MMDiT transformer predicts
the velocity ``v = transformer(x, t, prompt_embeds, pooled)`` with ``t = σ · 1000`` (a (B,) float32
tensor, as the pipeline passes it); guidance ``v = v_u + w (v_c − v_u)`` on the doubled batch;
``image = clamp(vae.decode(x / scaling_factor + shift_factor) / 2 + 1/2, 0, 1)`` — in the graph.

The conditioning is the pipeline's: ``prompt_embeds`` (B, 77 + T5 tokens, 4096) — CLIP-L and
OpenCLIP-bigG hidden states side by side, zero-padded to T5-XXL's width, then T5's tokens — and
``pooled`` (B, 2048), the two CLIP encoders' pooled projections.
"""

from __future__ import annotations

import torch
from torch import nn

#: CLIP's 77 tokens then T5's (the pipeline's max_sequence_length, 256)
CLIP_TOKENS, T5_TOKENS = 77, 256

#: tiny-sd3: the MMDiT's code path (dual attention, qk-norm) on a CPU; random weights
TINY = {
    "transformer": dict(
        sample_size=16, patch_size=1, in_channels=4, num_layers=2, attention_head_dim=8,
        num_attention_heads=2, joint_attention_dim=16, caption_projection_dim=16,
        pooled_projection_dim=16, out_channels=4, pos_embed_max_size=32, dual_attention_layers=(0,),
        qk_norm="rms_norm",
    ),
    "vae": dict(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), layers_per_block=1,
        latent_channels=4, norm_num_groups=4, sample_size=32, use_quant_conv=False,
        use_post_quant_conv=False, scaling_factor=1.5305, shift_factor=0.0609,
    ),
    "scheduler": dict(num_train_timesteps=1000, shift=3.0),
    "tokens": 8,
}  # fmt: skip


def timesteps(t, x: torch.Tensor) -> torch.Tensor:
    """The pipeline's timestep argument: one float32 value per sample."""
    if isinstance(t, torch.Tensor) and t.numel() > 1:
        return t.to(torch.float32)
    return torch.full((x.shape[0],), float(t), dtype=torch.float32, device=x.device)


class SD3Denoiser(nn.Module):
    """``v(x, t, c)`` of the MMDiT, with ``c = {"prompt_embeds", "pooled"}``."""

    def __init__(self, transformer):
        super().__init__()
        self.transformer = transformer

    def forward(self, x, t, cond):
        return self.transformer(
            hidden_states=x,
            timestep=timesteps(t, x),
            encoder_hidden_states=cond["prompt_embeds"],
            pooled_projections=cond["pooled"],
            return_dict=False,
        )[0]


def vae_scale(vae) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)
