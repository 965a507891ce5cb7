"""The paper-scale path at tiny size, offline: tiny-sd through the real diffusers loader, the HPSv2 and
aesthetic rewards on a tiny open_clip config, every method on every tiny-sd task, and the sd15 tasks'
code path on tiny checkpoints."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _helpers import central_difference, flat, offline, rel_err

import sdo_bench
from sdo_bench.rewards import clip_image, clip_models, tiny_clip
from sdo_bench.rewards.aesthetic import load_aesthetic
from sdo_bench.rewards.hpsv2 import load_hpsv2
from sdo_bench.tasks.stable_diffusion import tiny as tiny_sd
from sdo_bench.weights import WeightsError

TINY_TASKS = ["tiny-sd-latent", "tiny-sd-condition", "tiny-sd-lora"]
METHODS = ["bptt", "checkpoint", "truncated", "adjoint", "sdo"]


offline_cache = pytest.fixture(scope="module", autouse=True)(offline)


@pytest.fixture(scope="module")
def tiny_dirs():
    return tiny_sd.ensure(), tiny_clip.ensure()


def build(name, steps=3, dtype="float64", **kw):
    return sdo_bench.tasks.build(name, steps=steps, dtype=dtype, **kw)


def grad(task, method, **options):
    return sdo_bench.methods.build(method, **options).gradient(task)


# -- tiny-sd: built from config, saved, loaded through the SD loader --------------------------------
def test_tiny_sd_is_saved_and_loaded_through_the_pipeline_loader(tiny_dirs):
    sd_dir, _ = tiny_dirs
    for sub in (
        "model_index.json",
        "unet/config.json",
        "vae/config.json",
        "text_encoder/config.json",
        "tokenizer/tokenizer_config.json",
        "scheduler/scheduler_config.json",
    ):
        assert (sd_dir / sub).is_file(), sub
    task = build("tiny-sd-latent")
    pipe = task.pipeline
    assert type(pipe).__name__ == "StableDiffusionPipeline"
    assert type(pipe.scheduler).__name__ == "DDIMScheduler"
    assert pipe.unet.config.cross_attention_dim == tiny_sd.UNET["cross_attention_dim"]
    assert pipe.scheduler.config.steps_offset == 1 and not pipe.scheduler.config.set_alpha_to_one
    assert task.prompts == [tiny_sd_prompt(i) for i in range(task.batch)]


def tiny_sd_prompt(i):
    from sdo_bench.tasks.stable_diffusion import TINY_PROMPTS

    return TINY_PROMPTS[i % len(TINY_PROMPTS)]


def test_offline_tokenizer_is_clip_bpe(tiny_dirs):
    """The tokenizer written offline tokenizes like open_clip's independent CLIP BPE implementation."""
    import open_clip
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(tiny_dirs[0] / "tokenizer")
    ref = open_clip.get_tokenizer("ViT-L-14")
    for text in ["a photo of a cat", "A watercolor painting of a lighthouse, at dusk!", "ramen 🍜 4k"]:
        ids = tok(text, padding="max_length", max_length=77).input_ids
        r = ref([text])[0].tolist()
        n = r.index(49407) + 1
        assert ids[:n] == r[:n], text
    assert tok("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]


# -- every method on every tiny-sd task ---------------------------------------------------------------
@pytest.mark.parametrize("name", TINY_TASKS)
def test_every_method_gives_finite_gradients_of_the_right_shapes(name):
    task = build(name)
    exact = None
    for m in METHODS:
        res = grad(task, m)
        if m == "truncated" and task.target == "latent":
            assert res.status == "not_applicable"
            continue
        assert res.status == "ok", (m, res.reason)
        assert [g.shape for g in res.grads] == [p.shape for p in task.parameters()], m
        assert all(torch.isfinite(g).all() for g in res.grads), m
        assert float(flat(res.grads).norm()) > 0, m
        if m == "bptt":
            exact = res.grads
        if m == "checkpoint":
            assert rel_err(res.grads, exact) < 1e-9


def test_bptt_matches_finite_differences_on_tiny_sd():
    task = build("tiny-sd-latent", steps=2)
    g = flat(grad(task, "bptt").grads)
    (x,) = task.parameters()
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(5), dtype=x.dtype)
    fd, analytic = central_difference(task, v, 1e-6), float(g @ flat([v]))
    assert abs(fd - analytic) < 1e-4 * abs(analytic), (fd, analytic)


@pytest.mark.parametrize("name", ["tiny-sd-latent", "tiny-sd-lora"])
def test_sdo_graph_bytes_do_not_grow_with_steps(name):
    gb = {
        (m, n): grad(build(name, steps=n, dtype="float32"), m).graph_bytes
        for m in ("sdo", "bptt")
        for n in (2, 4)
    }
    print(f"\n{name} graph bytes: {gb}")
    assert gb["sdo", 2] == gb["sdo", 4] > 0
    assert gb["bptt", 4] > gb["bptt", 2] > gb["sdo", 2]


# -- the suite's sampling is the pipeline's ----------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny-sd-latent", "tiny-sd-lora"])
def test_no_grad_sampling_equals_the_pipeline(name):
    task = build(name, steps=6, dtype="float32")
    x_T = task.x_T().detach()
    kw = dict(latents=x_T, num_inference_steps=task.steps, guidance_scale=task.guidance_scale)
    images = task.pipeline(task.prompts, output_type="pt", **kw).images
    latents = task.pipeline(task.prompts, output_type="latent", **kw).images
    ours = task.sample()
    diff = float((images - ours).abs().max())
    print(
        f"\n{name}: max |image diff| {diff:.2e}, latent rel diff "
        f"{float((latents - task.final_state()).abs().max() / latents.abs().max()):.2e}"
    )
    assert ours.shape == images.shape == (task.batch, 3, 64, 64)
    assert diff < 1e-5
    assert float((latents - task.final_state()).abs().max() / latents.abs().max()) < 1e-6


# -- rewards -------------------------------------------------------------------------------------------
PROMPTS = ["a red cube on a table", "a lighthouse at dusk"]


def smooth_images(size, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.interpolate(
        torch.rand(2, 3, 8, 8, generator=g), size=(size, size), mode="bilinear", align_corners=False
    )


def test_hps_equals_the_pil_path_at_the_model_input_size(tiny_dirs):
    """Same 8-bit image: the differentiable score and HPSv2's PIL + open_clip transform path agree."""
    hps = load_hpsv2(tiny_dirs[1] / "hps.pt", PROMPTS, model=clip_models.TINY)
    for images in (
        torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(1)),
        smooth_images(224),
    ):
        q = (images * 255).round() / 255
        diff = float((hps(q) - hps.score_pil(clip_image.to_pil(q), PROMPTS)).abs().max())
        assert diff < 1e-5, diff


@pytest.mark.parametrize("size", [64, 300, 512])
def test_differentiable_resize_is_pils_bicubic(size):
    """torch's antialiased bicubic is PIL's bicubic (on float images, where PIL does not round)."""
    from PIL import Image

    img = torch.rand(size, size, generator=torch.Generator().manual_seed(size), dtype=torch.float64)
    pil = Image.fromarray(img.numpy().astype(np.float32), mode="F")
    ref = torch.tensor(np.array(pil.resize((224, 224), Image.BICUBIC)), dtype=torch.float64)
    ours = clip_image.preprocess(img.expand(1, 3, -1, -1), 224, mean=(0, 0, 0), std=(1, 1, 1))[0, 0]
    assert float((ref - ours).abs().max()) < 1e-6


def test_hps_equals_the_float_pil_path_after_resizing(tiny_dirs):
    """A 512 px image (SD1.5's size): PIL's float resize + normalize + model gives the same score."""
    from PIL import Image

    hps = load_hpsv2(tiny_dirs[1] / "hps.pt", PROMPTS, model=clip_models.TINY)
    images = smooth_images(512, seed=3)
    chans = [
        [
            np.asarray(Image.fromarray(im[c].numpy(), mode="F").resize((224, 224), Image.BICUBIC))
            for c in range(3)
        ]
        for im in images
    ]
    x = torch.from_numpy(np.array(chans)).float().clamp(0, 1)
    m = torch.tensor(clip_image.OPENAI_CLIP_MEAN).view(1, 3, 1, 1)
    s = torch.tensor(clip_image.OPENAI_CLIP_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        ref = (hps.clip.encode_image((x - m) / s, normalize=True) * hps.text_features).sum(-1)
    assert float((hps(images) - ref).abs().max()) < 1e-5


def test_aesthetic_is_the_laion_head_on_normalized_clip_embeddings(tiny_dirs):
    d = tiny_dirs[1]
    rew = load_aesthetic(d / "clip.pt", d / "aesthetic_head.pth", model=clip_models.TINY)
    state = torch.load(d / "aesthetic_head.pth", weights_only=True)
    assert sorted({k.split(".")[1] for k in state}) == ["0", "2", "4", "6", "7"]  # LAION's key names
    q = (smooth_images(224, seed=4) * 255).round() / 255
    tf = clip_image.reference_transform(224)
    x = torch.stack([tf(im) for im in clip_image.to_pil(q)])
    with torch.no_grad():
        e = rew.clip.encode_image(x)
        ref = rew.head(e / e.norm(dim=-1, keepdim=True)).squeeze(-1)
    assert float((rew(q) - ref).abs().max()) < 1e-5
    q.requires_grad_(True)
    rew(q).sum().backward()
    assert float(q.grad.abs().sum()) > 0


# -- the sd15 tasks: code path on tiny checkpoints, and clear errors for missing weights -------------
def test_sd15_tasks_run_on_tiny_checkpoints(tiny_dirs):
    sd_dir, clip_dir = tiny_dirs
    hps = dict(sd15_path=str(sd_dir), hps_checkpoint=str(clip_dir / "hps.pt"), hps_model=clip_models.TINY)
    aes = dict(
        sd15_path=str(sd_dir),
        aesthetic_clip=str(clip_dir / "clip.pt"),
        aesthetic_head=str(clip_dir / "aesthetic_head.pth"),
        aesthetic_model=clip_models.TINY,
    )
    for name, opts in [
        ("sd15-latent-hpsv2", hps),
        ("sd15-latent-aesthetic", aes),
        ("sd15-condition-hpsv2", hps),
        ("sd15-lora-hpsv2", hps),
    ]:
        task = build(name, steps=2, batch=2, dtype="float32", **opts)
        assert task.guidance_scale == 7.5 and len(task.prompts) == 2
        res = grad(task, "sdo")
        assert res.status == "ok" and all(torch.isfinite(g).all() for g in res.grads), name
    assert sdo_bench.tasks.spec("sd15-latent-hpsv2").defaults["steps"] == 50


@pytest.mark.parametrize(
    "name,opts,needles",
    [
        ("sd15-latent-hpsv2", {}, ["sd15_path", "is not set", "model_index.json", "huggingface-cli"]),
        (
            "sd15-latent-hpsv2",
            {"sd15_path": "/nonexistent/sd15"},
            ["sd15_path", "/nonexistent/sd15", "model_index.json", "unet"],
        ),
        (
            "sd15-lora-hpsv2",
            {"sd15_path": "TINY", "hps_checkpoint": "/nonexistent/HPS.pt"},
            ["hps_checkpoint", "/nonexistent/HPS.pt", "HPS_v2.1_compressed.pt", "xswu/HPSv2"],
        ),
        (
            "sd15-latent-aesthetic",
            {"sd15_path": "TINY", "aesthetic_clip": "TINYCLIP"},
            ["aesthetic_head", "is not set", "sac+logos+ava1-l14-linearMSE.pth"],
        ),
        (
            "sd15-latent-hpsv2",
            {"sd15_path": "TINY", "hps_checkpoint": "TINYHEAD"},
            ["hps_checkpoint", "aesthetic_head.pth", "not a checkpoint of open_clip model ViT-H-14"],
        ),
    ],
)
def test_missing_weights_name_the_key_the_files_and_where_to_get_them(tiny_dirs, name, opts, needles):
    subst = {
        "TINY": str(tiny_dirs[0]),
        "TINYCLIP": str(tiny_dirs[1] / "clip.pt"),
        "TINYHEAD": str(tiny_dirs[1] / "aesthetic_head.pth"),
    }
    opts = {k: subst.get(v, v) for k, v in opts.items()}
    with pytest.raises(WeightsError) as e:
        build(name, dtype="float32", **opts)
    for needle in needles:
        assert needle in str(e.value), (needle, str(e.value))


def test_cli_reports_a_missing_weights_path_in_one_line(capsys):
    from sdo_bench.cli.commands import main

    rc = main(
        [
            "run",
            "--task",
            "sd15-latent-aesthetic",
            "--method",
            "sdo",
            "--set",
            "sd15_path=/nonexistent/sd",
            "--out",
            "/tmp/never-written.json",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "sd15_path" in err and "model_index.json" in err


def test_prompts_override_through_the_command_line_syntax():
    from sdo_bench.spec.values import parse as _coerce

    assert _coerce('["a cat", "a dog"]') == ["a cat", "a dog"]
    assert _coerce("false") is False and _coerce("7.5") == 7.5


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_runs(dtype):
    """The pipeline, the reward and the optimized tensor in half precision (as on a GPU): finite gradients."""
    task = build("tiny-sd-latent", steps=2, dtype=dtype)
    assert task.pipeline.unet.dtype == getattr(torch, dtype)
    res = grad(task, "sdo")
    assert res.status == "ok" and res.grads[0].dtype == getattr(torch, dtype)
    assert bool(torch.isfinite(res.grads[0]).all()) and float(res.grads[0].abs().sum()) > 0
