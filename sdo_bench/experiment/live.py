"""Live metrics of a run: TensorBoard scalars and sample grids through the library's own writer
(``torch.utils.tensorboard.SummaryWriter``), for ``sdo-bench run --log-dir DIR``.

One TensorBoard run per task, variant and seed (``DIR/<task>/<variant>/seed<seed>``), with, per
iteration: ``reward`` (the mean reward of the samples the gradient was taken at), ``objective``
(reward minus the prior's or regularizer's penalty, where the task has one), ``grad_norm`` (the norm of
the objective's gradient) and ``time_per_iter_s``; and the samples before and after optimization as
image grids. ``tensorboard --logdir DIR`` shows them while the run goes on. The writer needs the
``tensorboard`` package (``pip install 'sdo-bench[live]'``); without it ``--log-dir`` is refused before
any work.
"""

from __future__ import annotations

from ..spec.outputs import LIVE_RUN


def check(log_dir) -> None:
    """``ValueError`` when ``--log-dir`` cannot be honoured (no tensorboard package, or not a folder)."""
    if log_dir is None:
        return
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ValueError(
            "--log-dir needs the tensorboard package; pip install 'sdo-bench[live]' (or leave --log-dir out)"
        ) from None
    from ..records.io import check_dir

    check_dir(log_dir, "--log-dir")


class Live:
    """A run's TensorBoard writer (a no-op where ``log_dir`` is None)."""

    def __init__(self, log_dir, task_label: str, variant: str, seed: int):
        self.writer = None
        if log_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            where = LIVE_RUN.format(log_dir=log_dir, task=task_label, variant=variant, seed=seed)
            self.writer = SummaryWriter(where)

    def iteration(self, step: int, reward: float, penalty: float | None, grads, seconds: float) -> None:
        if self.writer is None:
            return
        import torch

        self.writer.add_scalar("reward", reward, step)
        if penalty is not None:
            self.writer.add_scalar("objective", reward - penalty, step)
        norm = torch.sqrt(sum((g.detach().double() ** 2).sum() for g in grads))
        self.writer.add_scalar("grad_norm", float(norm), step)
        self.writer.add_scalar("time_per_iter_s", seconds, step)

    def samples(self, name: str, images, step: int) -> None:
        """``images``: a batch in the task's output range [-1, 1] (N, C, H, W) or [0, 1]."""
        if self.writer is None or images is None or len(images) == 0:
            return
        import torch
        from torchvision.utils import make_grid

        x = torch.as_tensor(images).float()
        if x.ndim != 4:
            return
        x = (x.clamp(-1, 1) + 1) / 2 if x.min() < 0 else x.clamp(0, 1)
        self.writer.add_image(name, make_grid(x, nrow=min(8, len(x))), step)

    def snapshots(self, snapshots: dict, keep: int, iterations: int) -> None:
        """The samples before (step 0) and after optimization (step ``iterations``)."""
        for name, step in (("initial", 0), ("final", iterations)):
            if name in snapshots:
                self.samples(f"samples/{name}", snapshots[name][:keep], step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def quiet(progress: bool | None) -> bool:
    """No progress bar (tqdm's ``disable``): asked for, or stderr is not a terminal (a job's log)."""
    import sys

    return (not sys.stderr.isatty()) if progress is None else (not progress)
