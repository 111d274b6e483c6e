"""Data terms E(x; y) and regularisers; each returns a scalar tensor and stays on the device."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .operators import check_mask

__all__ = ["mse", "masked_mse", "tv", "feature_loss", "data_term"]


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """E = ||x − y||² / N (the paper's data term for denoising, JPEG and SR)."""
    if x.shape != y.shape:
        raise ValueError(f"output {tuple(x.shape)} and target {tuple(y.shape)} differ in shape: "
                         f"check the operator A and the image sizes.")
    return F.mse_loss(x, y)


def masked_mse(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """E = ||(x − y) ⊙ m||² / N (inpainting: only the known pixels count)."""
    check_mask(mask, x)
    return F.mse_loss(x * mask, y * mask)


def tv(x: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """Total variation Σ (|∂x/∂h|² + |∂x/∂w|²)^(β/2), averaged over pixels (β=1: isotropic TV)."""
    dh = x[..., 1:, :-1] - x[..., :-1, :-1]
    dw = x[..., :-1, 1:] - x[..., :-1, :-1]
    return (dh.pow(2) + dw.pow(2) + 1e-8).pow(beta / 2).mean()


def feature_loss(f_x: torch.Tensor, f_target: torch.Tensor) -> torch.Tensor:
    """||Φ(x) − Φ(x0)||² / ||Φ(x0)||², the normalised feature-matching term of the pre-image."""
    return (f_x - f_target).pow(2).sum() / f_target.pow(2).sum().clamp_min(1e-12)


def data_term(y: torch.Tensor, operator: Callable | None = None, mask: torch.Tensor | None = None,
              tv_weight: float = 0.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """Build the energy E(x) = ||A(x) − y||² (⊙ mask) + λ·TV(x) that ``dip.fit`` minimises."""
    if mask is not None:
        check_mask(mask, y)

    def energy(x):
        ax = operator(x) if operator is not None else x
        e = masked_mse(ax, y, mask) if mask is not None else mse(ax, y)
        return e + tv_weight * tv(x) if tv_weight else e

    return energy
