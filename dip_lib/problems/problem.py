"""A problem value: the forward operator A, the observation y and, when known, the truth x0.

Every application of the paper is one constructor here, built from the operators of
:mod:`dip_lib.core.operators`; :func:`dip_lib.solve` fits f_θ(z) to any of them:

    problem = dip.denoising(clean, sigma=25)          # y = x0 + n, A = I
    result = dip.solve(problem, dip.preset("denoising"))

Inputs are checked once, here: images must be finite 1xCxHxW tensors in [0, 1], masks binary.
The truth is used only to score (PSNR history), never by the fit.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable

import numpy as np
import torch

from ..core.losses import feature_loss, mse, tv
from ..core.metrics import psnr, psnr_sr
from ..core.operators import (JPEG, Blur, ClassScore, Downsampler, Features, Identity, Mask, Operator,
                              gaussian_kernel, gaussian_noise, motion_kernel)

__all__ = ["Problem", "check_image", "denoising", "jpeg_artifacts", "super_resolution", "inpainting", "deblurring",
           "flash_no_flash", "preimage", "activation_maximization", "enhancement", "blur_kernel", "pil_downscale",
           "paper_sr_crop", "psnr_sr_border", "PAPER_SR_BORDER"]


def check_image(x, name: str = "image") -> torch.Tensor:
    """``x`` as a float 1xCxHxW tensor, or a ValueError that says what is wrong and what to do."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"the {name} must be a tensor 1xCxHxW in [0, 1] (use dip.load_image), "
                         f"got {type(x).__name__}")
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"the {name} must be one image 1xCxHxW, got shape {tuple(x.shape)}")
    x = x.detach().float()
    if not torch.isfinite(x).all():
        raise ValueError(f"the {name} has NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        hint = " (it looks like 0-255: divide by 255)" if hi > 1.5 else ""
        raise ValueError(f"the {name} must have values in [0, 1], got [{lo:.3g}, {hi:.3g}]{hint}")
    return x


@dataclass(frozen=True)
class Problem:
    """One inverse problem: minimise loss(A(x), y) over x = f_θ(z).

    name: what it is ('denoising', ...); operator: A; observation: y (None when the loss needs
    none, as in activation maximisation); truth: x0 or None; x_shape: the shape of x;
    loss: 'mse' (||A(x) − y||²), 'feature' (||A(x) − y||²/||y||²) or 'maximize' (−A(x));
    metric: how x is scored against the truth (PSNR; the SR protocol for super-resolution);
    code: a fixed z given by the data itself (the flash image), else None.
    """
    name: str
    operator: Operator
    observation: torch.Tensor | None
    truth: torch.Tensor | None
    x_shape: tuple
    loss: str = "mse"
    metric: Callable = psnr
    code: torch.Tensor | None = None
    info: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.loss not in ("mse", "feature", "maximize"):
            raise ValueError(f"loss must be 'mse', 'feature' or 'maximize', not {self.loss!r}")
        if self.observation is not None and self.loss != "maximize":
            want = self.operator.out_shape(self.x_shape)
            if tuple(self.observation.shape) != tuple(want):
                raise ValueError(f"{self.name}: A maps x {tuple(self.x_shape)} to {tuple(want)}, but the "
                                 f"observation is {tuple(self.observation.shape)}")

    @property
    def channels(self) -> int:
        return self.x_shape[1]

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.x_shape[-2:])

    def energy(self, tv_weight: float = 0.0, tv_beta: float = 1.0) -> Callable[[torch.Tensor], torch.Tensor]:
        """E(x) = loss(A(x), y) (+ λ·TV_β(x)): the scalar ``dip.fit`` minimises. Call ``to`` first."""
        a, y, kind = self.operator, self.observation, self.loss

        def energy(x):
            ax = a(x)
            e = mse(ax, y) if kind == "mse" else feature_loss(ax, y) if kind == "feature" else -ax
            return e + tv_weight * tv(x, tv_beta) if tv_weight else e

        return energy

    def to(self, device) -> "Problem":
        """The same problem with A, y and the code on ``device`` (the truth stays on the CPU)."""
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return replace(self, operator=self.operator.to(device), observation=move(self.observation),
                       code=move(self.code))

    def score(self, x: torch.Tensor) -> float | None:
        """The metric of x against the truth (None without one)."""
        return None if self.truth is None else self.metric(x.detach().float().cpu(), self.truth)

    def fingerprint(self) -> str:
        """A digest of what defines the problem (name, operator, y, truth): a cache key that two
        different problems never share."""
        h = hashlib.sha1(f"{self.name}|{self.loss}|{self.x_shape}|{self.operator!r}".encode())
        for t in (self.observation, self.truth, self.code, *self.operator.buffers()):
            if t is not None:
                h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]


def _noisy(x0, sigma, seed):
    import numbers
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real):
        raise ValueError(f"sigma is the noise std on the 0-255 scale: give a number in (0, 255] (e.g. 25), "
                         f"not {type(sigma).__name__} {sigma!r}")
    if not (0 < sigma <= 255):
        raise ValueError(f"sigma is the noise std on the 0-255 scale and must be in (0, 255], got {sigma}")
    return gaussian_noise(x0, sigma / 255, seed=seed)


def denoising(clean: torch.Tensor | None = None, *, noisy: torch.Tensor | None = None, sigma: float = 25,
              seed: int = 0) -> Problem:
    """Denoising, A = I: y = x0 + n with n ~ N(0, σ²) (σ on the 0-255 scale, clipped to [0, 1]).

    Give ``clean`` to simulate the noise (and score against it), or ``noisy`` for a real noisy
    photograph (blind: no truth), or both (a noisy image and its clean reference).
    """
    if clean is None and noisy is None:
        raise ValueError("give the clean image (noise is added) or the noisy one (noisy=...)")
    x0 = None if clean is None else check_image(clean, "clean image")
    y = check_image(noisy, "noisy image") if noisy is not None else _noisy(x0, sigma, seed)
    info = {"sigma": sigma} if noisy is None else {}
    return Problem("denoising", Identity(), y, x0, tuple(y.shape), info=info)


def jpeg_artifacts(clean: torch.Tensor | None = None, *, jpeg_image: torch.Tensor | None = None,
                   quality: int = 10) -> Problem:
    """JPEG artefact removal: y = JPEG_q(x0) (simulated from ``clean``) or a real ``jpeg_image``;
    in the energy A is the identity (see :class:`~dip_lib.core.operators.JPEG`)."""
    op = JPEG(quality)
    if clean is None and jpeg_image is None:
        raise ValueError("give the clean image (it is compressed) or the JPEG image (jpeg_image=...)")
    x0 = None if clean is None else check_image(clean, "clean image")
    y = check_image(jpeg_image, "JPEG image") if jpeg_image is not None else op.observe(x0)
    return Problem("jpeg", op, y, x0, tuple(y.shape), info={"quality": quality})


# the authors' SR evaluation script crops 4 px at the top/left and 5 px at the bottom/right of the
# centre crop, for x4 and x8 alike (``gt[:, t[0] + 4:t[-1] - 4]`` with t[-1] the last row: 4 + 1)
PAPER_SR_BORDER = (4, 5)


def _uint8(x: torch.Tensor) -> np.ndarray:
    """A 1xCxHxW image in [0, 1] as the HxW(xC) 8-bit array it was stored as (rounded)."""
    a = np.round(x.detach().float().cpu().clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    return a[..., 0] if a.shape[2] == 1 else a


def pil_downscale(hr: torch.Tensor, factor: int) -> torch.Tensor:
    """The low-resolution image the way the paper's authors made it: the 8-bit HR image resized to
    (H // factor, W // factor) by PIL's Lanczos filter (``Image.ANTIALIAS`` in their code, an alias of
    ``Image.LANCZOS``) in 8-bit 'L'/'RGB' mode, so y is 8-bit too. Unlike ``Downsampler(factor)(hr)``
    this is not the operator the fit uses (no "inverse crime")."""
    from PIL import Image
    hr = check_image(hr, "high-resolution image")
    if int(factor) != factor or factor < 1:
        raise ValueError(f"factor must be a positive integer (2, 4, 8, ...), not {factor}")
    h, w = hr.shape[-2:]
    if h < factor or w < factor:
        raise ValueError(f"the image is {h}x{w}, smaller than the factor {factor}")
    if hr.shape[1] not in (1, 3):
        raise ValueError(f"the image must have 1 or 3 channels, got {hr.shape[1]}")
    small = Image.fromarray(_uint8(hr)).resize((w // int(factor), h // int(factor)), Image.LANCZOS)
    t = torch.from_numpy(np.asarray(small, dtype=np.float32) / 255)
    t = t[..., None] if t.dim() == 2 else t
    return t.permute(2, 0, 1)[None].contiguous()


def paper_sr_crop(img: torch.Tensor, factor: int, multiple: int = 32) -> torch.Tensor:
    """The HR image of the paper's SR tables: the benchmark image cut to a multiple of ``factor`` at
    the bottom/right (the LapSRN ``*_GT.png`` files the authors used: MATLAB ``modcrop``), then
    centre-cropped to a multiple of ``multiple`` with the offsets rounded as PIL rounds the
    authors' float box (``round((W - w) / 2)``, halves to even), not floored."""
    img = check_image(img, "image")
    h, w = img.shape[-2:]
    h, w = h - h % int(factor), w - w % int(factor)
    nh, nw = h - h % multiple, w - w % multiple
    if nh == 0 or nw == 0:
        raise ValueError(f"the image is {h}x{w}, smaller than {multiple}: use a larger image")
    top, left = round((h - nh) / 2), round((w - nw) / 2)
    return img[..., top:top + nh, left:left + nw]


def psnr_sr_border(x, ref, near: int = 4, far: int = 5) -> float:
    """``dip.psnr_sr`` (Y channel, 8-bit) with ``near`` px cropped at the top/left and ``far`` px at
    the bottom/right: the authors' evaluation script uses (4, 5) for both factors."""
    if not 0 <= near <= far:
        raise ValueError(f"the border must satisfy 0 <= near <= far, got near={near}, far={far}")
    extra = far - near
    if extra:
        x, ref = x[..., :x.shape[-2] - extra, :x.shape[-1] - extra], ref[..., :ref.shape[-2] - extra, :ref.shape[-1] - extra]
    return psnr_sr(x, ref, factor=near)


def super_resolution(clean: torch.Tensor | None = None, factor: int = 4, *, low: torch.Tensor | None = None,
                     downscale: str = "operator", border: int | tuple[int, int] | None = None) -> Problem:
    """×factor super-resolution, A = d, the Lanczos-2 downsampler: E = ||d(x) − y||².

    y is the low-resolution image ``low`` if given, else made from ``clean``: ``downscale=
    'operator'`` gives y = d(x0), the very operator the fit uses (simple, but an "inverse crime");
    ``'pil'`` resizes the 8-bit image with PIL's Lanczos filter, as the paper's authors did
    (:func:`pil_downscale`). PSNR follows the SR protocol (Y channel, 8-bit): ``border`` None
    crops ``factor`` px on every side, an int that many, ``(near, far)`` near px at the top/left and
    far px at the bottom/right (the authors' script: ``PAPER_SR_BORDER`` = (4, 5)).
    """
    op = Downsampler(factor)
    if clean is None and low is None:
        raise ValueError("give the high-resolution image (it is downsampled) or the low-resolution one (low=...)")
    if downscale not in ("operator", "pil"):
        raise ValueError(f"downscale must be 'operator' (y = d(x0)) or 'pil' (the authors' 8-bit PIL Lanczos "
                         f"resize), not {downscale!r}")
    x0 = None if clean is None else check_image(clean, "high-resolution image")
    if low is not None:
        y = check_image(low, "low-resolution image")
    else:
        if x0.shape[-2] % op.factor or x0.shape[-1] % op.factor:
            raise ValueError(f"the high-resolution image is {tuple(x0.shape[-2:])}, not a multiple of the factor "
                             f"{op.factor}: crop it with dip.crop_to_multiple(img, {op.factor})")
        y = op.observe(x0) if downscale == "operator" else pil_downscale(x0, op.factor)
    shape = (1, y.shape[1], y.shape[-2] * op.factor, y.shape[-1] * op.factor)
    if x0 is not None and tuple(x0.shape) != shape:
        raise ValueError(f"the high-resolution image is {tuple(x0.shape[-2:])}, not {factor}x the low-resolution "
                         f"{tuple(y.shape[-2:])}: crop it with dip.crop_to_multiple(img, {factor})")
    if border is None:
        metric = partial(psnr_sr, factor=op.factor)
    elif isinstance(border, int) and not isinstance(border, bool) and border >= 0:
        metric = partial(psnr_sr, factor=border)
    elif isinstance(border, tuple) and len(border) == 2 and all(isinstance(b, int) and b >= 0 for b in border) \
            and border[0] <= border[1]:
        metric = partial(psnr_sr_border, near=border[0], far=border[1])
    else:
        raise ValueError(f"border must be None (factor px), a whole number of pixels or (near, far) with "
                         f"near <= far, e.g. dip.PAPER_SR_BORDER = (4, 5); got {border!r}")
    info = {"factor": op.factor, "downscale": "given" if low is not None else downscale,
            "border": op.factor if border is None else border}
    return Problem(f"sr x{op.factor}", op, y, x0, shape, metric=metric, info=info)


def inpainting(image: torch.Tensor, mask: torch.Tensor, *, truth: torch.Tensor | None = None) -> Problem:
    """Inpainting, A = m ⊙ ·: y = m ⊙ image (1 = known pixel, 0 = to fill).

    ``image`` may be the clean image (it is then also the truth unless ``truth`` is given) or
    an image whose holes hold anything; only the known pixels enter y.
    """
    x = check_image(image, "image")
    op = Mask(mask)
    y = op(x)
    x0 = check_image(truth, "truth") if truth is not None else x
    return Problem("inpainting", op, y, x0, tuple(x.shape), info={"known": float(op.mask.mean())})


def blur_kernel(spec: str) -> torch.Tensor:
    """A kernel from a short description: 'gaussian:SIGMA' or 'motion:LENGTH,ANGLE'."""
    kind, _, args = str(spec).partition(":")
    try:
        if kind == "gaussian":
            return gaussian_kernel(float(args))
        if kind == "motion":
            length, _, angle = args.partition(",")
            return motion_kernel(int(length), float(angle or 0))
    except ValueError as e:
        raise ValueError(f"bad kernel {spec!r}: {e}") from None
    raise ValueError(f"bad kernel {spec!r}: use gaussian:SIGMA (e.g. gaussian:2) or motion:LENGTH,ANGLE "
                     f"(e.g. motion:9,30)")


def deblurring(clean: torch.Tensor | None = None, kernel: torch.Tensor | str = "gaussian:2", *, sigma: float = 2.0,
               seed: int = 0, blurred: torch.Tensor | None = None) -> Problem:
    """Deblurring, A = k * ·: y = k * x0 + n (σ on the 0-255 scale; 0 for no noise).

    ``kernel`` is a 2-D tensor or 'gaussian:SIGMA' / 'motion:LENGTH,ANGLE'.
    """
    k = blur_kernel(kernel) if isinstance(kernel, str) else kernel
    op = Blur(k)
    if clean is None and blurred is None:
        raise ValueError("give the sharp image (it is blurred) or the blurred one (blurred=...)")
    x0 = None if clean is None else check_image(clean, "sharp image")
    if blurred is not None:
        y = check_image(blurred, "blurred image")
    else:
        y = op.observe(x0)
        y = _noisy(y, sigma, seed) if sigma else y
    return Problem("deblurring", op, y, x0, tuple(y.shape), info={"sigma": sigma, "kernel": str(kernel)
                                                                   if isinstance(kernel, str) else "custom"})


def flash_no_flash(flash: torch.Tensor, noflash: torch.Tensor) -> Problem:
    """Flash/no-flash: A = I, y = the noisy no-flash image, and the code z is the flash image."""
    f, n = check_image(flash, "flash image"), check_image(noflash, "no-flash image")
    if f.shape != n.shape:
        raise ValueError(f"flash {tuple(f.shape)} and no-flash {tuple(n.shape)} must have the same shape")
    return Problem("flash", Identity(), n, None, tuple(n.shape), code=f.clone())


def preimage(phi, image: torch.Tensor, layer: str | None = None) -> Problem:
    """Natural pre-image: A = Φ_layer, y = Φ(x0), E = ||Φ(x) − Φ(x0)||² / ||Φ(x0)||²."""
    x0 = check_image(image, "image")
    op = Features(phi, layer)
    dev = next(iter(phi.parameters())).device
    with torch.no_grad():
        y = op(x0.to(dev)).detach().cpu()
    return Problem(f"pre-image {op.layer}", op, y, x0, tuple(x0.shape), loss="feature", info={"layer": op.layer})


def activation_maximization(phi, unit: int, shape, layer: str = "fc8", scale: float = 1.0) -> Problem:
    """Activation maximisation: A = Φ_c / s, E = −A(x): an image of ``shape`` (1xCxHxW or (H, W))
    that makes unit ``unit`` (a class of fc8) large."""
    shape = tuple(shape) if len(tuple(shape)) == 4 else (1, 3, *tuple(shape))
    return Problem(f"activation {layer}[{unit}]", ClassScore(phi, unit, layer, scale), None, None, shape,
                   loss="maximize", info={"unit": int(unit), "layer": layer})


def enhancement(image: torch.Tensor) -> Problem:
    """Detail enhancement: fit the clean image itself (A = I, y = x0); stopping early gives the
    coarse layer x_c, and x0 − x_c the details."""
    x0 = check_image(image, "image")
    return Problem("enhancement", Identity(), x0, x0, tuple(x0.shape))
