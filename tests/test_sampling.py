"""The DDIM sampler equals diffusers' scheduler loop run by hand."""

import pytest
import torch

import sdo_bench
from sdo_bench.sampling.ddim import DDIMSampler
from sdo_bench.tasks.gmm import gmm_scheduler


def scheduler_loop(task, scheduler):
    scheduler.set_timesteps(task.steps)
    x = task.x_T().detach()
    with torch.no_grad():
        for t in scheduler.timesteps:
            eps = task.network.model(x, int(t))
            x = scheduler.step(eps, t, x, eta=0.0).prev_sample
    return x


@pytest.mark.parametrize("steps", [1, 7, 20, 50])
def test_no_grad_sample_equals_scheduler_loop_float64(steps):
    task = sdo_bench.tasks.build("gmm-latent", steps=steps, dtype="float64")
    scheduler = gmm_scheduler()
    scheduler.alphas_cumprod = scheduler.alphas_cumprod.double()  # step in float64 throughout
    ref = scheduler_loop(task, scheduler)
    ours = task.final_state()
    assert torch.allclose(ours, ref, rtol=0, atol=1e-10), float((ours - ref).abs().max())


def test_no_grad_sample_equals_scheduler_loop_float32():
    task = sdo_bench.tasks.build("gmm-latent", steps=20, dtype="float32")
    ref = scheduler_loop(task, gmm_scheduler())
    assert float((task.final_state() - ref).abs().max()) < 1e-5


def test_leading_spacing_with_offset_matches_scheduler():
    # Stable Diffusion's own scheduler config: "leading" spacing, steps_offset = 1, no final alpha one
    from diffusers import DDIMScheduler

    sd = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    sampler = DDIMSampler(sd, 10)
    sd.set_timesteps(10)
    assert sampler.timesteps == [int(t) for t in sd.timesteps]
    x = torch.randn(3, 4, dtype=torch.float64)
    eps = torch.randn(3, 4, dtype=torch.float64)
    sd.alphas_cumprod = sd.alphas_cumprod.double()
    sd.final_alpha_cumprod = sd.final_alpha_cumprod.double()
    for k, t in enumerate(sd.timesteps):
        ref = sd.step(eps, t, x, eta=0.0).prev_sample
        assert torch.allclose(sampler.step(k, x, eps), ref, atol=1e-12)


@pytest.mark.parametrize("steps", [10, 20, 50])
def test_natural_variables_euler_is_ddim(steps):
    # on a regular grid (N divides the 1000 training steps) each step lands where the next one starts
    sampler = DDIMSampler(gmm_scheduler(), steps)
    assert sampler.alpha_bar_prev[:-1] == sampler.alpha_bar_t[1:]
    for k in range(steps):
        ab0, ab1 = sampler.alpha_bar[k], sampler.alpha_bar[k + 1]
        # x_{k+1}/sqrt(ᾱ_{k+1}) = x_k/sqrt(ᾱ_k) + (σ_{k+1} - σ_k) ε
        assert sampler.a[k] == pytest.approx((ab1 / ab0) ** 0.5, rel=1e-12)
        assert sampler.b[k] == pytest.approx(
            (sampler.sigma[k + 1] - sampler.sigma[k]) * ab1**0.5, rel=1e-9, abs=1e-12
        )


def test_bad_step_count():
    with pytest.raises(ValueError, match="steps"):
        DDIMSampler(gmm_scheduler(), 0)
    with pytest.raises(ValueError, match="num_train_timesteps"):
        DDIMSampler(gmm_scheduler(), 1001)
