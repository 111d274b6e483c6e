"""Data terms and regularisers; each returns a scalar tensor and stays on the device.

The energy of a problem, E(x) = loss(A(x), y) (+ λ·TV(x)), is built by ``Problem.energy``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


__all__ = ["mse", "tv", "feature_loss"]


def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """E = ||x − y||² / N (the paper's data term for denoising, JPEG and SR)."""
    if x.shape != y.shape:
        raise ValueError(f"output {tuple(x.shape)} and target {tuple(y.shape)} differ in shape: "
                         f"check the operator A and the image sizes.")
    return F.mse_loss(x, y)


def tv(x: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """Total variation Σ (|∂x/∂h|² + |∂x/∂w|²)^(β/2), averaged over pixels (β=1: isotropic TV)."""
    dh = x[..., 1:, :-1] - x[..., :-1, :-1]
    dw = x[..., :-1, 1:] - x[..., :-1, :-1]
    return (dh.pow(2) + dw.pow(2) + 1e-8).pow(beta / 2).mean()


def feature_loss(f_x: torch.Tensor, f_target: torch.Tensor) -> torch.Tensor:
    """||Φ(x) − Φ(x0)||² / ||Φ(x0)||², the normalised feature-matching term of the pre-image."""
    return (f_x - f_target).pow(2).sum() / f_target.pow(2).sum().clamp_min(1e-12)
