"""Noise impedance (paper Fig. 2): the same f_θ(z) fits a natural image fast and noise slowly.

The experiment fits ONE network (same θ at start, same code z, σ_p = 0, no averaging) to four
targets x0 with E = ||f_θ(z) − x0||² and compares how many steps the loss takes to fall below
a threshold:

- a natural image,
- the same image plus Gaussian noise,
- the same image with its pixels randomly permuted (same colour histogram, no structure),
- white noise U(0, 1).

The architecture "resists" the last two: that resistance is the prior.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np
import torch

from ..core.fit import FitResult
from ..core.operators import gaussian_noise
from ..core.rng import generator
from ..problems.problem import denoising
from ..problems.run import solve

__all__ = ["impedance_targets", "permute_pixels", "steps_to_reach", "run_impedance", "impedance_steps",
           "plot_impedance", "TARGET_NAMES"]

TARGET_NAMES = ("image", "image + noise", "permuted pixels", "U(0,1) noise")


def permute_pixels(img: torch.Tensor, seed: int | None = 0) -> torch.Tensor:
    """Shuffle the pixel positions of a 1xCxHxW image (one permutation for all channels).

    Every pixel keeps its colour, so the colour histogram is unchanged; only the spatial
    structure, what the prior likes, is destroyed.
    """
    if img.dim() != 4 or img.shape[0] != 1:
        raise ValueError(f"expected one 1xCxHxW image, got shape {tuple(img.shape)}")
    c, h, w = img.shape[1:]
    perm = torch.randperm(h * w, generator=generator(seed)).to(img.device)
    return img.reshape(1, c, h * w)[..., perm].reshape(1, c, h, w)


def impedance_targets(img: torch.Tensor, seed: int = 0, sigma: float = 25 / 255) -> dict[str, torch.Tensor]:
    """The four targets x0 of Fig. 2, in order: image, image + N(0, σ²) noise (clipped),
    image with permuted pixels, U(0, 1) noise. All have the shape of ``img``."""
    white = torch.rand(img.shape, generator=generator(seed)).to(img.device, img.dtype)
    return {
        TARGET_NAMES[0]: img,
        TARGET_NAMES[1]: gaussian_noise(img, sigma, seed=seed),
        TARGET_NAMES[2]: permute_pixels(img, seed=seed),
        TARGET_NAMES[3]: white,
    }


def steps_to_reach(losses, threshold: float) -> float:
    """The number of steps after which the loss first is <= ``threshold`` (1-based: the loss
    after step k is ``losses[k-1]``); ``math.inf`` if it never gets there."""
    a = np.asarray(losses, dtype=float).ravel()
    hit = np.flatnonzero(a <= threshold)
    return int(hit[0]) + 1 if hit.size else math.inf


def run_impedance(img: torch.Tensor, p, arch: str = "default", seed: int | None = None, sigma: float = 25 / 255,
                  targets: Mapping[str, torch.Tensor] | None = None, device=None,
                  callbacks_for=None, progress: bool = False) -> dict[str, FitResult]:
    """Fit the same network f_θ (architecture ``arch`` at width ``p.width``, θ seeded by ``seed``)
    from the same z to each target with ``dip.solve``: σ_p = 0 and no EMA, as in Fig. 2.
    ``seed`` defaults to ``p.seed`` (it also draws the noise targets when ``targets`` is not given).

    ``p`` is a preset (steps, lr, every, width, input_depth); ``callbacks_for(name)`` may return
    the callbacks of the fit of target ``name`` (e.g. a live view). Returns name -> FitResult;
    ``result.losses`` holds the MSE of every step.
    """
    seed = p.seed if seed is None else seed
    targets = dict(targets) if targets is not None else impedance_targets(img, seed, sigma)
    results = {}
    for name, x0 in targets.items():   # the same seed: the same θ at start and the same z for every target
        cbs = callbacks_for(name) if callbacks_for is not None else ()
        results[name] = solve(denoising(noisy=x0), p, arch=arch, seed=seed, device=device, callbacks=cbs,
                              progress=f"fit {name}" if progress else False, sigma_p=0.0, ema=None)
    return results


def impedance_steps(results: Mapping[str, FitResult], threshold: float) -> dict[str, float]:
    """Steps each fit needed to bring the MSE below ``threshold`` (inf: not within the run)."""
    return {name: steps_to_reach(r.losses, threshold) for name, r in results.items()}


def plot_impedance(results: Mapping[str, FitResult], threshold: float | None = None, ax=None,
                   styles: Iterable[str] = ("-", "--", "-.", ":")):
    """Fig. 2: the MSE of every step against the iteration, log-log, one curve per target."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for (name, r), ls in zip(results.items(), list(styles) * 4):
        steps = np.arange(1, len(r.losses) + 1)
        ax.loglog(steps, r.losses, ls, label=name, lw=1.5)
    if threshold is not None:
        ax.axhline(threshold, color="gray", lw=1, ls="--", label=f"threshold {threshold:g}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("MSE  ||f_θ(z) − x0||²")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return ax
