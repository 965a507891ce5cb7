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
