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
