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
from ..core.early_stop import EarlyStop
from ..core.fit import FitResult, fit
from ..core.restarts import Restarts
from ..core.nets import PixelImage, SkipConfig, architecture, make
from .problem import Problem
from .settings import Settings

__all__ = ["solve", "build_for"]


def build_for(problem: Problem, s: Settings, arch: str | SkipConfig | None = None, seed: int | None = None,
              device=None, init: torch.Tensor | None = None) -> tuple[nn.Module, torch.Tensor]:
    """f_θ and z for ``problem`` with settings ``s`` (θ and z drawn from ``seed``, default ``s.seed``), on ``device``.

    ``arch`` defaults to ``s.arch``; 'pixels' gives ``dip.PixelImage`` (θ = x itself, started
    at ``init`` or grey) and a z of zeros it ignores.
    """
    device = resolve_device(device)
    arch = s.arch if arch is None else arch
    seed = s.seed if seed is None else seed
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
    net, _ = make(arch, in_channels=z.shape[1], out_channels=problem.channels, width=s.width, seed=seed,
                  bn_init=s.bn_init)
    return net.to(device), z.to(device)


def solve(problem: Problem, settings: Settings, *, arch: str | SkipConfig | None = None, seed: int | None = None,
          device=None, callbacks: Iterable = (), progress: bool | str = False, z: torch.Tensor | None = None,
          init: torch.Tensor | None = None, tv_weight: float = 0.0, tv_beta: float = 1.0, stop=None,
          runs: int = 1, **changes) -> FitResult:
    """Fit f_θ(z) to ``problem`` with ``settings`` and return the :class:`~dip_lib.fit.FitResult`.

    Args:
        problem: a :class:`~dip_lib.problems.problem.Problem` (``dip.denoising(...)`` etc.).
        settings: a preset's settings (``dip.preset("denoising")``); ``changes`` override its
            fields for this call (``steps=500``, ``sigma_p=0``, ...); an unknown name is refused.
        arch: the network (default ``settings.arch``): a ``dip.build`` name, a ``SkipConfig``,
            or 'pixels' to fit the image itself (started at ``init``).
        seed: draws θ and z (and seeds σ_p); default ``settings.seed`` (``DIP_SEED`` or 0); the
            global RNG is left alone.
        z: a code to use instead of drawing one.
        tv_weight, tv_beta: add λ·TV_β(x) to the energy (the TV baselines).
        callbacks, progress, stop: passed to ``dip.fit``.
        runs: fit N independent runs (seeds ``seed`` .. ``seed + N - 1``) in one loop
            (:class:`~dip_lib.core.restarts.Restarts`): ``image``/``ema_image`` are their mean
            (the paper's average of two runs), ``runs``/``runs_ema`` each run's own.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"dip.solve needs a problem, e.g. dip.denoising(img, sigma=25) or dip.inpainting(img, "
                        f"mask), not a {type(problem).__name__}")
    if not isinstance(settings, Settings):
        raise TypeError(f"dip.solve needs settings from dip.preset('denoising') (or another application), "
                        f"not a {type(settings).__name__}")
    s = settings.replace(**changes) if changes else settings
    seed = s.seed if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    device = resolve_device(device)
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a whole number >= 1, got {runs!r}")
    if runs > 1:
        if z is not None or (isinstance(arch, str) and arch == "pixels"):
            raise ValueError("runs > 1 draws a network and a code per run: it cannot take z= or arch='pixels'")
        built = [build_for(problem, s, arch, seed + i, device, init) for i in range(runs)]
        net, code = Restarts([b[0] for b in built], device=device), torch.cat([b[1] for b in built])
    else:
        net, code = build_for(problem, s, arch, seed, device, init)
    if z is not None:
        code = z.to(device)
    p = problem.to(device)
    return fit(net, code, p.energy(tv_weight, tv_beta), steps=s.steps, lr=s.lr, sigma_p=s.sigma_p, ema=s.ema,
               every=min(s.every, s.steps), backtrack=s.backtrack, target=problem.truth, metric=problem.metric,
               callbacks=callbacks, progress=progress, seed=seed, stop=stop, precision=s.precision,
               early_stop=None if s.early_stop == "off" else EarlyStop(s.es_window, s.es_patience, s.early_stop == "stop"))
