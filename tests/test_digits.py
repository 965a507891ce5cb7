"""The embedded default world: trained digits model, reward classifier, judge, and the four tasks."""

import json
import shutil

import pytest
import torch

import sdo_bench
from sdo_bench.methods import Variant
from sdo_bench.tasks.digits import DEFAULT_WEIGHTS
from sdo_bench.tasks.digits.classifier import accuracy, load_classifier, train_classifier
from sdo_bench.tasks.digits.data import load_split
from sdo_bench.tasks.digits.model import WeightsError, load_unet, train_model
from sdo_bench.tasks.digits.model_quality import class_conditional_samples

DIGITS_TASKS = ["digits-latent", "digits-condition", "digits-lora", "digits-weights"]
TINY = dict(steps=5, batch=2, judge=False)


def test_split_is_fixed_and_stratified():
    s = load_split()
    assert s.train_x.shape == (1437, 1, 16, 16) and s.held_x.shape == (360, 1, 16, 16)
    assert float(s.train_x.min()) >= -1 and float(s.train_x.max()) <= 1
    assert torch.bincount(s.held_y).min() >= 35


def test_classifier_and_judge_accuracy():
    s = load_split()
    reward_acc = accuracy(load_classifier("reward", DEFAULT_WEIGHTS), s.held_x, s.held_y)
    judge_acc = accuracy(load_classifier("judge", DEFAULT_WEIGHTS), s.held_x, s.held_y)
    print(f"\nheld-out accuracy: reward classifier {reward_acc:.4f}, judge {judge_acc:.4f}")
    assert reward_acc >= 0.95 and judge_acc >= 0.95


def test_class_conditional_samples_are_judged_their_class():
    labels = torch.arange(100) % 10
    samples = class_conditional_samples(DEFAULT_WEIGHTS, labels, steps=50, seed=7)
    assert samples.shape == (100, 1, 16, 16) and 0 <= float(samples.min()) <= float(samples.max()) <= 1
    judged = load_classifier("judge", DEFAULT_WEIGHTS)(samples).argmax(-1)
    acc = float((judged == labels).float().mean())
    print(f"\nclass-conditional samples judged as their class: {acc:.3f}")
    assert acc >= 0.9


@pytest.mark.parametrize("name", DIGITS_TASKS)
def test_gradient_of_all_five_methods(name):
    task = sdo_bench.tasks.build(name, **TINY)
    shapes = [p.shape for p in task.parameters()]
    for method, opts in [
        ("bptt", {}),
        ("checkpoint", {}),
        ("truncated", {"k": task.steps}),
        ("adjoint", {}),
        ("sdo", {}),
    ]:
        res = sdo_bench.methods.build(method, **opts).gradient(task)
        assert res.status == "ok", (method, res.reason)
        assert [g.shape for g in res.grads] == shapes
        assert all(bool(torch.isfinite(g).all()) for g in res.grads)
        assert sum(float(g.abs().sum()) for g in res.grads) > 0, method


@pytest.mark.parametrize("name", DIGITS_TASKS)
def test_checkpoint_equals_bptt_float64(name):
    task = sdo_bench.tasks.build(name, dtype="float64", **TINY)
    a = sdo_bench.methods.build("bptt").gradient(task).grads
    b = sdo_bench.methods.build("checkpoint").gradient(task).grads
    num = sum(float((x - y).pow(2).sum()) for x, y in zip(a, b)) ** 0.5
    den = sum(float(x.pow(2).sum()) for x in a) ** 0.5
    assert num / den < 1e-9


@pytest.mark.parametrize("name", DIGITS_TASKS)
@pytest.mark.parametrize("method", ["bptt", "sdo"])
def test_tiny_optimization_raises_reward(name, method):
    task = sdo_bench.tasks.build(name, steps=5, iterations=3, batch=2, judge=False, lr=_tiny_lr(name))
    rec = sdo_bench.experiment.run(task, Variant(method), fidelity=False)
    assert rec["status"] == "ok", rec["error"]
    assert rec["reward_final"] > rec["reward_init"], (rec["reward_init"], rec["reward_final"])


def _tiny_lr(name):
    return {"digits-latent": 0.3, "digits-condition": 0.1, "digits-lora": 1e-3, "digits-weights": 1e-4}[name]


def test_judge_scores_in_record():
    task = sdo_bench.tasks.build("digits-latent", steps=5, iterations=1, batch=4)
    rec = sdo_bench.experiment.run(task, Variant("sdo"), fidelity=False)
    j = rec["judge"]
    assert 0 <= j["judge_target_prob"] <= 1 and 0 <= j["judge_target_acc"] <= 1
    assert 0 <= j["judge_real_prob"] <= 1
    assert sum(j["judge_class_histogram"]) == 4 and len(j["judge_class_histogram"]) == 11
    assert "fid" not in j and "4 samples < 256" in j["fid_note"]  # FID of 4 samples means nothing


def test_lora_and_weights_are_evaluated_on_held_out_noises():
    for name in ("digits-lora", "digits-weights"):
        task = sdo_bench.tasks.build(name, **TINY)
        assert task.eval_noise is not None and task.eval_noise.shape[0] == 32
        assert not torch.equal(task.eval_noise[:2], task.x_T())
    lora = sdo_bench.tasks.build("digits-lora", **TINY)
    names = [n for n, p in lora.network.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    assert any("to_q" in n for n in names) and any("conv1" in n for n in names)


def test_missing_weights_error_names_path_and_command(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as e:
        sdo_bench.tasks.build("digits-latent", weights_dir=str(missing))
    msg = str(e.value)
    assert str(missing / "unet") in msg and "sdo-bench train-model" in msg


def test_corrupted_weights_error_names_path_and_command(tmp_path):
    w = tmp_path / "w"
    shutil.copytree(DEFAULT_WEIGHTS, w)
    (w / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError) as e:
        load_unet(w / "unet")
    assert str(w / "unet") in str(e.value) and "sdo-bench train-model" in str(e.value)
    shutil.copytree(DEFAULT_WEIGHTS / "unet", w / "unet", dirs_exist_ok=True)
    (w / "classifier.pt").write_bytes(b"garbage")
    with pytest.raises(FileNotFoundError) as e:
        sdo_bench.tasks.build("digits-latent", weights_dir=str(w))
    assert str(w / "classifier.pt") in str(e.value) and "sdo-bench train-classifier" in str(e.value)


def test_training_commands_write_loadable_weights(tmp_path):
    info = train_model(tmp_path / "unet", steps=3, batch=8, progress=False)
    assert len(info["loss_log"]) >= 1 and json.loads((tmp_path / "unet" / "training.json").read_text())
    assert load_unet(tmp_path / "unet").config.sample_size == 16
    r = train_classifier("reward", tmp_path, epochs=1, progress=False)
    j = train_classifier("judge", tmp_path, epochs=1, progress=False, not_a_digit_images=24)
    assert 0 <= r["held_out_accuracy"] <= 1 and 0 <= j["held_out_accuracy"] <= 1
    task = sdo_bench.tasks.build("digits-latent", weights_dir=str(tmp_path), **TINY)
    assert torch.isfinite(task.reward())


def test_lora_init_is_seeded_not_global():
    torch.manual_seed(1)
    a = [p.detach().clone() for p in sdo_bench.tasks.build("digits-lora", **TINY).parameters()]
    torch.manual_seed(2)
    b = [p.detach().clone() for p in sdo_bench.tasks.build("digits-lora", **TINY).parameters()]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
