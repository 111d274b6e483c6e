"""Image quality: PSNR (plain, and the SR protocol: Y channel, border cropped) and SSIM."""
from __future__ import annotations

import numpy as np
import torch

from .operators import check_mask

__all__ = ["psnr", "psnr_sr", "hole_psnr", "ssim", "rgb_to_y", "to_numpy"]


def to_numpy(x) -> np.ndarray:
    """1xCxHxW tensor (or CxHxW / HxWxC array) -> HxWxC float64 array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu()
        if x.dim() == 4:
            if x.shape[0] != 1:
                raise ValueError(f"expected a single image, got a batch of {x.shape[0]}")
            x = x[0]
        x = x.permute(1, 2, 0).numpy()
    x = np.asarray(x, dtype=np.float64)
    return x[..., None] if x.ndim == 2 else x


def _check(a, b):
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")


def psnr(x, ref, data_range: float = 1.0) -> float:
    """PSNR = 10 log10(range² / MSE) in dB, on all pixels and channels."""
    a, b = to_numpy(x), to_numpy(ref)
    _check(a, b)
    m = np.mean((a - b) ** 2)
    return float("inf") if m == 0 else float(10 * np.log10(data_range ** 2 / m))


def rgb_to_y(x: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma as in MATLAB's rgb2ycbcr, on [0, 1] input: Y in [16/255, 235/255]."""
    if x.shape[-1] == 1:
        return x
    return (16 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2])[..., None] / 255


def psnr_sr(x, ref, factor: int, quantize: bool = True) -> float:
    """PSNR with the super-resolution protocol: Y channel only, ``factor`` pixels cropped from
    each border, images quantised to 8 bits first (as the published SR tables)."""
    a, b = to_numpy(x), to_numpy(ref)
    _check(a, b)
    if quantize:
        a, b = np.round(a.clip(0, 1) * 255) / 255, np.round(b.clip(0, 1) * 255) / 255
    a, b = rgb_to_y(a), rgb_to_y(b)
    c = int(factor)
    if c:
        if a.shape[0] <= 2 * c or a.shape[1] <= 2 * c:
            raise ValueError(f"image {a.shape[:2]} too small to crop a {c}-pixel border")
        a, b = a[c:-c, c:-c], b[c:-c, c:-c]
    m = np.mean((a - b) ** 2)
    return float("inf") if m == 0 else float(10 * np.log10(1.0 / m))


def ssim(x, ref) -> float:
    """Structural similarity (scikit-image), over colour channels."""
    from skimage.metrics import structural_similarity
    a, b = to_numpy(x), to_numpy(ref)
    _check(a, b)
    return float(structural_similarity(a, b, data_range=1.0, channel_axis=-1))


def hole_psnr(x: torch.Tensor, ref: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (dB) on the pixels to fill only (mask == 0): the score of an inpainting."""
    check_mask(mask, ref)
    missing = (mask.detach().cpu() < 0.5).expand_as(ref.detach().cpu())
    if not missing.any():
        raise ValueError("the mask has no holes (no zero pixels): nothing to score")
    err = (x.detach().cpu().float() - ref.detach().cpu().float())[missing].pow(2).mean()
    return float("inf") if err == 0 else float(-10 * torch.log10(err))
