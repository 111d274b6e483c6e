"""Classical baselines shown beside the deep image prior.

Each takes and returns 1xCxHxW tensors in [0, 1]. Several notebooks and ``reproduce`` use
them, so they live here once.
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.metrics import to_numpy
from ..core.rng import generator
from .run import solve

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


def pixels_sr(problem, settings, tv_weight: float = 0.0, init: str = "bicubic", **changes):
    """SR by fitting the pixels themselves (θ = x, ``arch='pixels'``): E = ||d(x) − y||² + λ·TV(x).

    ``tv_weight=0`` is the paper's "no prior" result (only the data term: nothing controls the
    frequencies the Lanczos downsampler d removes), ``tv_weight>0`` its "TV prior". ``init`` is
    'bicubic' (start from the bicubic upsampling of y) or 'gray' (a constant 0.5 image).
    ``problem`` is a ``dip.super_resolution`` problem; returns the ``FitResult``.
    """
    if init not in ("bicubic", "gray"):
        raise ValueError(f"init must be 'bicubic' or 'gray', not {init!r}")
    start = bicubic(problem.observation, problem.operator.factor) if init == "bicubic" else None
    kw = dict(sigma_p=0.0, ema=None, every=max(1, settings.steps // 20))
    kw.update(changes)
    return solve(problem, settings, arch="pixels", init=start, tv_weight=tv_weight, **kw)


# --- network inversion baselines: TV-regularised pixels (Mahendran & Vedaldi; notebooks 09, 10) ---

__all__ += ["tv_pixels"]


def tv_pixels(problem, settings, tv_weight: float = 2.0, beta: float = 2.0, noise: float = 0.05, seed: int | None = None,
              init: torch.Tensor | None = None, **changes):
    """Optimise the pixels x themselves (``arch='pixels'``) for E(x) + λ·TV_β(x).

    The "TV prior" of Mahendran & Vedaldi (2015): no network, only a smoothness term
    TV_β(x) = mean (|∂x/∂h|² + |∂x/∂w|²)^(β/2) (β=2 by default, as they use for pre-images).
    x starts at ``init`` when given (e.g. the blurred observation for deblurring), else at grey
    0.5 plus uniform noise of amplitude ``noise`` (seeded by ``seed``, default ``settings.seed``).
    ``changes`` set steps, lr, ... for this call. Returns the ``FitResult``.
    """
    seed = settings.seed if seed is None else seed
    if init is None:
        init = 0.5 + noise * (torch.rand(problem.x_shape, generator=generator(seed)) - 0.5)
    elif tuple(init.shape) != tuple(problem.x_shape):
        raise ValueError(f"init has shape {tuple(init.shape)}, the problem's x has {tuple(problem.x_shape)}")
    kw = dict(sigma_p=0.0, ema=None)
    kw.update(changes)
    kw.setdefault("every", max(1, kw.get("steps", settings.steps) // 20))
    return solve(problem, settings, arch="pixels", init=init, tv_weight=tv_weight, tv_beta=beta, seed=seed, **kw)


# --- deblurring baselines (notebook 12) ---------------------------------------------------------

__all__ += ["richardson_lucy", "wiener"]


def _deconvolve_channels(problem, deconvolve) -> torch.Tensor:
    """Apply ``deconvolve(channel, psf)`` to each channel of a deblurring problem's observation.

    The image is reflect-padded by the kernel size first (the ``dip.Blur`` operator pads with
    reflection, scikit-image's deconvolutions assume zeros or a periodic image) and cropped after.
    """
    if problem.name != "deblurring" or not hasattr(problem.operator, "kernel"):
        raise ValueError(f"expected a dip.deblurring problem, got a {problem.name!r} problem")
    y = problem.observation
    psf = problem.operator.kernel.detach().cpu().double().numpy()
    kh, kw = psf.shape
    a = to_numpy(y).astype(np.float64)
    out = []
    for c in range(a.shape[2]):
        padded = np.pad(a[..., c], ((kh, kh), (kw, kw)), mode="reflect")
        out.append(deconvolve(padded, psf)[kh:kh + a.shape[0], kw:kw + a.shape[1]])
    return _to_tensor(np.stack(out, -1), y)


def richardson_lucy(problem, iterations: int = 30) -> torch.Tensor:
    """Richardson-Lucy deconvolution (scikit-image), per channel, with the problem's kernel.

    The classical iterative maximum-likelihood deblurring for Poisson noise: x ← x · kᵀ*(y / k*x).
    More iterations sharpen more but amplify the noise (it has no prior; stopping early is its
    regulariser). ``problem`` is a ``dip.deblurring`` problem; returns 1xCxHxW in [0, 1].
    """
    if isinstance(iterations, bool) or int(iterations) != iterations or iterations < 1:
        raise ValueError(f"iterations must be a positive whole number, got {iterations!r}")
    from skimage.restoration import richardson_lucy as rl
    return _deconvolve_channels(problem, lambda ch, psf: rl(ch, psf, num_iter=int(iterations), clip=True))


def wiener(problem, balance: float = 0.01) -> torch.Tensor:
    """Wiener (Tikhonov-Laplacian) deconvolution (scikit-image), per channel, with the problem's kernel.

    x̂ = argmin ||k*x − y||² + balance·||Δx||², solved in the Fourier domain: larger ``balance``
    gives smoother, less noisy results. ``problem`` is a ``dip.deblurring`` problem; returns
    1xCxHxW in [0, 1].
    """
    if not balance > 0:
        raise ValueError(f"balance must be positive, got {balance!r}")
    from skimage.restoration import wiener as wn
    return _deconvolve_channels(problem, lambda ch, psf: wn(ch, psf, balance=float(balance), clip=True))
