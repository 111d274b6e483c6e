"""Stopping without ground truth: ES-WMV (Wang, Li, Zhuang, Chen, Liang, Sun 2021,
"Early stopping for deep image prior", arXiv 2112.06074).

The variance of the last W outputs, averaged over pixels, falls while the network fits the
image and rises again once it starts fitting the noise. ES-WMV tracks its running minimum and
stops when ``patience`` steps pass without a new one; the output kept is the one at the minimum.
With a running average of the outputs (the kit's default), the image kept is the average **when
the rule fires** (``patience`` steps after the minimum): the variance of the raw outputs turns up
when they start to take in noise, but averaging them keeps cancelling that noise for a while.
Measured on the 9 CBM3D images (``benchmarks/quality_precision.py --es-only``, cpu preset, σ=25,
``benchmarks/results/es-wmv-cpu-2core-2026-11-26.jsonl``): the average at the minimum is 1.21 dB
below the oracle's best on average, the average at the stop 0.16 dB; watched for 3x the preset's
steps (``--es-factor 3``, ``es-wmv-3x-cpu-2core-2026-11-27.jsonl``), 0.95 against 0.20 dB.

Two additions for DIP as the kit runs it (σ_p perturbs z at every step, so the outputs
fluctuate more as the network learns finer detail):

- a network starts from an almost constant output, so the very first windows have a tiny
  variance that rises as it starts to learn: only values below half of the largest variance
  seen so far count (after the learning burst has peaked);
- a blurry early phase has a low variance too (the detail is not learnt yet): a minimum only
  counts once the loss has slowed down, i.e. the mean loss of the last window is less than
  ``slow`` (0.1%) per step below that of the window before.
Without them, on F16 at σ=25 the rule picks step ~50 (14 dB) instead of the plateau (~27 dB).

In watching mode (``stop=False``) the choice is frozen when the rule would have stopped, so a
watched fit reports what a stopping fit would have returned.

Everything stays on the device: the window is a ring buffer with running sums (re-summed every
W steps against drift), the minimum, its step and its image are updated with ``torch.where``,
and the host only reads the step of the minimum at the fit's checks.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["EarlyStop", "VarianceTracker"]


@dataclass(frozen=True)
class EarlyStop:
    """ES-WMV settings. ``window``: W, outputs in the variance; ``patience``: steps without a
    new minimum before stopping; ``stop=False`` only records the variance and the step it
    would have stopped at (for measuring it against the oracle)."""
    window: int = 100
    patience: int = 1000
    stop: bool = True
    slow: float = 1e-3

    def __post_init__(self):
        for k in ("window", "patience"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 2:
                raise ValueError(f"early stopping's {k} must be a whole number >= 2, got {v!r}")


class VarianceTracker:
    """Device-side state of ES-WMV for one fit (see :class:`EarlyStop`)."""

    def __init__(self, rule: EarlyStop, steps: int, like: torch.Tensor, ema: bool):
        w = rule.window
        self.losses = torch.zeros(2 * w, device=like.device)
        self.rule, self.w = rule, w
        self.buf = torch.zeros((w, *like.shape[1:]), device=like.device, dtype=torch.float32)
        self.s1 = torch.zeros(like.shape[1:], device=like.device, dtype=torch.float32)
        self.s2 = torch.zeros_like(self.s1)
        self.var = torch.full((steps,), float("nan"), device=like.device)
        self.best = torch.tensor(float("inf"), device=like.device)
        self.peak = torch.tensor(0.0, device=like.device)
        self.best_step = torch.tensor(-1, device=like.device)
        self.best_out = torch.zeros_like(like, dtype=torch.float32)
        self.best_ema = torch.zeros_like(like, dtype=torch.float32) if ema else None
        self.stop_step: int | None = None     # the step (1-based) the rule stopped or would have stopped at
        self.frozen = False                   # watching: the choice is fixed once the rule would have stopped

    def update(self, step: int, out: torch.Tensor, ema: torch.Tensor | None, loss: torch.Tensor | None = None) -> None:
        """Add the output (and loss) of ``step`` (0-based); no host sync."""
        if loss is not None:
            self.losses[step % (2 * self.w)] = loss.detach().float()
        x = out[0].float()
        i = step % self.w
        if step >= self.w:
            old = self.buf[i]
            self.s1.add_(x - old)
            self.s2.add_(x * x - old * old)
        else:
            self.s1.add_(x)
            self.s2.add_(x * x)
        self.buf[i].copy_(x)
        if step % self.w == self.w - 1:                      # exact sums again, against drift
            self.s1.copy_(self.buf.sum(0))
            self.s2.copy_((self.buf * self.buf).sum(0))
        if step < self.w - 1:
            return
        m = self.s1 / self.w
        v = (self.s2 / self.w - m * m).clamp_min(0).mean()
        self.var[step] = v
        if self.frozen:
            return
        self.peak = torch.maximum(self.peak, v)
        better = (v < self.best) & (v < 0.5 * self.peak)
        if loss is not None:
            if step < 2 * self.w - 1:
                return
            idx = torch.arange(step - self.w + 1, step + 1, device=self.losses.device) % (2 * self.w)
            now = self.losses[idx].mean()
            before = (self.losses.sum() - self.losses[idx].sum()) / self.w
            better = better & ((before - now) < self.rule.slow * self.w * now)
        self.best = torch.where(better, v, self.best)
        self.best_step = torch.where(better, torch.full_like(self.best_step, step), self.best_step)
        self.best_out = torch.where(better, out.float(), self.best_out)
        if self.best_ema is not None and ema is not None:    # the average up to `patience` steps after the minimum
            take = step <= self.best_step + self.rule.patience
            self.best_ema = torch.where(take, ema.float(), self.best_ema)

    def should_stop(self, step: int) -> bool:
        """Read at a check (a host sync): True once ``patience`` steps passed without a new minimum."""
        b = int(self.best_step)
        if b < 0 or step - b < self.rule.patience:
            return False
        if self.stop_step is None:
            self.stop_step = step + 1
            self.frozen = True
        return self.rule.stop

    def kept_step(self, last: int) -> int | None:
        """1-based step of the running average kept (``best_ema``): ``patience`` steps after the
        minimum, or ``last`` (the fit's last step) if the fit ended before that."""
        b = self.min_step
        return None if b is None else min(b + self.rule.patience, last)

    @property
    def min_step(self) -> int | None:
        """1-based step of the variance minimum (the output ES-WMV returns)."""
        b = int(self.best_step)
        return None if b < 0 else b + 1
