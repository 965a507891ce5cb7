"""The judge's 11th class, "not a digit": images that are no digit, made by the suite itself with fixed
seeds (the recipe of ``sdo-bench train-classifier``).

Three kinds, in [0, 1], shape (n, 1, 16, 16):

* :func:`noise` -- uniform, Gaussian, binary and low-frequency (blob) noise;
* :func:`blurred` -- real training digits under a Gaussian blur of 2 to 3.5 pixels (no strokes left);
* :func:`adversarial` -- noise optimized to maximize the *reward* classifier's log-probability of a
  random digit: what an optimizer that hacks the reward produces, and what the judge must not believe;
* :func:`diffusion_hacks` -- the same hack through the digits model: x_T optimized by exact
  backpropagation through a 10-step sampler, without a prior, towards a random digit; of its final
  samples only those rougher than every real digit are kept (total variation above 1.5 times the
  largest of the training digits'), so that no real-looking digit is labelled "not a digit".

Without this class a judge is a 10-way classifier that has to call every image some digit, and the
reward hacks fool it as well (p(3) = 0.84 on noise images that the reward calls "3").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

NOT_A_DIGIT = 10
SIZE = 16


def noise(n: int, g: torch.Generator) -> torch.Tensor:
    """``n`` noise images: a quarter each uniform, Gaussian, binary and blob noise."""
    q = [n // 4] * 3 + [n - 3 * (n // 4)]
    shape = (1, SIZE, SIZE)
    uniform = torch.rand(q[0], *shape, generator=g)
    sigma = 0.2 + 0.6 * torch.rand(q[1], 1, 1, 1, generator=g)
    gauss = 0.5 + sigma * torch.randn(q[1], *shape, generator=g)
    p = 0.2 + 0.4 * torch.rand(q[2], 1, 1, 1, generator=g)
    binary = (torch.rand(q[2], *shape, generator=g) < p).float()
    blobs = []
    for i in range(q[3]):
        r = (2, 4, 8)[i % 3]
        low = torch.randn(1, 1, r, r, generator=g)
        blobs.append(F.interpolate(low, size=(SIZE, SIZE), mode="bilinear", align_corners=False)[0])
    blob = 0.5 + 0.6 * torch.stack(blobs) if blobs else torch.zeros(0, *shape)
    return torch.cat([uniform, gauss, binary, blob]).clamp(0, 1)


def blurred(images01: torch.Tensor, n: int, g: torch.Generator) -> torch.Tensor:
    """``n`` real images under a Gaussian blur of standard deviation 2 to 3.5 pixels."""
    idx = torch.randint(len(images01), (n,), generator=g)
    out = []
    for i, j in enumerate(idx.tolist()):
        s = 2.0 + 1.5 * (i % 7) / 6
        r = torch.arange(-6, 7, dtype=torch.float32)
        k = torch.exp(-(r**2) / (2 * s * s))
        k = k / k.sum()
        x = images01[j : j + 1].float()
        x = F.conv2d(F.pad(x, (6, 6, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
        x = F.conv2d(F.pad(x, (0, 0, 6, 6), mode="replicate"), k.view(1, 1, -1, 1))
        out.append(x[0])
    return torch.stack(out)


def adversarial(
    reward_classifier: torch.nn.Module, n: int, g: torch.Generator, steps: int = 60, lr: float = 0.1
) -> torch.Tensor:
    """``n`` images optimized from noise (Adam on pixel logits) to maximize the reward classifier's
    log-probability of a random digit; some stop early, so that weak and strong hacks are both seen."""
    start = noise(n, g).clamp(0.02, 0.98)
    z = torch.logit(start).requires_grad_(True)
    target = torch.randint(10, (n,), generator=g)
    stop = torch.randint(steps // 4, steps + 1, (n,), generator=g)
    opt = torch.optim.Adam([z], lr=lr)
    net = reward_classifier.eval()
    for i in range(steps):
        active = (stop > i).float().view(-1, 1, 1, 1)
        loss = F.cross_entropy(net(torch.sigmoid(z)), target, reduction="none").sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        z.grad *= active
        opt.step()
    return torch.sigmoid(z).detach()


def total_variation(images01: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation per image, (n,)."""
    dy = (images01[..., 1:, :] - images01[..., :-1, :]).abs().flatten(1).sum(1)
    dx = (images01[..., :, 1:] - images01[..., :, :-1]).abs().flatten(1).sum(1)
    return dy + dx


def diffusion_hacks(
    weights_dir,
    reward_classifier: torch.nn.Module,
    train01: torch.Tensor,
    n: int,
    g: torch.Generator,
    steps: int = 10,
    iterations: int = 15,
    lr: float = 0.2,
    batch: int = 64,
) -> torch.Tensor:
    """Up to ``n`` final samples of the digits model whose x_T was optimized (Adam, exact gradient) to
    make the reward classifier see a random digit, kept where rougher than any real digit."""
    from pathlib import Path

    from ...sampling.ddim import DDIMSampler
    from .data import to_unit
    from .model import NULL_CLASS, DigitsDenoiser, ddim_scheduler, load_unet

    denoiser = DigitsDenoiser(load_unet(Path(weights_dir) / "unet")).eval().requires_grad_(False)
    sampler = DDIMSampler(ddim_scheduler(), steps)
    net = reward_classifier.eval()
    batch = min(batch, max(n, 8))
    threshold = 1.5 * float(total_variation(train01).max())
    cond = denoiser.embed(torch.full((batch,), NULL_CLASS))

    def sample(x):
        for k in range(steps):
            x = sampler.step(k, x, denoiser(x, sampler.timesteps[k], cond))
        return to_unit(x)

    kept, tries = [], 0
    while sum(len(k) for k in kept) < n and tries < 4 * (n // batch + 1):
        tries += 1
        x_T = torch.randn(batch, 1, SIZE, SIZE, generator=g).requires_grad_(True)
        target = torch.randint(10, (batch,), generator=g)
        opt = torch.optim.Adam([x_T], lr=lr)

        for _ in range(iterations):
            loss = F.cross_entropy(net(sample(x_T)), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            final = sample(x_T)
        kept.append(final[total_variation(final) > threshold])
    return torch.cat(kept)[:n]


def images(
    reward_classifier: torch.nn.Module, train01: torch.Tensor, n: int, seed: int, weights_dir=None
) -> torch.Tensor:
    """The 11th class of the judge's training set: ``n`` images, 25% noise, 15% blur, 30% adversarial
    and 30% diffusion hacks (the adversarial kind instead where no digits model is in ``weights_dir``)."""
    g = torch.Generator().manual_seed(seed)
    n_noise, n_blur, n_diff = int(0.25 * n), int(0.15 * n), int(0.3 * n)
    parts = [noise(n_noise, g), blurred(train01, n_blur, g)]
    if weights_dir is not None:
        parts.append(diffusion_hacks(weights_dir, reward_classifier, train01, n_diff, g))
    parts.append(adversarial(reward_classifier, n - sum(len(p) for p in parts), g))
    return torch.cat(parts)
