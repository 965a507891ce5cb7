"""FLUX.1 as a velocity field on unpacked latents, a prompt conditioning and a differentiable VAE decode.

The pipeline's own loop (``FluxPipeline``), written out: the state is the (B, 16, H/8, W/8) latent; each
step packs it into 2×2 patches (``FluxPipeline._pack_latents``: (B, HW/4, 64) tokens with their position
ids), calls the transformer with ``timestep = t / 1000`` (t in the latents' dtype, as the pipeline
casts it), FLUX.1-dev's distilled guidance as an input (``guidance``: no doubled batch; schnell has none)
and unpacks the velocity. ``image = clamp(vae.decode(x / scaling_factor + shift_factor) / 2 + 1/2, 0, 1)``
in the graph. The conditioning: T5-XXL's ``prompt_embeds`` (B, 512 tokens — schnell 256 —, 4096) and
CLIP-L's pooled output (B, 768).
"""

from __future__ import annotations

import torch
from torch import nn

#: tiny-flux: the double- and single-stream blocks, rotary positions and guidance embedding on a CPU
TINY = {
    "transformer": dict(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=16, pooled_projection_dim=16, guidance_embeds=True,
        axes_dims_rope=(4, 4, 8),
    ),
    "vae": dict(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), layers_per_block=1,
        latent_channels=4, norm_num_groups=4, sample_size=32, use_quant_conv=False,
        use_post_quant_conv=False, scaling_factor=0.3611, shift_factor=0.1159,
    ),
    "scheduler": dict(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5,
                      max_shift=1.15, base_image_seq_len=256, max_image_seq_len=4096),
    "tokens": 8,
}  # fmt: skip


class FluxDenoiser(nn.Module):
    """``v(x, t, c)`` of the FLUX transformer on unpacked latents, ``c = {"prompt_embeds", "pooled"}``;
    ``guidance``: the distilled guidance scale (None: a model without guidance embedding)."""

    def __init__(self, transformer, guidance: float | None):
        super().__init__()
        self.transformer = transformer
        self.guidance = guidance

    def forward(self, x, t, cond):
        from diffusers import FluxPipeline

        B, C, H, W = x.shape
        packed = FluxPipeline._pack_latents(x, B, C, H, W)
        img_ids = FluxPipeline._prepare_latent_image_ids(B, H // 2, W // 2, x.device, x.dtype)
        emb = cond["prompt_embeds"]
        txt_ids = torch.zeros(emb.shape[1], 3, device=x.device, dtype=x.dtype)
        if isinstance(t, torch.Tensor) and t.numel() > 1:
            timestep = t.to(x.dtype)
        else:
            timestep = torch.full((B,), float(t), dtype=x.dtype, device=x.device)
        guidance = None
        if self.guidance is not None:
            guidance = torch.full([1], self.guidance, device=x.device, dtype=torch.float32).expand(B)
        v = self.transformer(
            hidden_states=packed,
            timestep=timestep / 1000,
            guidance=guidance,
            pooled_projections=cond["pooled"],
            encoder_hidden_states=emb,
            txt_ids=txt_ids,
            img_ids=img_ids,
            return_dict=False,
        )[0]
        return unpack(v, B, C, H, W)


def unpack(tokens: torch.Tensor, B: int, C: int, H: int, W: int) -> torch.Tensor:
    """(B, HW/4, 4C) patch tokens back to (B, C, H, W) latents (``FluxPipeline._unpack_latents``)."""
    x = tokens.view(B, H // 2, W // 2, C, 2, 2).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(B, C, H, W)


def image_seq_len(side: int) -> int:
    """Image tokens of a (side × side) latent: one per 2×2 patch (the resolution shift's input)."""
    return (side // 2) ** 2
