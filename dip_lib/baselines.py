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


# --- inpainting and flash/no-flash baselines (notebooks 06 and 08) ----------------------------

__all__ += ["biharmonic_inpaint", "box_filter", "guided_filter"]


def biharmonic_inpaint(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill the pixels where ``mask`` is 0 by biharmonic interpolation (scikit-image).

    ``mask`` is 1 on known pixels (the convention of ``dip.inpaint``), 1x1xHxW or 1xCxHxW.
    """
    from skimage.restoration import inpaint_biharmonic
    missing = to_numpy(mask)[..., 0] < 0.5
    out = inpaint_biharmonic(to_numpy(image), missing, channel_axis=-1)
    return _to_tensor(out, image)


def box_filter(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)x(2r+1) window, reflect padding at the borders (1xCxHxW -> same)."""
    import torch.nn.functional as F
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    if radius == 0:
        return x
    x = F.pad(x, (radius,) * 4, mode="reflect")
    return F.avg_pool2d(x, 2 * radius + 1, stride=1)


def guided_filter(guide: torch.Tensor, src: torch.Tensor, radius: int = 8, eps: float = 1e-3) -> torch.Tensor:
    """The guided filter (He, Sun, Tang; ECCV 2010): smooth ``src`` while keeping the edges of ``guide``.

    In each window the output is a linear function of the guide, q = a·I + b, with
    a = cov(I, p) / (var(I) + eps) and b = mean(p) − a·mean(I); the coefficients are then
    averaged over the windows covering a pixel. ``guide`` has 1 channel (shared) or as many
    channels as ``src`` (channel c guides channel c). eps → 0 with guide == src is the
    identity; a constant guide gives a = 0, i.e. a (double) box filter of ``src``.
    Flash/no-flash: guide = the flash image, src = the noisy no-flash image.
    """
    if guide.shape[-2:] != src.shape[-2:] or guide.shape[1] not in (1, src.shape[1]):
        raise ValueError(f"guide {tuple(guide.shape)} and src {tuple(src.shape)} must share H, W, and the "
                         f"guide needs 1 channel or as many as src")
    i, p = guide.float(), src.float()
    mean_i, mean_p = box_filter(i, radius), box_filter(p, radius)
    cov_ip = box_filter(i * p, radius) - mean_i * mean_p
    var_i = box_filter(i * i, radius) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return (box_filter(a, radius) * i + box_filter(b, radius)).to(src.dtype)


# --- super-resolution without a deep prior (notebook 05) ----------------------------------------

__all__ += ["pixels_sr"]


def pixels_sr(low: torch.Tensor, factor: int, steps: int = 1000, tv_weight: float = 0.0, lr: float = 0.01,
              init: str = "bicubic", target: torch.Tensor | None = None, device=None, **fit_kw):
    """SR by fitting the pixels themselves: θ = x, E = ||d(x) − y||² + λ·TV(x), with ``dip.fit``.

    ``tv_weight=0`` is the paper's "no prior" result (only the data term: nothing controls the
    frequencies the Lanczos downsampler d removes), ``tv_weight>0`` its "TV prior". ``init`` is
    'bicubic' (start from the bicubic upsampling) or 'gray' (a constant 0.5 image).
    Returns the :class:`~dip_lib.fit.FitResult` (its ``image`` is the estimate).
    """
    from functools import partial

    from .data import default_device
    from .fit import fit
    from .losses import data_term
    from .metrics import psnr_sr
    from .nets import PixelImage
    from .operators import Downsampler

    if init not in ("bicubic", "gray"):
        raise ValueError(f"init must be 'bicubic' or 'gray', not {init!r}")
    device = torch.device(device) if device is not None else default_device()
    y = low.detach().to(device)
    shape = (1, y.shape[1], y.shape[-2] * factor, y.shape[-1] * factor)
    start = bicubic(low.detach().cpu(), factor) if init == "bicubic" else None
    net = PixelImage(shape, init=start)
    op = Downsampler(factor, y.shape[1]).to(device)
    kw = dict(reg_noise=0.0, ema=None, every=max(1, steps // 20), seed=0,
              metric=partial(psnr_sr, factor=factor))
    kw.update(fit_kw)
    z = torch.zeros(shape, device=device)  # ignored by PixelImage; gives fit the output size
    return fit(net, z, data_term(y, op, tv_weight=tv_weight), steps=steps, lr=lr, target=target, **kw)


# --- network inversion baselines: TV-regularised pixels (Mahendran & Vedaldi; notebooks 09, 10) ---

__all__ += ["tv_pixels", "tv_preimage", "tv_activation"]


def tv_pixels(energy, shape, tv_weight: float = 2.0, beta: float = 2.0, steps: int = 200, lr: float = 0.05,
              init: torch.Tensor | None = None, noise: float = 0.05, seed: int = 0, device=None, **fit_kw):
    """Optimise the pixels x themselves (``dip.PixelImage``) for E(x) + λ·TV_β(x), with ``dip.fit``.

    The "TV prior" of Mahendran & Vedaldi (2015): no network, only a smoothness term
    TV_β(x) = mean (|∂x/∂h|² + |∂x/∂w|²)^(β/2) (β=2 by default, as they use for pre-images).
    ``shape`` is 1xCxHxW or (H, W); x starts at ``init`` or at grey 0.5 plus uniform noise of
    amplitude ``noise`` (seeded). Returns the :class:`~dip_lib.fit.FitResult`.
    """
    from .data import default_device
    from .fit import fit
    from .losses import tv
    from .nets import PixelImage

    device = torch.device(device) if device is not None else default_device()
    shape = tuple(shape) if len(shape) == 4 else (1, 3, *shape)
    if init is None:
        g = torch.Generator().manual_seed(seed)
        init = 0.5 + noise * (torch.rand(shape, generator=g) - 0.5)
    net = PixelImage(shape, init=init)

    def total(x):
        return energy(x) + tv_weight * tv(x, beta) if tv_weight else energy(x)

    kw = dict(reg_noise=0.0, ema=None, every=max(1, steps // 20), seed=seed)
    kw.update(fit_kw)
    z = torch.zeros(shape, device=device)  # ignored by PixelImage; gives fit the output size
    return fit(net, z, total, steps=steps, lr=lr, **kw)


def tv_preimage(phi, image: torch.Tensor, layer: str | None = None, tv_weight: float = 2.0, beta: float = 2.0,
                steps: int = 200, lr: float = 0.05, device=None, **kw):
    """TV pre-image: argmin_x ||Φ(x) − Φ(x0)||²/||Φ(x0)||² + λ·TV_β(x) over the pixels x.

    ``phi`` is a feature function (``dip.feature_net``) called as ``phi(x, layer)``.
    ``result.losses`` include the TV term; use ``dip.inversion.feature_error`` for Φ alone.
    """
    from .data import default_device
    from .inversion import preimage_energy

    device = torch.device(device) if device is not None else default_device()
    phi = phi.to(device)
    energy = preimage_energy(phi, image.to(device), layer)
    return tv_pixels(energy, image.shape, tv_weight, beta, steps, lr, device=device, **kw)


def tv_activation(phi, unit: int, shape, layer: str = "fc8", tv_weight: float = 2.0, beta: float = 2.0,
                  steps: int = 200, lr: float = 0.05, device=None, **kw):
    """TV activation maximisation: argmin_x −Φ_c(x)/s + λ·TV_β(x) over the pixels x in [0, 1].

    s = ``dip.inversion.activation_scale`` (the spread of Φ's scores on a noise image), so that
    λ weighs the same for random and for trained weights.
    """
    from .data import default_device
    from .inversion import activation_energy, activation_scale

    device = torch.device(device) if device is not None else default_device()
    phi = phi.to(device)
    scale = activation_scale(phi, tuple(shape)[-2:], layer)
    return tv_pixels(activation_energy(phi, unit, layer, scale), shape, tv_weight, beta, steps, lr, device=device,
                     **kw)
