"""Classical baselines shown beside the deep image prior.

Each takes and returns 1xCxHxW tensors in [0, 1]. Several notebooks and ``reproduce`` use
them, so they live here once.
"""
from __future__ import annotations

import numpy as np
import torch

from .metrics import to_numpy

__all__ = ["bicubic", "nlm", "tv_denoise", "cbm3d", "MissingOptionalDependency"]


class MissingOptionalDependency(ImportError):
    """An optional extra (e.g. bm3d) is not installed; the message says how to install it."""


def _to_tensor(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    a = np.asarray(a, dtype=np.float32)
    a = a[..., None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a.clip(0, 1))).permute(2, 0, 1)[None].to(like.device)


def bicubic(low: torch.Tensor, factor: int) -> torch.Tensor:
    """Bicubic upsampling by ``factor`` (PIL's filter, as in the SR literature)."""
    from PIL import Image
    h, w = low.shape[-2:]
    chans = [np.asarray(Image.fromarray(c.astype(np.float32), mode="F").resize((w * factor, h * factor), Image.BICUBIC))
             for c in to_numpy(low).transpose(2, 0, 1)]
    return _to_tensor(np.stack(chans, -1), low)


def nlm(noisy: torch.Tensor, sigma: float, patch_size: int = 5, patch_distance: int = 6, h_factor: float = 0.8) -> torch.Tensor:
    """Non-local means (scikit-image, fast mode), with h = h_factor·σ (σ on the [0, 1] scale)."""
    from skimage.restoration import denoise_nl_means
    a = to_numpy(noisy)
    out = denoise_nl_means(a, h=h_factor * sigma, sigma=sigma, patch_size=patch_size,
                           patch_distance=patch_distance, fast_mode=True, channel_axis=-1)
    return _to_tensor(out, noisy)


def tv_denoise(noisy: torch.Tensor, weight: float = 0.08) -> torch.Tensor:
    """Total-variation denoising (Chambolle, scikit-image)."""
    from skimage.restoration import denoise_tv_chambolle
    return _to_tensor(denoise_tv_chambolle(to_numpy(noisy), weight=weight, channel_axis=-1), noisy)


def cbm3d(noisy: torch.Tensor, sigma: float) -> torch.Tensor:
    """CBM3D (colour BM3D) through the optional ``bm3d`` package (non-commercial licence).

    Raises :class:`MissingOptionalDependency` with the install command when it is missing.
    """
    try:
        import bm3d
    except ImportError:
        raise MissingOptionalDependency(
            "CBM3D needs the optional 'bm3d' package (free for non-commercial use only): "
            "pip install 'dip_lib[bm3d]' or pip install bm3d; the other baselines work without it.") from None
    a = to_numpy(noisy)
    out = bm3d.bm3d_rgb(a, sigma) if a.shape[2] == 3 else bm3d.bm3d(a[..., 0], sigma)
    return _to_tensor(out, noisy)
