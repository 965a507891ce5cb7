"""Small helpers shared by the tests."""

import torch


def flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


def rel_err(a, b):
    a, b = flat(a), flat(b)
    return float((a - b).norm() / b.norm())


def cosine(a, b):
    a, b = flat(a), flat(b)
    return float(a @ b / (a.norm() * b.norm()))


def offline(tmp_path_factory):
    """Tiny weights built into a fresh cache; any network connection fails the test (a module's
    autouse fixture: ``offline_cache = pytest.fixture(scope="module", autouse=True)(offline)``)."""
    import socket

    import pytest

    mp = pytest.MonkeyPatch()
    mp.setenv("SDO_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))

    def no_network(*a, **k):
        raise AssertionError("a network connection was attempted")

    mp.setattr(socket.socket, "connect", no_network)
    yield
    mp.undo()


def central_difference(task, v, h):
    """The reward's central difference along ``v`` at the task's one parameter, which is left as it was."""
    (x,) = task.parameters()
    with torch.no_grad():
        x.add_(h * v)
        rp = float(task.reward())
        x.sub_(2 * h * v)
        rm = float(task.reward())
        x.add_(h * v)
    return (rp - rm) / (2 * h)


def applicable_results(task, results, build_method):
    """The ``results`` (method -> gradient result) of the methods that apply to ``task``, after asserting
    the others said ``not_applicable`` and these are ok (truncated reaches no x_T)."""
    out = {}
    for m, res in results.items():
        applies = build_method(m).applies_to(task.target)
        if not applies or (m == "truncated" and task.target == "latent"):
            assert res.status == "not_applicable", m
            continue
        assert res.status == "ok", (m, res.reason)
        out[m] = res
    return out
