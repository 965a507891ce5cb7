import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


def rel_err(a, b):
    a, b = flat(a), flat(b)
    return float((a - b).norm() / b.norm())


def cosine(a, b):
    a, b = flat(a), flat(b)
    return float(a @ b / (a.norm() * b.norm()))


@pytest.fixture
def helpers():
    class H:
        pass
    H.flat, H.rel_err, H.cosine = staticmethod(flat), staticmethod(rel_err), staticmethod(cosine)
    return H
