"""Callbacks of ``dip.fit``: they run at every check (every ``every`` steps), never per step.

- :class:`Progress`: a tqdm progress bar; :class:`Checkpoint`: θ and Adam's state to a file;
- :class:`EarlyStopping`: stop when a history key stops improving (PSNR needs the truth);
- :class:`Snapshots`: keep f_θ(z) at chosen iterations (the paper's 100/600/2400 figures);

The live view (a picture that updates while fitting) is presentation: ``dip_lib.view.viz.LiveView``.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .metrics import psnr

if TYPE_CHECKING:   # fit imports the callbacks; the state type is only named in annotations
    from .fit import FitState

__all__ = ["Callback", "Progress", "EarlyStopping", "Checkpoint", "Snapshots", "snapshot_every"]


class Callback:
    """Override any of the three hooks; each receives the :class:`FitState`."""

    def start(self, state: FitState) -> None: ...

    def check(self, state: FitState) -> None: ...

    def end(self, state: FitState) -> None: ...


class Progress(Callback):
    """A tqdm.auto progress bar with the loss and PSNR as postfix."""

    def __init__(self, desc: str = "fit"):
        self.desc, self.bar, self.last = desc, None, 0

    def start(self, state):
        from tqdm.auto import tqdm
        self.bar = tqdm(total=state.steps, desc=self.desc, leave=False)

    def check(self, state):
        self.bar.update(state.step + 1 - self.last)
        self.last = state.step + 1
        post = {"loss": f"{state.loss:.4g}"}
        if state.history["psnr"]:
            post["psnr"] = f"{state.history['psnr'][-1]:.2f}"
        self.bar.set_postfix(post, refresh=False)

    def end(self, state):
        self.bar.close()


class EarlyStopping(Callback):
    """Stop when the monitored history key has not improved for ``patience`` checks.

    Monitoring 'psnr' needs a target (an oracle, fine for teaching); 'loss' works always.
    """

    def __init__(self, key: str = "loss", patience: int = 5, mode: str | None = None):
        self.key, self.patience = key, patience
        self.mode = mode or ("min" if key == "loss" else "max")
        self.best, self.bad = None, 0

    def check(self, state):
        v = state.history[self.key][-1] if state.history.get(self.key) else None
        if v is None:
            return
        better = self.best is None or (v < self.best if self.mode == "min" else v > self.best)
        self.best, self.bad = (v, 0) if better else (self.best, self.bad + 1)
        if self.bad >= self.patience:
            state.stop = True


class Checkpoint(Callback):
    """Save θ and the optimiser state to ``path`` at every check (resume with ``torch.load``)."""

    def __init__(self, path):
        self.path = path

    def check(self, state):
        torch.save({"step": state.step, "net": state.net.state_dict(),
                    "optimizer": state.optimizer.state_dict()}, self.path)


class Snapshots(Callback):
    """Keep f_θ(z) (and its running average) at the iterations ``steps``, e.g. (100, 600, 2400).

    ``dip.fit`` calls callbacks every ``every`` steps, so each snapshot step must be a multiple
    of ``every`` (or the last step): :func:`snapshot_every` gives a suitable ``every``.
    After the fit, ``images[n]``, ``ema[n]`` and ``psnr[n]`` (if a target was given) hold them.
    """

    def __init__(self, steps):
        self.steps = sorted({int(s) for s in steps})
        if not self.steps or self.steps[0] < 1:
            raise ValueError(f"snapshot steps must be positive iterations, got {steps}")
        self.images, self.ema, self.psnr = {}, {}, {}

    def check(self, state):
        n = state.step + 1
        if n in self.steps and not state.backtracked:
            self.images[n] = state.output.detach().cpu().clone()
            if state.ema is not None:
                self.ema[n] = state.ema.detach().cpu().clone()
            if state.target is not None:
                self.psnr[n] = psnr(self.images[n], state.target)

    def end(self, state):
        missing = [s for s in self.steps if s not in self.images and s <= state.step + 1]
        if missing:
            raise ValueError(f"no snapshot at iterations {missing}: fit's `every` must divide them "
                             f"(use every=dip.snapshot_every({self.steps}))")


def snapshot_every(steps, every: int = 100) -> int:
    """The largest check interval <= ``every`` that hits all the iterations ``steps``."""
    g = 0
    for s in steps:
        g = math.gcd(g, int(s))
    return math.gcd(g, int(every)) if g else int(every)
