"""SDXL, SD3 and FLUX.1 from local diffusers directories: their tiny random-weight pipelines are saved
with ``save_pretrained`` and loaded back through the loader real weights use. The suite's no-grad sample
is the diffusers pipeline's own for the same latents; every method runs on every tiny task; checkpoint
is bptt exactly; bptt matches finite differences in float64; ``text_encoders: precomputed`` drops
exactly the encoders; a missing or wrong directory is one line naming the option."""

import pytest
import torch
from _helpers import applicable_results, flat, rel_err

import sdo_bench
from sdo_bench.methods import build as build_method
from sdo_bench.tasks import pipelines
from sdo_bench.weights import WeightsError

FAMILIES = {"sdxl": "StableDiffusionXLPipeline", "sd3": "StableDiffusion3Pipeline", "flux": "FluxPipeline"}
TARGETS = ("latent", "condition", "lora")
METHODS = ["bptt", "checkpoint", "truncated", "adjoint", "sdo", "drtune", "draft-lv", "refl"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Each family's tiny pipeline saved to its own directory (``sdo-bench build-tiny``'s code)."""
    root = tmp_path_factory.mktemp("pipelines")
    out = {}
    for family in FAMILIES:
        msg = pipelines.build_tiny(family, root / family, root / "clip")
        assert f"--set weights_dir={root / family}" in msg
        out[family] = root / family
    return out


def build(family, target, saved, steps=3, dtype="float64", **kw):
    return sdo_bench.tasks.build(
        f"tiny-{family}-{target}", steps=steps, dtype=dtype, weights_dir=str(saved[family]), **kw
    )


def grad(task, method, **options):
    return build_method(sdo_bench.methods.Variant(method, options)).gradient(task)


def _pipeline_images(family, task):
    """The same sample from the diffusers pipeline loaded from the same directory, fed the task's
    conditioning and x_T."""
    import diffusers

    pipe = getattr(diffusers, FAMILIES[family]).from_pretrained(
        task.config["weights_dir"], local_files_only=True
    )
    pipe.scheduler = task.sampler.scheduler  # SDXL: the DDIM the suite builds from the directory's config
    pipe.set_progress_bar_config(disable=True)
    cond, x_T = task.condition(task.batch), task.x_T().detach()
    common = dict(num_inference_steps=task.steps, output_type="pt", return_dict=False, height=32, width=32)
    embeds = dict(prompt_embeds=cond["prompt_embeds"], pooled_prompt_embeds=cond["pooled"])
    if family == "flux":
        B, C, H, W = x_T.shape
        latents = diffusers.FluxPipeline._pack_latents(x_T, B, C, H, W)
        return pipe(**embeds, latents=latents, guidance_scale=task.network.model.guidance, **common)[0]
    unc = task.uncondition(task.batch)
    negative = dict(negative_prompt_embeds=unc["prompt_embeds"], negative_pooled_prompt_embeds=unc["pooled"])
    return pipe(**embeds, **negative, latents=x_T, guidance_scale=task.guidance_scale, **common)[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_suites_sample_is_the_pipelines_for_a_saved_tiny_model(family, saved):
    task = build(family, "latent", saved, steps=4, dtype="float32")
    ours = task.sample()
    theirs = _pipeline_images(family, task)
    diff = float((theirs - ours).abs().max())
    print(f"\ntiny-{family}: max |image diff| {diff:.2e}")
    assert ours.shape == theirs.shape == (task.batch, 3, 32, 32)
    assert float(ours.std()) > 0 and diff < 1e-5


@pytest.mark.parametrize("family", FAMILIES)
def test_the_conditioning_is_the_pipelines_encode_prompt(family, saved):
    """The text encoders read the prompts: two prompts, two different embeddings, as the pipeline's
    own ``encode_prompt`` makes them."""
    task = build(family, "condition", saved, dtype="float32")
    cond = task.condition(task.batch)
    assert not torch.equal(cond["prompt_embeds"][0], cond["prompt_embeds"][1])
    import diffusers

    pipe = getattr(diffusers, FAMILIES[family]).from_pretrained(
        task.config["weights_dir"], local_files_only=True
    )
    kw = dict(max_sequence_length=8) if family != "sdxl" else {}
    if family == "sd3":
        ref = pipe.encode_prompt(task.prompts, None, None, do_classifier_free_guidance=False, **kw)[0]
    else:
        ref = pipe.encode_prompt(task.prompts, **kw)[0]
    assert torch.allclose(cond["prompt_embeds"], ref, atol=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("target", TARGETS)
def test_every_method_on_every_saved_tiny_task(family, target, saved):
    task = build(family, target, saved)
    results = {m: grad(task, m) for m in METHODS}
    exact = results["bptt"].grads
    ran = applicable_results(task, results, build_method)
    for m, res in ran.items():
        assert [g.shape for g in res.grads] == [p.shape for p in task.parameters()], m
        assert all(torch.isfinite(g).all() for g in res.grads), m
        assert float(flat(res.grads).norm()) > 0, m
    assert {"bptt", "checkpoint", "sdo", "adjoint"} <= set(ran)
    assert rel_err(results["checkpoint"].grads, exact) < 1e-12, "checkpoint is bptt exactly"
    assert rel_err(grad(task, "sdo", keep=task.steps).grads, exact) < 1e-12


@pytest.fixture
def float64_rmsnorm(monkeypatch):
    """diffusers' RMSNorm (SD3's and FLUX's qk-norm) takes its variance in float32 even for float64
    inputs; the same formula in the input's precision, so that finite differences see float64 only."""
    from diffusers.models.normalization import RMSNorm

    def forward(self, h):
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return h if self.weight is None else h * self.weight + (0 if self.bias is None else self.bias)

    monkeypatch.setattr(RMSNorm, "forward", forward)


@pytest.mark.parametrize("family,target", [("sdxl", "latent"), ("sd3", "condition"), ("flux", "lora")])
def test_bptt_matches_finite_differences(family, target, saved, float64_rmsnorm):
    task = build(family, target, saved, steps=2)
    g = flat(grad(task, "bptt").grads)
    params = task.parameters()
    gen = torch.Generator().manual_seed(5)
    vs = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in params]
    # large enough that rounding (float32 buried in the tiny models' embeddings) stays below the
    # difference, small enough that no decoded pixel crosses the clamp to [0, 1] and O(h²) is below 5e-5
    h = 3e-4

    def at(sign):
        with torch.no_grad():
            for p, v in zip(params, vs):
                p.add_(sign * h * v)
            r = float(task.reward())
            for p, v in zip(params, vs):
                p.sub_(sign * h * v)
        return r

    fd, analytic = (at(1) - at(-1)) / (2 * h), float(g @ flat(vs))
    print(f"\ntiny-{family}-{target}: finite difference {fd:.10e}, bptt {analytic:.10e}")
    assert abs(fd - analytic) < 5e-5 * abs(analytic), (fd, analytic)


@pytest.mark.parametrize("family", FAMILIES)
def test_precomputed_text_encoders_leave_exactly_the_encoders_out(family, saved):
    """Same conditioning, same gradient; the weights resident fall by exactly the encoders' bytes."""
    from sdo_bench.measure.tracker import measure_gradient

    kw = dict(dtype="float32")
    resident = build(family, "latent", saved, **kw)
    dropped = build(family, "latent", saved, text_encoders="precomputed", **kw)
    names = [k for k in resident.pipeline if k.startswith("text_encoder")]
    assert names and not [k for k in dropped.pipeline if k.startswith("text_encoder")]
    size = sum(
        t.numel() * t.element_size()
        for k in names
        for t in [*resident.pipeline[k].parameters(), *resident.pipeline[k].buffers()]
    )
    a = measure_gradient(resident, build_method(sdo_bench.methods.Variant("sdo")))
    b = measure_gradient(dropped, build_method(sdo_bench.methods.Variant("sdo")))
    assert a["weights_bytes"] - b["weights_bytes"] == size
    assert torch.equal(resident.condition(2)["prompt_embeds"], dropped.condition(2)["prompt_embeds"])
    assert "embeddings precomputed" in dropped.resident and "(resident)" in resident.resident


@pytest.mark.parametrize("family", FAMILIES)
def test_a_directory_that_is_not_the_pipeline_is_one_error_naming_the_option(family, saved, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "model_index.json").write_text("{}")
    with pytest.raises(WeightsError) as e:
        sdo_bench.tasks.build(f"tiny-{family}-latent", weights_dir=str(wrong))
    assert "weights_dir" in str(e.value) and "lacks" in str(e.value) and "build-tiny" in str(e.value)
    # another family's saved pipeline: the files it lacks, or (SD3's directory has all of FLUX's) the
    # pipeline class it holds
    for other, cls in FAMILIES.items():
        if other == family:
            continue
        with pytest.raises(WeightsError) as e:
            sdo_bench.tasks.build(f"tiny-{family}-latent", weights_dir=str(saved[other]))
        text = str(e.value)
        assert "weights_dir" in text and ("lacks" in text or f"holds a {cls}" in text), text
        if (family, other) == ("flux", "sd3"):
            assert f"not the {FAMILIES[family]}" in text


@pytest.mark.parametrize("family", FAMILIES)
def test_the_command_line_runs_every_method_on_a_saved_tiny_pipeline(family, saved, tmp_path):
    """``sdo-bench run --task tiny-<family>-latent --variants <all> --set weights_dir=<saved>``: one
    record per method, each ok or not_applicable with its reason, the options (weights_dir,
    text_encoders) in the record."""
    import json

    from sdo_bench.cli.commands import main

    variants = [{"method": m} for m in METHODS]
    outs = [str(tmp_path / f"{m}.json") for m in METHODS]
    code = main([
        "run", "--task", f"tiny-{family}-latent", "--variants", json.dumps(variants), "--steps", "2",
        "--iterations", "1", "--no-fidelity", "--set", f"weights_dir={saved[family]}", "--out", *outs,
    ])  # fmt: skip
    assert code == 0
    records = [json.loads(open(o).read()) for o in outs]
    statuses = {r["method"]: r["status"] for r in records}
    assert {m for m, s in statuses.items() if s == "ok"} >= {"bptt", "checkpoint", "sdo", "adjoint"}
    assert set(statuses.values()) <= {"ok", "not_applicable"}, statuses
    for r in records:
        settings = r["provenance"]["task_settings"]
        assert settings["weights_dir"] == str(saved[family]) and settings["text_encoders"] == "resident"


def test_sdxl_in_float16_decodes_in_float32_as_the_pipeline_upcasts_its_vae(saved):
    """SDXL's VAE overflows in half precision; its pipeline upcasts it (``force_upcast``): so does the
    task, the image comes back in float16, and the cost row says so."""
    from sdo_bench.cost import predict

    task = build("sdxl", "latent", saved, steps=2, dtype="float16")
    assert task.pipeline["vae"].dtype == torch.float32 and task.pipeline["unet"].dtype == torch.float16
    image = task.decode(task.x_T().detach())
    assert image.dtype == torch.float16 and torch.isfinite(image).all()
    assert "VAE (float32)" in task.resident
    row = predict.predict("sdxl-latent-hpsv2", sdo_bench.methods.Variant("sdo"), 1, dtype="float16",
                          settings={"resolution": 256})  # fmt: skip
    assert row["status"] == "ok" and "VAE (float32)" in row["resident"]
    assert "VAE (float32)" not in build("sdxl", "latent", saved, steps=2, dtype="bfloat16").resident


@pytest.mark.parametrize(
    "task,key,family",
    [("sdxl-latent-hpsv2", "sdxl_path", "sdxl"), ("sd35-medium-condition-hpsv2", "sd35_path", "sd3"),
     ("flux-dev-lora-hpsv2", "flux_path", "flux"), ("flux-schnell-latent-hpsv2", "flux_path", "flux")],
)  # fmt: skip
def test_the_paper_scale_tasks_run_on_saved_tiny_pipelines(task, key, family, saved):
    """The paper-scale code path — the user's directory through the loader, HPSv2 from a checkpoint
    file, the model's own sampling settings — on the tiny pipeline and tiny HPS checkpoint at 64 px."""
    from sdo_bench.rewards import clip_models

    clip_dir = saved[family].parent / "clip"
    t = sdo_bench.tasks.build(
        task, steps=2, dtype="float32", resolution=64, **{key: str(saved[family])},
        hps_checkpoint=str(clip_dir / "hps.pt"), hps_model=clip_models.TINY,
    )  # fmt: skip
    assert t.x_T().shape[-1] == 32 and t.sample().shape == (1, 3, 64, 64)
    res = grad(t, "sdo")
    assert res.status == "ok" and all(torch.isfinite(g).all() for g in res.grads)
    assert rel_err(grad(t, "checkpoint").grads, grad(t, "bptt").grads) < 1e-12
