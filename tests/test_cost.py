"""Peak tensor memory (the dispatcher-level tracker) and the paper-scale cost model (issue: peak memory
that means what the paper means): exact bytes of known allocations, the prediction on fake tensors
against real CPU runs of the same gradient, and the scaling in N at SD1.5 size."""

import contextlib
import dataclasses
import json
import subprocess
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import sdo_bench
from sdo_bench import tasks
from sdo_bench.cli.commands import main
from sdo_bench.cost import predict as cost
from sdo_bench.measure.tracker import LiveTensorBytes, measure_gradient
from sdo_bench.methods import Variant
from sdo_bench.methods import build as build_method

CLI = [sys.executable, "-m", "sdo_bench"]


def test_tracker_counts_known_allocations_once_and_their_release():
    with LiveTensorBytes() as live:
        a = torch.ones(1000, dtype=torch.float32)  # 4000 B
        b = a.view(10, 100)  # a view: no new storage
        c = a * 2  # 4000 B more
        assert live.current == 8000 and live.peak == 8000
        del a, b  # the storage of a and its view is released; c's is alive
        assert live.current == 4000
        del c
        assert live.current == 0
    assert live.peak == 8000


def test_tracker_releases_storage_when_its_last_view_dies():
    with LiveTensorBytes() as live:
        a = torch.zeros(256, dtype=torch.float64)  # 2048 B
        v = a[10:]
        del a
        assert live.current == 2048
        del v
        assert live.current == 0
        torch.ones(512)  # a temporary: 2048 B, freed at once
        assert live.peak == 2048 and live.current == 0


def test_measure_gradient_is_deterministic_and_leaves_the_task_as_it_was():
    task = sdo_bench.tasks.build("digits-weights", steps=4, batch=2, judge=False)
    method = build_method(Variant("sdo"))  # step: random on a parameter target (uses the method's stream)
    before = [p.detach().clone() for p in task.parameters()]
    state = method.rng(task).getstate()
    a = measure_gradient(task, method)
    b = measure_gradient(task, method)
    assert a == b
    assert method.rng(task).getstate() == state
    assert all(torch.equal(p, q) for p, q in zip(task.parameters(), before))
    # Adam's two moments of every UNet weight, in float32
    n, tensors = sum(p.numel() for p in task.parameters()), len(task.parameters())
    assert a["optimizer_state_bytes"] == 2 * 4 * n + 4 * tensors  # + a float32 step counter per tensor
    modules = (task.network, task.reward_fn)  # the UNet (with its class embedding) and the reward classifier
    assert a["weights_bytes"] == sum(4 * t.numel() for m in modules for t in (*m.parameters(), *m.buffers()))
    assert a["peak_tensor_bytes"] >= a["weights_bytes"] + a["activation_bytes"]


@pytest.mark.parametrize("name", ["digits-latent", "digits-weights", "tiny-sd-latent", "tiny-sd-lora"])
@pytest.mark.parametrize("method", ["bptt", "checkpoint", "sdo", "adjoint"])
def test_prediction_agrees_with_a_real_cpu_run(name, method):
    """The cost model (fake tensors, no weights) against the tracker on real tensors and weights: peak
    tensor bytes within 3% (the same code path; fake tensors may take other strides after a
    convolution and add or drop a copy), FLOPs exactly."""
    settings = {"judge": False} if name.startswith("digits") else {}
    predicted = cost.predict(name, Variant(method), 3, dtype="float32", batch=2, settings=settings)
    task = sdo_bench.tasks.build(name, steps=3, batch=2, **settings)
    real = measure_gradient(task, build_method(Variant(method)), flops=True)
    assert predicted["status"] == "ok", predicted["error"]
    for key in ("peak_tensor_bytes", "activation_bytes"):
        assert abs(predicted[key] - real[key]) <= 0.03 * real[key], (key, predicted[key], real[key])
    for key in ("weights_bytes", "optimizer_state_bytes", "flops_forward", "flops_backward", "nfe_forward"):
        assert predicted[key] == real[key], key


@pytest.mark.parametrize("name", ["digits-latent", "tiny-sd-latent"])
def test_our_flop_count_equals_flop_counter_mode(name):
    """Our dispatch-level counter against torch's own FlopCounterMode on the same real bptt gradient
    (backward through ``.backward()``, which FlopCounterMode's module tracker supports)."""
    settings = {"judge": False} if name.startswith("digits") else {}
    task = sdo_bench.tasks.build(name, steps=3, batch=1, **settings)
    method = build_method(Variant("bptt"))
    ours = measure_gradient(task, method, flops=True)
    with FlopCounterMode(display=False) as counter:
        task.reward_per_sample(method.forward(task)).mean().backward()
    assert ours["flops_forward"] + ours["flops_backward"] == counter.get_total_flops()


def test_activation_bytes_scale_in_n_as_each_method_keeps_its_graph():
    """Real digits runs, exact: bptt's activation bytes grow linearly in N, sdo's and checkpoint's
    (one step plus the N step inputs, which a CUDA allocator holds too) do not grow with bptt's."""
    act = {}
    for method in ("bptt", "sdo", "checkpoint"):
        for n in (5, 10, 20):
            task = sdo_bench.tasks.build("digits-latent", steps=n, batch=2, judge=False)
            act[method, n] = measure_gradient(task, build_method(Variant(method)))["activation_bytes"]
    step = act["bptt", 10] - act["bptt", 5]
    assert step > 0 and act["bptt", 20] - act["bptt", 10] == 2 * step
    assert act["sdo", 5] == act["sdo", 10] == act["sdo", 20]
    # checkpoint keeps each step's input x_k (2 x 1 x 16 x 16 float32 = 2 KiB): linear with that slope
    assert act["checkpoint", 20] - act["checkpoint", 10] == 2 * (act["checkpoint", 10] - act["checkpoint", 5])
    assert act["checkpoint", 10] - act["checkpoint", 5] == 5 * 2 * 16 * 16 * 4


def test_at_sd15_scale_sdo_and_checkpoint_are_flat_and_bptt_linear():
    """SD1.5 (UNet, VAE decode at 512 px, HPSv2's ViT-H-14) from its shipped configs, fp16, batch 1; the
    models built once for the three methods and three N (as the workflow's cost job builds them)."""
    act = {}
    methods = ("bptt", "sdo", "checkpoint")
    per_variant = cost.predict_variants(
        "sd15-latent-hpsv2", [Variant(m) for m in methods], [1, 2, 3], dtype="float16", batch=1
    )
    for method, rows in zip(methods, per_variant):
        for n, row in zip((1, 2, 3), rows):
            assert row["status"] == "ok", row["error"]
            assert (row["method"], row["steps"]) == (method, n)
            act[method, n] = row["activation_bytes"]
    step = act["bptt", 2] - act["bptt", 1]
    assert step > 500 * 2**20 and act["bptt", 3] - act["bptt", 2] == step  # > 0.5 GiB per UNet step
    assert act["sdo", 1] == act["sdo", 2] == act["sdo", 3]
    # checkpoint: flat but for the N step inputs it keeps (1 x 4 x 64 x 64 fp16 = 32 KiB each)
    assert act["checkpoint", 3] - act["checkpoint", 2] == act["checkpoint", 2] - act["checkpoint", 1] < 2**20


def test_cost_command_prints_one_json_object_without_weights(tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir(), home.mkdir()
    p = subprocess.run(
        [
            *CLI,
            "cost",
            "--task",
            "sd15-latent-hpsv2",
            "--method",
            "sdo",
            "--steps",
            "2",
            "--dtype",
            "float16",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=work,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(home)},
    )
    assert p.returncode == 0, p.stderr[-2000:]
    row = json.loads(p.stdout)
    keys = (
        "peak_tensor_bytes",
        "weights_bytes",
        "activation_bytes",
        "optimizer_state_bytes",
        "flops_forward",
    )
    for key in (*keys, "flops_backward", "nfe_forward", "nfe_backward", "attention", "dtype"):
        assert key in row, key
    assert row["kind"] == "predicted" and row["attention"] == "flash" and row["dtype"] == "float16"
    assert row["nfe_forward"] == 2 and row["nfe_backward"] == 1
    # SD1.5's UNet (859.5 M) + VAE + text encoder + ViT-H-14 in fp16: about 4 GB of weights
    assert 3.5e9 < row["weights_bytes"] < 4.5e9
    assert list(work.iterdir()) == []  # nothing written where it ran
    # nothing downloaded or cached but sdo-bench's own names (sdo_bench.cli.listing)
    cached = [p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file()]
    assert all(c.startswith(".cache/sdo-bench/list-") for c in cached), cached


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--task", "nope", "--method", "sdo", "--steps", "2"], "unknown task"),
        (["--task", "gmm-latent", "--method", "sdo", "--steps", "2", "--dtype", "int8"], "dtype"),
        (["--task", "gmm-latent", "--method", "sdo", "--steps", "2", "--attention", "xformers"], "attention"),
        (["--task", "gmm-latent", "--method", "sdo", "--steps", "0"], "--steps"),
        (["--task", "gmm-latent", "--method", "nope", "--steps", "2"], "unknown method"),
        (
            [
                "--task",
                "digits-latent",
                "--method",
                "sdo",
                "--steps",
                "2",
                "--set",
                "weights_dir=/nonexistent",
            ],
            "model configs",
        ),
    ],
)
def test_cost_bad_input_is_one_line_and_exit_2(capsys, args, needle):

    try:
        code = main(["cost", *args])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and needle in err, err


def test_fake_tensors_keep_the_values_of_a_time_grid_and_nothing_else():
    """The adjoint's solver reads its time grid in Python: under the cost model's fake mode a tensor
    made from Python numbers keeps its values (and so do ops on such tensors alone); a model's tensors
    stay data-free, and the mode is restored afterwards."""
    from torch._subclasses import fake_tensor

    from sdo_bench.cost.fake import fake_models

    limit = fake_tensor.CONSTANT_NUMEL_LIMIT
    with fake_models():
        grid = torch.tensor([1.0, 0.5, 0.25, 0.0])
        assert bool((grid[1:] < grid[:-1]).all()) and float(grid[1] - grid[2]) == 0.25
        x = torch.randn(4)
        with pytest.raises(fake_tensor.DataDependentOutputException):
            bool((x * grid > 0).all())
    assert fake_tensor.CONSTANT_NUMEL_LIMIT == limit


def test_the_lean_cache_key_of_a_tensor_is_torchs_own():
    """The fake mode's cache key for a tensor's metadata, built in one pass within the cost model's
    fake mode, equals the one torch's generic flattener builds, element for element and type for type
    (so the fake-op cache answers exactly as before), on tensors of every layout the models make; a
    field holding a symbolic size takes torch's own path; torch's is restored afterwards."""
    from torch._subclasses import fake_tensor as ft
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    from sdo_bench.cost.fake import _lean_cache_keys

    original = ft.TensorMetadata._flatten_into
    with ft.FakeTensorMode() as mode:
        x = torch.randn(2, 3, 8, 8)
        tensors = [
            x,
            x.to(memory_format=torch.channels_last),
            x.transpose(1, 2),
            x[:, 1:, ::2],
            x[0, 0, 0, 0],
            torch.zeros(5, dtype=torch.bool),
            torch.randn(4, dtype=torch.float16, requires_grad=True),
            torch.randn(3, dtype=torch.complex64).conj(),
            torch.ones(()),
            torch.empty(0, 7),
        ]
        metadata = [ft.extract_tensor_metadata(t) for t in tensors]
    env = ShapeEnv()
    symbolic = dataclasses.replace(metadata[0], shape=(env.create_unbacked_symint(), 3, 8, 8))

    def key(md, flatten):
        out: list = []
        flatten(md, out, mode, ft._CacheKeyState(env))
        return [(type(v), v) for v in out]

    with _lean_cache_keys():
        lean = ft.TensorMetadata._flatten_into
        assert lean is not original
        for md in metadata:
            assert key(md, lean) == key(md, original)
        assert [v for _, v in key(symbolic, lean)] == [v for _, v in key(symbolic, original)]
    assert ft.TensorMetadata._flatten_into is original


def test_the_tracker_answers_a_fake_tensors_device_as_the_fake_mode_does():
    """The autograd engine asks every gradient's device (``prim.device``, two thirds of a fake
    gradient's ops): the tracker answers for a fake tensor as the fake mode's own handler does, outside
    and inside a kernel invocation, without counting it as a use of the tensor's storage."""
    from torch._subclasses import fake_tensor as ft

    from sdo_bench.measure.tracker import _DEVICE_QUERY

    with ft.FakeTensorMode() as mode:
        t = torch.randn(3)
        live = LiveTensorBytes()
        for inside in (False, True):
            with ft.in_kernel_invocation_manager(mode) if inside else contextlib.nullcontext():
                got = live.__torch_dispatch__(_DEVICE_QUERY, (type(t),), (t,))
                want = ft._device_handler((t,))
            assert got == want == torch.device("meta" if inside else "cpu")
        assert live.current == 0 and live.peak == 0

    def backward(world):  # a backward on fake tensors is counted as the same one on real tensors
        with world:
            w = torch.randn(64, 64, requires_grad=True)
            with LiveTensorBytes() as live:
                (w @ w).sum().backward()
            return live.peak, live.current, w.grad.device

    assert backward(ft.FakeTensorMode()) == backward(contextlib.nullcontext())


def test_a_first_prediction_leaves_no_fake_tensor_behind():
    """In a fresh process: the adjoint's first prediction equals its second (torchdiffeq, imported
    lazily, is not imported under the fake mode: its module-level tensors would be counted once and
    stay fake for the process's later real runs)."""
    code = (
        "import json, torchdiffeq._impl.dopri5 as d, torch._subclasses.fake_tensor as f\n"
        "from sdo_bench.cost import predict as cost\nfrom sdo_bench.spec.variant import Variant\n"
        "rows = [cost.predict('gmm-latent', Variant('adjoint'), 3, dtype='float32') for _ in range(2)]\n"
        "fake = isinstance(d._DORMAND_PRINCE_SHAMPINE_TABLEAU.alpha, f.FakeTensor)\n"
        "print(json.dumps([[r['peak_tensor_bytes'] for r in rows], fake]))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    (first, second), fake = json.loads(p.stdout.splitlines()[-1])
    assert first == second and not fake


@pytest.mark.slow
def test_the_adjoint_row_has_every_field_of_the_other_methods(capsys):
    """``sdo-bench cost --task sd15-latent-hpsv2 --method adjoint --steps 10 --json``: the same fields
    as sdo's row; at 512 px the VAE decode's backward decides the peak, as it does for checkpoint."""
    rows = {}
    for method in ("adjoint", "checkpoint"):
        code = main(["cost", "--task", "sd15-latent-hpsv2", "--method", method, "--steps", "10", "--json"])
        assert code == 0
        rows[method] = json.loads(capsys.readouterr().out)
    a, c = rows["adjoint"], rows["checkpoint"]
    assert a["status"] == "ok" and set(a) == set(c)
    assert (a["nfe_forward"], a["nfe_backward"]) == (20, 10)
    assert a["activation_bytes"] <= c["activation_bytes"] * 1.01


SMALL = [
    ("gmm-latent", {"steps": 6, "batch": 8}),
    ("gmm-weights", {"steps": 6}),
    ("digits-latent", {"steps": 3, "batch": 2, "judge": False}),
]


@pytest.mark.parametrize("name,kw", SMALL)
def test_predicted_graph_bytes_against_the_real_gradient(name, kw):
    """What a memory budget is checked against before any work: equal to the real graph bytes on the GMM,
    never below them and within the prediction's margin on digits (fake storages are never shared)."""
    from sdo_bench.cost.predict import PREDICTION_MARGIN, predicted_graph_bytes
    from sdo_bench.spec.variant import Variant

    task = tasks.build(name, **kw)
    for v in (Variant("bptt"), Variant("checkpoint"), Variant("sdo")):
        real = build_method(v).gradient(task, measure_graph=True).graph_bytes
        predicted = predicted_graph_bytes(name, v, task.config)
        if name.startswith("gmm"):
            assert predicted == real, v.label
        assert real <= predicted <= real * (PREDICTION_MARGIN - 0.03), v.label


EXTRAPOLATED = [
    ("bptt", {}),
    ("checkpoint", {}),
    ("sdo", {}),
    ("adjoint", {}),
    ("truncated", {"k": 1}),
    ("truncated", {"k": 3}),  # needs three steps: its base starts at N = 3
    ("drtune", {}),
]


@pytest.mark.parametrize(
    "task,method,options",
    [("gmm-weights", m, o) for m, o in EXTRAPOLATED]
    + [pytest.param("tiny-sd-latent", m, o, marks=pytest.mark.slow) for m, o in EXTRAPOLATED[:3]],
)
def test_extrapolated_rows_equal_direct_predictions(task, method, options):
    """Affine in N, checked at N = 1, 2, 3 (else 2, 3, 4): the rows at N = 7 and 12 equal the direct
    predictions exactly."""
    from sdo_bench.cost.extrapolation import AFFINE_KEYS
    from sdo_bench.cost.predict import predict, predict_steps
    from sdo_bench.spec.variant import Variant

    v = Variant(method, options)
    steps = [7, 12] if task.startswith("gmm") else [7]
    rows = predict_steps(task, v, steps, extrapolate=True, dtype="float32")
    for n, row in zip(steps, rows):
        direct = predict(task, v, n, dtype="float32")
        if row.get("extrapolated_from"):
            assert {k: row[k] for k in AFFINE_KEYS} == {k: direct[k] for k in AFFINE_KEYS}
            assert row["gpus"] == direct["gpus"]
        else:  # no line at 1, 2, 3 or 2, 3, 4: predicted directly
            assert row == direct
    if options == {"k": 3}:
        assert all(row.get("extrapolated_from") == [3, 4, 5] for row in rows)
    if method in ("bptt", "checkpoint", "sdo"):  # GMM's first step is special (a 2-D world's bytes)
        bases = [[2, 3, 4]] if task.startswith("gmm") and method != "sdo" else [[1, 2, 3]]
        assert all(row.get("extrapolated_from") in bases for row in rows)


def _rows_on(line: dict[int, int], status: dict[int, str] | None = None, too_few: int = 0):
    """A stand-in for the cost model's exact prediction at N: ``line[N]`` bytes (every figure), a
    ValueError below ``too_few`` steps, and the calls it got."""
    from sdo_bench.cost.extrapolation import AFFINE_KEYS

    calls = []

    def at(n):
        calls.append(n)
        if n < too_few:
            raise ValueError(f"needs {too_few} steps")
        return {"status": (status or {}).get(n, "ok"), **{k: line[n] for k in AFFINE_KEYS}}

    return at, calls


@pytest.mark.parametrize(
    "line,status,too_few,base,calls",
    [
        ({1: 10, 2: 20, 3: 30}, None, 0, (1, 2, 3), [1, 2, 3]),  # affine from N = 1
        ({1: 5, 2: 20, 3: 30, 4: 40}, None, 0, (2, 3, 4), [1, 2, 3, 4]),  # the first step special
        ({2: 20, 3: 30, 4: 40}, None, 2, (2, 3, 4), [1, 2, 3, 4]),  # options need two steps
        ({3: 5, 4: 30, 5: 40, 6: 50}, None, 3, (4, 5, 6), [1, 2, 3, 4, 5, 6]),  # three; its first special
        ({}, None, 99, None, list(range(1, 9))),  # options need more steps than a base may start at
        ({1: 10, 2: 20, 3: 35, 4: 60}, None, 0, None, [1, 2, 3, 4]),  # no line: direct
        ({1: 10, 2: 20, 3: 30}, {1: "error"}, 0, None, [1]),  # cannot run on fake tensors
    ],
)
def test_the_extrapolation_base_is_the_first_line_from_n_1(line, status, too_few, base, calls):
    from sdo_bench.cost.extrapolation import extrapolated, find_base

    at, seen = _rows_on(line, status, too_few)
    assert find_base(at) == base
    assert seen == calls
    if base is not None:  # the line through the base's first two rows, at any N
        row = extrapolated(at(base[0]), at(base[1]), base, 50)
        assert row["peak_tensor_bytes"] == line[base[1]] + (50 - base[1]) * (line[base[1]] - line[base[0]])
        assert row["extrapolated_from"] == list(base) and row["steps"] == 50


def test_several_variants_on_one_build_give_each_variants_own_rows(tmp_path):
    # the workflow's cost job: every variant on models built once, one rows file per variant, each the
    # same as that variant predicted alone
    import json

    variants = [Variant("bptt"), Variant("truncated", {"k": 1}), Variant("sdo", {"step": "last"}, "sdo-last")]
    outs = [tmp_path / f"{v.label}.json" for v in variants]
    spec = json.dumps([{"method": v.method, "options": v.options, "label": v.label} for v in variants])
    args = ["cost", "--task", "gmm-weights", "--variants", spec, "--steps", "3", "6", "--dtype", "float32"]
    assert main([*args, "--extrapolate", "--out", *map(str, outs)]) in (None, 0)
    for v, o in zip(variants, outs):
        rows = json.loads(o.read_text())["rows"]
        alone = cost.predict_steps("gmm-weights", v, [3, 6], extrapolate=True, dtype="float32")
        assert [r["variant"] for r in rows] == [v.label] * 2
        for r, a in zip(rows, alone):
            keys = ("peak_tensor_bytes", "flops_forward", "flops_backward", "nfe_forward", "nfe_backward")
            assert [r[k] for k in keys] == [a[k] for k in keys], v.label
    # one --out per variant
    with pytest.raises(ValueError, match="one --out per variant"):
        cost.run("gmm-weights", None, {}, [3], dtype="float32", variants=variants, out=[str(outs[0])])
