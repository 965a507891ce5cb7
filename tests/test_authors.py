"""The paper's released experiments in miniature on the digits world: the style loss against a float64
Gram computation, DDIM inversion against the image it came from (the error stated), every method on
both tasks, checkpoint equal to bptt, and sdo keeping exactly one network call's graph."""

import pytest
import torch
from _helpers import applicable_results, flat, rel_err

import sdo_bench
from sdo_bench.methods import Variant
from sdo_bench.methods import build as build_method
from sdo_bench.rewards.style import GramStyleReward, gram, tokens

TASKS = ["digits-latent-style", "digits-latent-improve"]
METHODS = ["bptt", "checkpoint", "truncated", "adjoint", "sdo", "drtune", "draft-lv", "refl"]


def grad(task, method, **options):
    return build_method(Variant(method, options)).gradient(task)


def test_the_style_loss_is_the_mean_squared_gram_difference_in_float64():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(3, 7, 5, generator=gen)  # (B, T, C)
    style = torch.randn(2, 7, 5, generator=gen)
    ref = torch.zeros(3, 5, 5, dtype=torch.float64)
    for b in range(3):  # Gᵦ[i, j] = Σ_t F[t, i] F[t, j], written out
        for i in range(5):
            for j in range(5):
                ref[b, i, j] = sum(float(feats[b, t, i]) * float(feats[b, t, j]) for t in range(7))
    assert torch.allclose(gram(feats.double()), ref, atol=1e-12)
    reward = GramStyleReward(lambda x: x, style.double())
    style_gram = (gram(style.double())).mean(0)
    expected = -((ref - style_gram) ** 2).flatten(1).mean(1)
    assert torch.allclose(reward(feats.double()), expected, atol=1e-12)
    fmap = torch.randn(2, 4, 3, 3, generator=gen)  # a conv map: positions become tokens
    assert tokens(fmap).shape == (2, 9, 4) and torch.equal(tokens(fmap)[:, 4], fmap[:, :, 1, 1])


@pytest.mark.parametrize("s,bound", [(2, 0.03), (10, 0.04)])
def test_inversion_then_sampling_returns_to_the_real_image(s, bound):
    """DDIM inversion through the last s of 50 steps, then those s steps: the image it came from, to a
    relative error of a few percent (measured in float64: 2 steps 1.5e-2, 10 steps 2.3e-2; the error
    is the network output changing over one step, largest on the last, long step to ᾱ = 1)."""
    task = sdo_bench.tasks.build("digits-latent-improve", invert_steps=s, dtype="float64")
    from sdo_bench.tasks.digits.authors import held_out

    x0 = held_out(8)[:4].double()
    x_s = task.invert(x0, s)
    assert float((x_s - x0).norm()) > 0.01 * float(x0.norm())  # it did move up the schedule
    x = x_s
    with torch.no_grad():
        for k in range(task.steps):
            x = task.sampler.step(k, x, task.eps(x, k))
    err = float((x - x0).norm() / x0.norm())
    print(f"\ninvert {s} of 50 steps, sample back: relative error {err:.1e}")
    assert task.steps == s and err < bound


@pytest.mark.parametrize("name", TASKS)
def test_every_method_on_the_authors_regimes(name):
    task = sdo_bench.tasks.build(name, dtype="float64", batch=2)
    assert task.sampler.start_step == (45 if name.endswith("style") else 10)
    assert task.steps == (5 if name.endswith("style") else 40)
    results = {m: grad(task, m) for m in METHODS}
    ran = applicable_results(task, results, build_method)
    assert {"bptt", "checkpoint", "sdo", "adjoint"} <= set(ran), set(ran)
    for m, res in ran.items():
        assert all(torch.isfinite(g).all() for g in res.grads) and float(flat(res.grads).norm()) > 0, m
    exact = results["bptt"].grads
    assert rel_err(results["checkpoint"].grads, exact) < 1e-12
    assert rel_err(grad(task, "sdo", keep=task.steps).grads, exact) < 1e-12


def test_sdo_on_the_style_task_keeps_exactly_one_network_calls_graph():
    """bptt over the last 5 steps minus bptt over the last 4 is one call's graph; sdo keeps bptt's
    5-step graph less four of them: one call (plus the decode and the style loss, as bptt)."""
    five = sdo_bench.tasks.build("digits-latent-style", batch=2)
    four = sdo_bench.tasks.build("digits-latent-style", batch=2, start_step=46)
    g5, g4 = grad(five, "bptt").graph_bytes, grad(four, "bptt").graph_bytes
    one_call = g5 - g4
    sdo = grad(five, "sdo").graph_bytes
    assert one_call > 0 and sdo == g5 - 4 * one_call, (g5, g4, sdo)


def test_the_improvement_starts_from_the_real_images_and_reports_fidelity():
    task = sdo_bench.tasks.build("digits-latent-improve")
    from sdo_bench.tasks.digits.authors import held_out

    scores = task.judge(task.sample())
    assert scores["fidelity_mse"] < 1e-3 and scores["fidelity_psnr_db"] > 30  # inverted and back
    assert scores["judge_class_histogram"][8] == task.batch  # still the 8s it started from
    assert float(task.reward()) < -5  # far from a 3: room to improve
    other = sdo_bench.tasks.build("digits-latent-improve", seed=1)
    assert not torch.equal(task.x_T(), other.x_T())  # the seed draws which held-out images
    assert len(held_out(8)) >= 30
    with pytest.raises(ValueError, match="invert_steps"):
        sdo_bench.tasks.build("digits-latent-improve", invert_steps=51)


# -- the full-scale tasks (SD 1.4) on tiny-sd, tiny CLIP towers and tiny heads ----------------------------
@pytest.fixture(scope="module")
def tiny_authors(tmp_path_factory):
    """Every local file the two SD 1.4 tasks name, at tiny size: tiny-sd (saved, loaded back), the tiny
    open_clip checkpoints, two linear heads whose scores fall inside [1, 10], and two image files."""
    import numpy as np
    from PIL import Image

    from sdo_bench.rewards import clip_models, tiny_clip
    from sdo_bench.tasks.stable_diffusion import tiny as tiny_sd

    root = tmp_path_factory.mktemp("authors")
    sd_dir, clip_dir = tiny_sd.ensure(), tiny_clip.ensure()
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((80, 100, 3)) * 255).astype("uint8")).save(root / "style.png")
    Image.fromarray((rng.random((90, 70, 3)) * 255).astype("uint8")).save(root / "real.jpg")
    for tower in ("l", "b"):
        head = torch.nn.Linear(32, 1)
        torch.nn.init.normal_(head.weight, std=0.5)
        torch.nn.init.constant_(head.bias, 5.0)
        torch.save(head.state_dict(), root / f"head_{tower}.pth")
    style = dict(sd14_path=str(sd_dir), style_image=str(root / "style.png"),
                 style_clip=str(clip_dir / "clip.pt"),
                 style_model=clip_models.TINY, style_block=1)  # fmt: skip
    aesthetic = dict(
        sd14_path=str(sd_dir), real_image=str(root / "real.jpg"), aesthetic_clip_l=str(clip_dir / "clip.pt"),
        aesthetic_clip_b=str(clip_dir / "hps.pt"), aesthetic_head_l=str(root / "head_l.pth"),
        aesthetic_head_b=str(root / "head_b.pth"), aesthetic_models=[clip_models.TINY, clip_models.TINY],
    )  # fmt: skip
    return {"sd14-latent-style": style, "sd14-latent-aesthetic": aesthetic}


def _sd14(name, files, dtype="float64", **kw):
    regime = {"start_step": 7} if name.endswith("style") else {"invert_steps": 3}
    return sdo_bench.tasks.build(name, steps=10, dtype=dtype, **{**regime, **kw}, **files[name])


@pytest.mark.parametrize("name", ["sd14-latent-style", "sd14-latent-aesthetic"])
def test_every_method_on_the_tiny_full_scale_tasks(name, tiny_authors):
    task = _sd14(name, tiny_authors)
    assert task.sampler.start_step == 7 and task.steps == 3
    assert task.sampler.scheduler.config.steps_offset == 0  # the authors' scheduler, not the directory's
    results = {m: grad(task, m) for m in METHODS}
    ran = applicable_results(task, results, build_method)
    assert {"bptt", "checkpoint", "sdo", "adjoint"} <= set(ran), set(ran)
    for m, res in ran.items():
        assert all(torch.isfinite(g).all() for g in res.grads) and float(flat(res.grads).norm()) > 0, m
    assert rel_err(results["checkpoint"].grads, results["bptt"].grads) < 1e-12


def test_sdo_on_the_full_scale_style_task_keeps_one_unet_calls_graph(tiny_authors):
    five = _sd14("sd14-latent-style", tiny_authors, dtype="float32", start_step=5)
    four = _sd14("sd14-latent-style", tiny_authors, dtype="float32", start_step=6)
    g5, g4 = grad(five, "bptt").graph_bytes, grad(four, "bptt").graph_bytes
    sdo = grad(five, "sdo").graph_bytes
    assert five.steps == 5 and g5 > g4 and sdo == g5 - 4 * (g5 - g4), (g5, g4, sdo)


def test_the_style_features_are_clip_block_outputs_without_cls(tiny_authors):
    """ClipBlockTokens equals running the ViT's own layers up to that block (the hook-free reference)."""
    from sdo_bench.rewards.clip_models import TINY, load_clip
    from sdo_bench.rewards.style import ClipBlockTokens

    clip = load_clip(TINY, tiny_authors["sd14-latent-style"]["style_clip"], key="k", where="")
    x = torch.rand(2, 3, 64, 64)
    outs = []
    handle = clip.visual.transformer.resblocks[1].register_forward_hook(lambda m, i, o: outs.append(o))
    import torch.nn.functional as F

    from sdo_bench.rewards.clip_image import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

    mean, std = (
        torch.tensor(OPENAI_CLIP_MEAN).view(1, 3, 1, 1),
        torch.tensor(OPENAI_CLIP_STD).view(1, 3, 1, 1),
    )
    clip.encode_image((F.interpolate(x, size=(224, 224), mode="bicubic", align_corners=False) - mean) / std)
    handle.remove()
    ref = outs[0] if clip.visual.transformer.batch_first else outs[0].transpose(0, 1)
    assert torch.allclose(ClipBlockTokens(clip, 1)(x), ref[:, 1:], atol=1e-6)


def test_the_aesthetic_task_starts_from_the_inverted_real_image(tiny_authors):
    task = _sd14("sd14-latent-aesthetic", tiny_authors, dtype="float32")
    scores = task.judge(task.sample())
    assert set(scores) == {"fidelity_mse", "fidelity_psnr_db"} and scores["fidelity_mse"] < 0.2
    assert -9 < float(task.reward()) < 0  # the heads' scores inside [1, 10]: a gradient to follow
    # the cutouts are one fixed draw per seed: the reward is one deterministic function
    assert float(task.reward()) == float(task.reward())


@pytest.mark.parametrize(
    "name,needle",
    [("sd14-latent-style", "style_clip"), ("sd14-latent-aesthetic", "aesthetic_head_b")],
)
def test_a_missing_file_of_the_full_scale_tasks_is_named(name, needle, tiny_authors):
    files = dict(tiny_authors[name], **{needle: "/nonexistent/file"})
    with pytest.raises(ValueError, match=needle):
        sdo_bench.tasks.build(name, **files)


@pytest.mark.slow
@pytest.mark.parametrize("name,start", [("sd14-latent-style", 45), ("sd14-latent-aesthetic", 10)])
def test_the_cost_model_predicts_the_full_scale_tasks(name, start):
    """At N = 50 in float16, no weights: bptt over the sampled steps, checkpoint and sdo below it."""
    from sdo_bench.cost import predict

    rows = {m: predict.predict(name, Variant(m), 50, dtype="float16") for m in ("bptt", "checkpoint", "sdo")}
    for m, row in rows.items():
        assert row["status"] == "ok", (m, row["error"])
        assert row["steps"] == 50 - start and row["nfe_forward"] == (2 if m == "checkpoint" else 1) * (
            50 - start
        )
    assert rows["sdo"]["peak_tensor_bytes"] < rows["bptt"]["peak_tensor_bytes"]
    assert rows["checkpoint"]["peak_tensor_bytes"] < rows["bptt"]["peak_tensor_bytes"]


def test_the_style_tasks_sampling_is_the_pipeline_with_the_authors_scheduler(tiny_authors):
    """From x_T (start step 0), the suite's no-grad sample is diffusers' StableDiffusionPipeline with the
    scheduler the authors' scripts build, guidance 5 against the empty prompt, the same embeddings."""
    from diffusers import DDIMScheduler

    from sdo_bench.tasks.stable_diffusion.authors import AUTHORS_SCHEDULER

    task = _sd14("sd14-latent-style", tiny_authors, dtype="float32", start_step=0)
    pipe = task.pipeline
    pipe.scheduler = DDIMScheduler(**AUTHORS_SCHEDULER)
    images = pipe(
        prompt_embeds=task.condition(1), negative_prompt_embeds=task.uncondition(1), guidance_scale=5.0,
        latents=task.x_T().detach(), num_inference_steps=task.steps, output_type="pt",
    ).images  # fmt: skip
    assert float((images - task.sample()).abs().max()) < 1e-5


def test_the_style_loss_does_not_overflow_in_half_precision():
    """CLIP has channels of large magnitude: their Gram entries pass float16's 65504; the loss is taken
    in float32 and stays finite."""
    feats = torch.full((1, 196, 4), 30.0, dtype=torch.float16)  # one Gram entry: 196 · 900 = 176400
    reward = GramStyleReward(lambda x: x, feats * 0.5)
    value = reward(feats)
    assert value.dtype == torch.float32 and torch.isfinite(value).all()
    assert float(value) == pytest.approx(-((176400 - 44100) ** 2), rel=1e-6)
