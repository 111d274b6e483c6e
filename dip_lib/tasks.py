"""One call per task: build f_θ and z from a preset, write the energy E, run ``dip.fit``.

These are what the notebooks, the command line and ``reproduce`` share; each returns the
:class:`~dip_lib.fit.FitResult`.
"""
from __future__ import annotations

from functools import partial

import torch

from .data import default_device
from .fit import fit
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
