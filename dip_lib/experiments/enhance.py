"""Detail enhancement with the deep image prior (the paper's Sec. "Image enhancement").

Fitting f_θ(z) to a *clean* image x0 (E = ||f_θ(z) − x0||², no noise, no σ_p) reproduces
the coarse structure first and the fine details last. Stopping at step t gives a coarse
image x_c(t); the fine details are x_f = x0 − x_c and the enhanced image boosts them:
x_e = x0 + k·x_f (k = 1 in the paper's figure).

    result, coarse = fit_coarse(x0, p, stops=(100, 300, 800))   # {step: x_c} via dip.Snapshots
    layers = decompose(x0, coarse)                               # {step: Layers(coarse, fine, enhanced)}
"""
from __future__ import annotations

from typing import Iterable, Mapping, NamedTuple

import torch
import torch.nn.functional as F

from ..core.callbacks import Snapshots, snapshot_every
from ..problems.problem import enhancement
from ..problems.run import solve

__all__ = ["Layers", "decompose", "high_frequency_energy", "fit_coarse",
           "noise_sigma", "edge_correlation", "lowpass_psnr"]


class Layers(NamedTuple):
    """The decomposition of x0 at one stopping point: x0 = coarse + fine; enhanced = x0 + k·fine."""
    coarse: torch.Tensor
    fine: torch.Tensor
    enhanced: torch.Tensor


def decompose(x0: torch.Tensor, snapshots: Mapping[int, torch.Tensor] | Iterable[torch.Tensor], k: float = 1.0,
              clip: bool = True) -> dict[int, Layers] | list[Layers]:
    """Split x0 into coarse x_c (a snapshot), fine x_f = x0 − x_c, and enhanced x_e = x0 + k·x_f.

    ``snapshots`` is a dict step -> x_c (returns a dict with the same keys) or a list of x_c
    (returns a list). ``clip`` keeps x_e in [0, 1] so it can be shown and saved; x_f is
    signed (show it as 0.5 + x_f).
    """
    x0 = x0.detach().to("cpu")

    def one(xc):
        xc = xc.detach().to("cpu")
        if xc.shape != x0.shape:
            raise ValueError(f"the coarse image {tuple(xc.shape)} and x0 {tuple(x0.shape)} differ in shape")
        xf = x0 - xc
        xe = x0 + k * xf
        return Layers(xc, xf, xe.clamp(0, 1) if clip else xe)

    if isinstance(snapshots, Mapping):
        return {s: one(x) for s, x in sorted(snapshots.items())}
    return [one(x) for x in snapshots]


def high_frequency_energy(x: torch.Tensor) -> float:
    """Mean squared response of the discrete Laplacian (per channel): the energy of fine detail."""
    lap = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    c = x.shape[1]
    y = F.conv2d(F.pad(x.detach().float().cpu(), (1, 1, 1, 1), mode="replicate"),
                 lap.view(1, 1, 3, 3).repeat(c, 1, 1, 1), groups=c)
    return float(y.pow(2).mean())


def fit_coarse(x0: torch.Tensor, p, stops: Iterable[int] | None = None, callbacks=(), **kw):
    """Fit f_θ(z) to the clean x0 and return (FitResult, {step: x_c}) with x_c the outputs at ``stops``.

    ``stops`` defaults to ``p.stops``; the fit runs to the last stop, checking every step that
    divides all stops. Other keywords go to :func:`dip_lib.solve` (arch, seed, settings changes).
    """
    stops = sorted(stops if stops is not None else p.stops)
    snaps = Snapshots(stops)
    kw = {"ema": None, "sigma_p": 0.0, "every": snapshot_every(stops, p.every), "steps": stops[-1], **kw}
    result = solve(enhancement(x0), p, callbacks=[snaps, *callbacks], **kw)
    return result, snaps.images


# --- scores for flash/no-flash (notebook 08): less noise, the flash image's edges, the no-flash light ---

def noise_sigma(x: torch.Tensor) -> float:
    """Estimated std of Gaussian noise in x (wavelet MAD, scikit-image), on the [0, 1] scale."""
    from skimage.restoration import estimate_sigma
    from ..core.metrics import to_numpy
    return float(estimate_sigma(to_numpy(x), channel_axis=-1, average_sigmas=True))


def _gradients(x: torch.Tensor) -> torch.Tensor:
    g = x.detach().float().cpu().mean(1, keepdim=True)
    return torch.cat([(g[..., 1:, :-1] - g[..., :-1, :-1]).flatten(), (g[..., :-1, 1:] - g[..., :-1, :-1]).flatten()])


def edge_correlation(x: torch.Tensor, ref: torch.Tensor) -> float:
    """Correlation (−1..1) between the grey-level gradients of x and of ref: 1 = the same edges."""
    a, b = _gradients(x), _gradients(ref)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12))


def lowpass_psnr(x: torch.Tensor, ref: torch.Tensor, radius: int = 4) -> float:
    """PSNR between box-filtered x and ref: do they share colours and lighting (ignoring detail/noise)?"""
    from ..problems.baselines import box_filter
    from ..core.metrics import psnr
    return psnr(box_filter(x.detach().float().cpu(), radius), box_filter(ref.detach().float().cpu(), radius))
