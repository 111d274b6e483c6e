"""One call per task: build f_θ and z from a preset, write the energy E, run ``dip.fit``.

These are what the notebooks, the command line and ``reproduce`` share; each returns the
:class:`~dip_lib.fit.FitResult`.
"""
from __future__ import annotations

import math
from collections import deque
from functools import partial

import torch

from .data import default_device
from .fit import Callback, fit
from .inputs import make_input
from .losses import data_term
from .metrics import psnr, psnr_sr
from .nets import build, check_input_size
from .operators import Downsampler, check_mask
from .presets import Preset

__all__ = ["run", "denoise", "super_resolve", "inpaint"]


def run(p: Preset, energy, shape, target: torch.Tensor | None = None, arch: str = "default",
        input_kind: str = "noise", z: torch.Tensor | None = None, out_channels: int = 3, seed: int = 0,
        device=None, **fit_kw):
    """Fit the architecture ``arch`` (scaled to ``p.width``) from a fresh code z to ``energy``.

    ``shape`` is the (H, W) of the output x; settings (steps, lr, σ_p, EMA, ...) come from
    the preset ``p`` unless given in ``fit_kw``.
    """
    device = torch.device(device) if device is not None else default_device()
    if z is None:
        z = make_input(input_kind, tuple(shape), channels=p.input_depth, seed=seed)
    z = z.to(device)
    net = build(arch, in_channels=z.shape[1], out_channels=out_channels, width=p.width, seed=seed)
    check_input_size(net, *z.shape[-2:])
    kw = dict(steps=p.steps, lr=p.lr, reg_noise=p.reg_noise, ema=p.ema, every=p.every, seed=seed)
    kw.update(fit_kw)
    return fit(net, z, energy, target=target, **kw)


def denoise(noisy: torch.Tensor, p: Preset, target: torch.Tensor | None = None, **kw):
    """Blind or Gaussian denoising: E = ||f_θ(z) − y||², stopped early (p.steps), averaged (p.ema)."""
    y = noisy.to(kw.get("device") or default_device())
    return run(p, data_term(y), y.shape[-2:], target, out_channels=y.shape[1], **kw)


def super_resolve(low: torch.Tensor, factor: int, p: Preset, target: torch.Tensor | None = None, **kw):
    """SR: E = ||d(f_θ(z)) − y||² with d the Lanczos-2 downsampler; PSNR with the SR protocol."""
    y = low.to(kw.get("device") or default_device())
    op = Downsampler(factor, y.shape[1]).to(y.device)
    kw.setdefault("metric", partial(psnr_sr, factor=factor))
    shape = (y.shape[-2] * factor, y.shape[-1] * factor)
    return run(p, data_term(y, op), shape, target, out_channels=y.shape[1], **kw)


def inpaint(image: torch.Tensor, mask: torch.Tensor, p: Preset, target: torch.Tensor | None = None, **kw):
    """Inpainting: E = ||(f_θ(z) − x0) ⊙ m||², the prior fills where m = 0."""
    check_mask(mask, image)
    device = kw.get("device") or default_device()
    y, m = image.to(device), mask.to(device)
    return run(p, data_term(y * m, mask=m), y.shape[-2:], target, out_channels=y.shape[1], **kw)


# --- snapshots, ground-truth-free stopping, JPEG artefact removal (notebooks 03-04) -------------

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
                             f"(use every=dip.tasks.snapshot_every({self.steps}))")


def snapshot_every(steps, every: int = 100) -> int:
    """The largest check interval <= ``every`` that hits all the iterations ``steps``."""
    g = 0
    for s in steps:
        g = math.gcd(g, int(s))
    return math.gcd(g, int(every)) if g else int(every)


class WindowedVariance(Callback):
    """Choose when to stop WITHOUT the clean image: the variance of the last ``window`` outputs.

    While the net fits the image its outputs f_θ(z + σ_p n) change a lot; once they settle and
    before it starts fitting the noise, the windowed moving variance of the outputs (ES-WMV,
    Wang et al. 2023) reaches a minimum. At each check this records ``history['variance']``
    (of the raw outputs) and keeps the running average (the output if ``use_ema=False`` or
    the fit has no EMA) at the minimum in ``image`` / ``step``. With ``patience`` it ends the
    fit once the variance has not improved for that many checks.
    """

    def __init__(self, window: int = 10, patience: int | None = None, use_ema: bool = True):
        if window < 2:
            raise ValueError(f"window must be >= 2 checks, got {window}")
        self.window, self.patience, self.use_ema = window, patience, use_ema
        self.buf = deque(maxlen=window)
        self.best, self.image, self.step, self.bad = math.inf, None, None, 0

    def start(self, state):
        state.history.setdefault("variance", [])
        state.history.setdefault("variance_step", [])

    def check(self, state):
        if state.backtracked:
            return
        self.buf.append(state.output.detach().cpu().clone())
        if len(self.buf) < self.window:
            return
        stack = torch.cat(list(self.buf))
        var = float((stack - stack.mean(0, keepdim=True)).pow(2).mean())
        state.history["variance"].append(var)
        state.history["variance_step"].append(state.step + 1)
        if var < self.best:
            keep = state.ema if (self.use_ema and state.ema is not None) else state.output
            self.best, self.image, self.step, self.bad = var, keep.detach().cpu().clone(), state.step + 1, 0
        else:
            self.bad += 1
            if self.patience is not None and self.bad >= self.patience:
                state.stop = True


def jpeg_restore(jpeg_image: torch.Tensor, p: Preset, target: torch.Tensor | None = None,
                 steps: int | None = None, snapshots=None, arch: str = "jpeg", **kw):
    """JPEG artefact removal: E = ||f_θ(z) − y||² with the paper's small JPEG network.

    Runs ``steps`` iterations (default: the preset's ``overfit``, else ``steps``) and keeps
    snapshots at ``snapshots`` (default: the preset's) in ``result.snapshots`` (a
    :class:`Snapshots` with ``images``, ``ema`` and ``psnr`` per iteration).
    """
    device = kw.get("device") or default_device()
    y = jpeg_image.to(device)
    steps = int(steps or p.get("overfit") or p.steps)
    snaps = Snapshots([s for s in (p.get("snapshots", ()) if snapshots is None else snapshots) if s <= steps] + [steps])
    kw.setdefault("every", snapshot_every(snaps.steps, p.every))
    kw["callbacks"] = list(kw.get("callbacks", ())) + [snaps]
    result = run(p, data_term(y), y.shape[-2:], target, arch=arch, out_channels=y.shape[1], steps=steps, **kw)
    result.snapshots = snaps
    return result


__all__ += ["Snapshots", "snapshot_every", "WindowedVariance", "jpeg_restore"]


# --- inpainting masks and scores, flash/no-flash (notebooks 06 and 08) -------------------------

def load_mask(src, size=None, multiple: int | None = None, threshold: float = 0.5) -> torch.Tensor:
    """Load an inpainting mask m (1 = known pixel, 0 = to fill) as a binary 1x1xHxW tensor.

    Give it the ``size``/``multiple`` of its image so both line up. Resizing blurs the mask;
    pixels whose resized value is below ``threshold`` become holes (0.99: every pixel that a
    letter touches, as when anti-aliased text is burnt into a small image).
    """
    from .data import load_image
    m = load_image(src, channels=1, size=size, multiple=multiple, verbose=False)
    return (m >= threshold).float()


def flash_no_flash(flash: torch.Tensor, noflash: torch.Tensor, p: Preset, arch: str = "default", **kw):
    """Flash/no-flash: z = the flash image (sharp, harsh light), E = ||f_θ(z) − y||² with y the noisy
    no-flash image; stopped early, x keeps the no-flash lighting with the flash image's details."""
    if flash.shape != noflash.shape:
        raise ValueError(f"flash {tuple(flash.shape)} and no-flash {tuple(noflash.shape)} must have the same shape")
    device = kw.get("device") or default_device()
    y = noflash.to(device)
    kw.setdefault("z", flash.detach().clone())
    return run(p, data_term(y), y.shape[-2:], out_channels=y.shape[1], arch=arch, **kw)


__all__ += ["load_mask", "flash_no_flash"]
