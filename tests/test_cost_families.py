"""The 2023–2025 families in the cost model: their shipped configs are the published architectures,
their rows say what they include, and the tiny worlds' predictions equal real CPU runs."""

import json

import pytest

import sdo_bench
from sdo_bench.cost import predict as cost
from sdo_bench.measure.tracker import measure_gradient
from sdo_bench.methods import Variant
from sdo_bench.methods import build as build_method

#: published parameter counts (model cards and papers): the shipped configs must build these models
PUBLISHED = {
    "sdxl UNet": (2.567e9, "sdxl/unet.json", "UNet2DConditionModel"),
    "SD3.5 Large transformer": (8.1e9, "sd35/transformer-large.json", "SD3Transformer2DModel"),
    "FLUX.1 transformer": (11.9e9, "flux/transformer-dev.json", "FluxTransformer2DModel"),
}
ENCODERS = {"clip-l": 123.1e6, "clip-bigg": 694.7e6, "t5-xxl": 4.762e9}
LATENT_TASKS = ["sdxl-latent-hpsv2", "sd35-medium-latent-hpsv2", "sd35-large-latent-hpsv2",
                "flux-dev-latent-hpsv2", "flux-schnell-latent-hpsv2"]  # fmt: skip


def _parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("what", sorted(PUBLISHED))
def test_shipped_configs_build_the_published_architectures(what):
    import diffusers
    import torch

    count, path, cls = PUBLISHED[what]
    with torch.device("meta"):
        model = getattr(diffusers, cls)(**sdo_bench.weights.asset_config(path))
    assert abs(_parameters(model) - count) <= 0.01 * count, (what, _parameters(model))


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_text_encoder_configs_are_the_published_ones(name):
    import torch

    from sdo_bench.tasks import text_encoders

    with torch.device("meta"):
        n = _parameters(text_encoders.build(name))
    assert abs(n - ENCODERS[name]) <= 0.01 * ENCODERS[name], (name, n)


def test_a_paper_scale_row_says_what_it_includes_and_has_sd15s_fields():
    sd15 = cost.predict("sd15-latent-hpsv2", Variant("sdo"), 1, settings={"batch": 1})
    row = cost.predict("sd35-medium-latent-hpsv2", Variant("sdo"), 1, settings={"resolution": 256})
    assert row["status"] == "ok", row["error"]
    assert set(row) == set(sd15)
    assert row["resident"] == (
        "transformer, VAE, CLIP-L, OpenCLIP-bigG, T5-XXL (resident), HPSv2 ViT-H-14; all in float16"
    )
    assert row["sampler"] == "FlowMatchSampler" and sd15["sampler"] == "DDIMSampler"
    assert row["graph_keeps"] == sdo_bench.methods.build("sdo").keeps


def test_precomputed_text_encoders_leave_exactly_their_weights_out():
    import torch

    from sdo_bench.tasks import text_encoders

    kw = dict(settings={"resolution": 256})
    resident = cost.predict("flux-schnell-latent-hpsv2", Variant("sdo"), 1, **kw)
    precomputed = {"resolution": 256, "text_encoders": "precomputed"}
    dropped = cost.predict("flux-schnell-latent-hpsv2", Variant("sdo"), 1, settings=precomputed)
    with torch.device("meta"):  # float16 weights, integer buffers (CLIP's position ids) as they are
        built = [text_encoders.build(n) for n in ("clip-l", "t5-xxl")]
        encoders = sum(
            2 * _parameters(m) + sum(b.numel() * b.element_size() for b in m.buffers()) for m in built
        )
    assert resident["weights_bytes"] - dropped["weights_bytes"] == encoders
    assert resident["activation_bytes"] == dropped["activation_bytes"]
    assert "embeddings precomputed" in dropped["resident"]


@pytest.mark.parametrize(
    "name",
    [
        "tiny-sdxl-latent",
        "tiny-sdxl-lora",
        "tiny-sd3-latent",
        "tiny-sd3-lora",
        "tiny-flux-latent",
        "tiny-flux-condition",
    ],
)
@pytest.mark.parametrize("method", ["bptt", "checkpoint", "sdo"])
def test_prediction_agrees_with_a_real_cpu_run_on_the_flow_worlds(name, method):
    """As for digits and tiny-sd: peak tensor bytes within 3%, weights, FLOPs and evaluations exactly."""
    predicted = cost.predict(name, Variant(method), 3, dtype="float32", batch=2)
    task = sdo_bench.tasks.build(name, steps=3, batch=2)
    real = measure_gradient(task, build_method(Variant(method)), flops=True)
    assert predicted["status"] == "ok", predicted["error"]
    for key in ("peak_tensor_bytes", "activation_bytes"):
        assert abs(predicted[key] - real[key]) <= 0.03 * real[key], (key, predicted[key], real[key])
    for key in ("weights_bytes", "optimizer_state_bytes", "flops_forward", "flops_backward", "nfe_forward"):
        assert predicted[key] == real[key], key


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--task", "sd4-latent-hpsv2"], "unknown task 'sd4-latent-hpsv2'"),
        (["--task", "flux-dev-latent-hpsv2", "--set", "resolution=1000"], "not supported by flux-dev"),
        (["--task", "sd35-large-latent-hpsv2", "--set", "resolution=4096"], "from 64 to 3072"),
        (["--task", "sd15-latent-hpsv2", "--set", "shift=3.0"], "shift is an option of"),
        (["--task", "sdxl-latent-hpsv2", "--set", "text_encoders=cpu"], "text_encoders"),
    ],
)  # fmt: skip
def test_bad_input_on_the_new_families_is_one_line_and_exit_2(capsys, args, needle):
    from sdo_bench.cli.commands import main

    try:
        code = main(["cost", *args, "--method", "sdo", "--steps", "2"])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and needle in err, err


@pytest.mark.parametrize("task,key", [("flux-dev-latent-hpsv2", "flux_path"),
                                      ("sdxl-lora-hpsv2", "sdxl_path"),
                                      ("sd35-large-condition-hpsv2", "sd35_path")])  # fmt: skip
def test_a_paper_scale_run_without_its_weights_is_one_line_naming_the_option(capsys, tmp_path, task, key):
    """Exit 2, one line naming the option and where to get the weights, nothing written."""
    from sdo_bench.cli.commands import main

    args = ["run", "--task", task, "--method", "sdo", "--steps", "2"]
    try:
        code = main([*args, "--out", str(tmp_path / "r.json")])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert f"option {key} is not set" in err and "huggingface-cli download" in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", LATENT_TASKS)
def test_each_family_prints_sd15s_fields_for_bptt_checkpoint_and_sdo(name, capsys):
    """`sdo-bench cost --task <family's latent task> --method M --steps N --json`: no weights, no GPU."""
    from sdo_bench.cli.commands import main

    variants = json.dumps([{"method": m} for m in ("bptt", "checkpoint", "sdo")])
    args = ["--variants", variants, "--steps", "2", "--json", "--set", "resolution=512"]
    assert main(["cost", "--task", name, *args]) == 0
    rows = json.loads(capsys.readouterr().out)
    sd15 = cost.predict("sd15-latent-hpsv2", Variant("sdo"), 1, settings={"batch": 1})
    assert [r["method"] for r in rows] == ["bptt", "checkpoint", "sdo"]
    for r in rows:
        assert r["status"] == "ok" and set(r) == set(sd15), r.get("error")
    bptt, checkpoint, sdo = rows
    assert (
        bptt["activation_bytes"] > sdo["activation_bytes"]
        and bptt["activation_bytes"] > checkpoint["activation_bytes"]
    )
