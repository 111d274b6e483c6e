"""The one path from settings to result: ``dip.solve(problem, settings)``.

It builds the code z and the network f_θ from the settings (or fits the pixels themselves,
``arch='pixels'``, the "no prior" / TV baselines), and calls :func:`dip_lib.fit` with the
problem's energy. Every notebook, the command line, ``reproduce``, the ablations and the
impedance experiment go through it; nothing else builds z + net + fit.
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ..core.codes import make_input
from ..core.device import resolve_device
from ..core.fit import FitResult, fit
from ..core.nets import PixelImage, SkipConfig, architecture, make
from .problem import Problem
from .settings import Settings

__all__ = ["solve", "build_for"]


def build_for(problem: Problem, s: Settings, arch: str | SkipConfig | None = None, seed: int = 0,
              device=None, init: torch.Tensor | None = None) -> tuple[nn.Module, torch.Tensor]:
    """f_θ and z for ``problem`` with settings ``s`` (θ and z drawn from ``seed``), on ``device``.

    ``arch`` defaults to ``s.arch``; 'pixels' gives ``dip.PixelImage`` (θ = x itself, started
    at ``init`` or grey) and a z of zeros it ignores.
    """
    device = resolve_device(device)
    arch = s.arch if arch is None else arch
    h, w = problem.size
    if isinstance(arch, str) and arch == "pixels":
        net = PixelImage(problem.x_shape, init=None if init is None else init.detach().cpu())
        return net.to(device), torch.zeros(problem.x_shape, device=device)
    spec = architecture(arch, in_channels=s.input_depth, width=s.width)
    if problem.code is not None:      # the data gives z (flash/no-flash)
        spec.check(h, w)
        z = problem.code
    else:
        _, c, zh, zw = spec.code_shape(h, w)      # checks that H x W suits the network
        z = make_input(s.input, (zh, zw), channels=c, seed=seed)
    net, _ = make(arch, in_channels=z.shape[1], out_channels=problem.channels, width=s.width, seed=seed)
    return net.to(device), z.to(device)


def solve(problem: Problem, settings: Settings, *, arch: str | SkipConfig | None = None, seed: int = 0,
          device=None, callbacks: Iterable = (), progress: bool | str = False, z: torch.Tensor | None = None,
          init: torch.Tensor | None = None, tv_weight: float = 0.0, tv_beta: float = 1.0, stop=None,
          **changes) -> FitResult:
    """Fit f_θ(z) to ``problem`` with ``settings`` and return the :class:`~dip_lib.fit.FitResult`.

    Args:
        problem: a :class:`~dip_lib.problems.problem.Problem` (``dip.denoising(...)`` etc.).
        settings: a preset's settings (``dip.preset("denoising")``); ``changes`` override its
            fields for this call (``steps=500``, ``sigma_p=0``, ...); an unknown name is refused.
        arch: the network (default ``settings.arch``): a ``dip.build`` name, a ``SkipConfig``,
            or 'pixels' to fit the image itself (started at ``init``).
        seed: draws θ and z (and seeds σ_p); the global RNG is left alone.
        z: a code to use instead of drawing one.
        tv_weight, tv_beta: add λ·TV_β(x) to the energy (the TV baselines).
        callbacks, progress, stop: passed to ``dip.fit``.
    """
    s = settings.replace(**changes) if changes else settings
    device = resolve_device(device)
    net, code = build_for(problem, s, arch, seed, device, init)
    if z is not None:
        code = z.to(device)
    p = problem.to(device)
    return fit(net, code, p.energy(tv_weight, tv_beta), steps=s.steps, lr=s.lr, sigma_p=s.sigma_p, ema=s.ema,
               every=min(s.every, s.steps), backtrack=s.backtrack, target=problem.truth, metric=problem.metric,
               callbacks=callbacks, progress=progress, seed=seed, stop=stop)
