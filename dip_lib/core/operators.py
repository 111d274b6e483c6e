"""Forward models A and degradations (the "physics"; nothing here knows about networks).

The deep image prior minimises E(A(f_θ(z)), y). One class per operator, each an
:class:`Operator` that states the output shape it produces (``out_shape``) and whether it is
linear:

=================  ==========================================  ===============================
operator           A(x)                                        used by
=================  ==========================================  ===============================
:class:`Identity`  x                                           denoising, flash, enhancement
:class:`JPEG`      x in E; ``observe`` compresses              JPEG artefact removal
:class:`Mask`      m ⊙ x                                       inpainting
:class:`Downsampler`  Lanczos-2, H/f x W/f                     super-resolution
:class:`Blur`      k * x (Gaussian or motion kernel)           deblurring
:class:`Features`  Φ_layer(x) (AlexNet/VGG)                    natural pre-image
:class:`ClassScore`  Φ_c(x) / s, one score                     activation maximisation
=================  ==========================================  ===============================

The degradations that produce y from a clean image (noise, JPEG, masks, kernels) live here too,
seeded through ``torch.Generator``s.
"""
from __future__ import annotations

import io
import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from .rng import generator

__all__ = ["Operator", "lanczos_kernel_1d", "Downsampler", "Mask", "Identity", "JPEG", "Blur", "Features",
           "ClassScore", "gaussian_kernel", "motion_kernel", "gaussian_noise", "jpeg", "bernoulli_mask", "text_mask",
           "box_mask", "check_mask"]


class Operator(nn.Module):
    """A forward model A: ``A(x)`` is differentiable and stays on x's device and dtype.

    ``out_shape(shape)`` is the exact shape of A(x) for an x of ``shape`` (1xCxHxW);
    ``linear`` says whether A(a·x + b·y) = a·A(x) + b·A(y); ``observe(x0)`` simulates the
    measurement (A(x0) by default; JPEG really compresses).
    """
    linear = True

    def out_shape(self, shape) -> tuple:
        return tuple(shape)

    @torch.no_grad()
    def observe(self, x0: torch.Tensor) -> torch.Tensor:
        return self(x0)


def lanczos_kernel_1d(factor: int, support: int = 2) -> torch.Tensor:
    """The 1-D Lanczos-``support`` kernel of the paper's downsampler (4·factor taps, phase 1/2).

    Same taps as the reference implementation's 2-D kernel, which is separable: the 2-D
    kernel is the outer product of this one with itself.
    """
    if factor < 1:
        raise ValueError(f"factor must be a positive integer, not {factor}")
    width = 2 * support * factor
    center = (width + 2) / 2.0
    taps = []
    for i in range(1, width + 1):
        d = abs(i + 0.5 - center) / factor
        v = 1.0
        if d != 0:
            v = support * math.sin(math.pi * d) * math.sin(math.pi * d / support) / (math.pi ** 2 * d * d)
        taps.append(v)
    k = torch.tensor(taps, dtype=torch.float32)
    return k / k.sum()


class Downsampler(Operator):
    """A: the Lanczos-2 downsampler of the SR experiments, a fixed separable convolution.

    For an input of size H x W (multiples of ``factor``) the output is exactly
    H/factor x W/factor (replicate padding as in the reference code).
    """

    def __init__(self, factor: int, channels: int = 3, support: int = 2):
        super().__init__()
        if int(factor) != factor or factor < 1:
            raise ValueError(f"factor must be a positive integer (2, 4, 8, ...), not {factor}")
        self.factor, self.channels = int(factor), channels
        k = lanczos_kernel_1d(self.factor, support)
        self.register_buffer("kernel", k.view(1, 1, 1, -1), persistent=False)
        self.pad = (len(k) - self.factor) // 2

    def out_shape(self, shape) -> tuple:
        *lead, h, w = shape
        if h % self.factor or w % self.factor:
            raise ValueError(f"the image is {h}x{w}, not a multiple of the factor {self.factor}")
        return (*lead, h // self.factor, w // self.factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % self.factor or w % self.factor:
            raise ValueError(f"the image is {h}x{w}, not a multiple of the factor {self.factor}: crop it "
                             f"first with dip.crop_to_multiple(img, {self.factor}).")
        c = x.shape[1]
        k = self.kernel.to(x).expand(c, 1, 1, -1)
        p = self.pad
        x = F.pad(x, (p, p, p, p), mode="replicate")
        x = F.conv2d(x, k, stride=(1, self.factor), groups=c)
        return F.conv2d(x, k.transpose(2, 3), stride=(self.factor, 1), groups=c)


class Mask(Operator):
    """A: keep the pixels where ``mask`` is 1 (inpainting); mask is 1x1xHxW or 1xCxHxW, binary."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        m = torch.as_tensor(mask).float()
        if m.dim() != 4:
            raise ValueError(f"the mask must be 1x1xHxW or 1xCxHxW, got shape {tuple(m.shape)}")
        if not torch.isfinite(m).all() or not ((m == 0) | (m == 1)).all():
            raise ValueError("the mask must hold only 0 (missing) and 1 (known): threshold it, "
                             "e.g. dip.load_mask(path) or (mask > 0.5).float()")
        if m.sum() == 0:
            raise ValueError("the mask has no known pixel (all zeros): nothing to fit; 1 marks a known pixel")
        self.register_buffer("mask", m, persistent=False)

    def forward(self, x):
        check_mask(self.mask, x)
        return x * self.mask.to(x)


class Identity(Operator):
    """A = I (denoising, flash/no-flash, enhancement)."""

    def forward(self, x):
        return x


class JPEG(Operator):
    """JPEG at ``quality`` as an observation model: ``observe(x0)`` compresses and decodes x0.

    In the energy the paper compares f_θ(z) with the JPEG image directly, E = ||x − y||²:
    the quantisation has no useful gradient, so A is the identity there (``forward``), and
    the prior has to keep the blocks out on its own (until it overfits them).
    """

    def __init__(self, quality: int = 10):
        super().__init__()
        if not 1 <= int(quality) <= 100:
            raise ValueError(f"JPEG quality must be between 1 and 100, got {quality}")
        self.quality = int(quality)

    def forward(self, x):
        return x

    @torch.no_grad()
    def observe(self, x0):
        return jpeg(x0, self.quality)


def gaussian_kernel(sigma: float, size: int | None = None) -> torch.Tensor:
    """A normalised 2-D Gaussian blur kernel of std ``sigma`` pixels (size: odd, default 6σ+1)."""
    if not sigma > 0:
        raise ValueError(f"the blur sigma must be positive (pixels), got {sigma}")
    size = size or 2 * math.ceil(3 * sigma) + 1
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-r ** 2 / (2 * sigma ** 2))
    k = g[:, None] * g[None, :]
    return (k / k.sum()).float()


def motion_kernel(length: int, angle: float = 0.0) -> torch.Tensor:
    """A normalised linear motion-blur kernel: a line of ``length`` pixels at ``angle`` degrees."""
    if int(length) != length or length < 1:
        raise ValueError(f"the motion length must be a positive whole number of pixels, got {length}")
    length = int(length)
    size = length if length % 2 else length + 1
    k = torch.zeros(size, size, dtype=torch.float64)
    c = (size - 1) / 2
    t = math.radians(angle)
    for s in torch.linspace(-(length - 1) / 2, (length - 1) / 2, 4 * length):
        x, y = c + float(s) * math.cos(t), c - float(s) * math.sin(t)
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):   # bilinear splat of each sample
            xi, yi = x0 + dx, y0 + dy
            if 0 <= xi < size and 0 <= yi < size:
                k[yi, xi] += (1 - abs(x - xi)) * (1 - abs(y - yi))
    return (k / k.sum()).float()


class Blur(Operator):
    """A: convolution with a blur kernel k (2-D, normalised), the same for every channel.

    The output has the input's size (reflect padding at the borders, so no dark frame), and A
    is linear. Build it from ``gaussian_kernel(σ)`` or ``motion_kernel(length, angle)``.
    """

    def __init__(self, kernel: torch.Tensor):
        super().__init__()
        k = torch.as_tensor(kernel).float()
        if k.dim() != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
            raise ValueError(f"the kernel must be a 2-D tensor with odd sides, got shape {tuple(k.shape)}")
        if not torch.isfinite(k).all() or k.sum() <= 0:
            raise ValueError("the kernel must be finite with a positive sum")
        self.register_buffer("kernel", k / k.sum(), persistent=False)

    def forward(self, x):
        c = x.shape[1]
        kh, kw = self.kernel.shape
        if x.shape[-2] <= kh // 2 or x.shape[-1] <= kw // 2:
            raise ValueError(f"the image {tuple(x.shape[-2:])} is smaller than the blur kernel {kh}x{kw}")
        k = self.kernel.to(x).flip(0, 1).expand(c, 1, kh, kw)
        x = F.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2), mode="reflect")
        return F.conv2d(x, k, groups=c)


class Features(Operator):
    """A = Φ_layer: the activations of one layer of a frozen network (``dip.feature_net``)."""
    linear = False

    def __init__(self, phi: nn.Module, layer: str | None = None):
        super().__init__()
        self.phi, self.layer = phi, layer or phi.layer

    def forward(self, x):
        return self.phi(x, self.layer)

    def out_shape(self, shape) -> tuple:
        p = next(iter(self.phi.parameters()))
        with torch.no_grad():
            return tuple(self(torch.zeros(tuple(shape), device=p.device, dtype=p.dtype)).shape)


class ClassScore(Operator):
    """A = Φ_c(x) / s: the score of unit ``unit`` of ``layer`` (a class of fc8), a 0-d tensor.

    For a conv layer the channel is averaged over space; ``scale`` s puts the score on a
    known scale (see ``dip_lib.experiments.inversion.activation_scale``).
    """
    linear = False

    def __init__(self, phi: nn.Module, unit: int, layer: str = "fc8", scale: float = 1.0):
        super().__init__()
        self.phi, self.unit, self.layer, self.scale = phi, int(unit), layer, float(scale)

    def forward(self, x):
        a = self.phi(x, self.layer)[0, self.unit]
        return (a.mean() if a.dim() else a) / self.scale

    def out_shape(self, shape) -> tuple:
        return ()


def check_mask(mask: torch.Tensor, image: torch.Tensor) -> None:
    """Raise a clear error when ``mask`` cannot be applied to ``image``."""
    if mask.dim() != 4 or image.dim() != 4:
        raise ValueError(f"mask and image must be 4-D (1xCxHxW); got {tuple(mask.shape)} and {tuple(image.shape)}")
    if mask.shape[-2:] != image.shape[-2:] or mask.shape[1] not in (1, image.shape[1]):
        raise ValueError(f"the mask is {tuple(mask.shape)} but the image is {tuple(image.shape)}: the mask must "
                         f"have the image's height and width (load both with the same size/crop).")


def gaussian_noise(x: torch.Tensor, sigma: float, seed: int | None = 0, clip: bool = True) -> torch.Tensor:
    """y = x + n, n ~ N(0, σ²) with σ on the [0, 1] scale (the paper's σ=25 is 25/255).

    Clipped to [0, 1] like the reference code (so it is a saved 8-bit-range image).
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if sigma > 1:
        raise ValueError(f"sigma={sigma} is on the 0-255 scale; pass sigma/255 (e.g. 25/255).")
    n = torch.randn(x.shape, generator=generator(seed)).to(x.device, x.dtype) * sigma
    y = x + n
    return y.clamp(0, 1) if clip else y


def jpeg(x: torch.Tensor, quality: int = 10) -> torch.Tensor:
    """Compress each image of the batch as JPEG at ``quality`` (1-95) and decode it again."""
    from PIL import Image
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be between 1 and 100, got {quality}")
    out = []
    for img in x.detach().cpu().clamp(0, 1):
        arr = (img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        pil = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=int(quality))
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float32) / 255
        dec = dec[..., None] if dec.ndim == 2 else dec
        out.append(torch.from_numpy(dec).permute(2, 0, 1))
    return torch.stack(out).to(x.device, x.dtype)


def bernoulli_mask(shape, keep: float = 0.5, seed: int | None = 0, per_channel: bool = False) -> torch.Tensor:
    """Random mask with each pixel kept with probability ``keep`` (the paper drops 50%).

    ``shape`` is an image tensor or (H, W); the result is 1x1xHxW (1xCxHxW if per_channel).
    """
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    if isinstance(shape, torch.Tensor):
        c, (h, w) = shape.shape[1], shape.shape[-2:]
    else:
        c, (h, w) = 1, shape
    m = (torch.rand((1, c if per_channel else 1, h, w), generator=generator(seed)) < keep).float()
    return m


def text_mask(shape, text: str = "Deep Image Prior " * 3, size: int = 28, lines: int | None = None,
              seed: int = 0) -> torch.Tensor:
    """A mask that hides pixels under lines of text (0 under the letters), 1x1xHxW."""
    from PIL import Image, ImageDraw, ImageFont
    h, w = shape.shape[-2:] if isinstance(shape, torch.Tensor) else shape
    canvas = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        font = ImageFont.load_default()
    rng = np.random.default_rng(seed)
    step = int(size * 1.6)
    n = lines or max(1, h // step)
    for i in range(n):
        y = int(i * h / n + rng.integers(0, max(1, step // 4)))
        x0 = int(rng.integers(-size * 4, 0))
        draw.text((x0, y), text * 4, fill=0, font=font)
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255).round()[None, None]


def box_mask(shape, box: tuple[int, int, int, int] | None = None) -> torch.Tensor:
    """A mask with one rectangular hole (top, left, height, width); centred quarter by default."""
    h, w = shape.shape[-2:] if isinstance(shape, torch.Tensor) else shape
    top, left, bh, bw = box or (h * 3 // 8, w * 3 // 8, h // 4, w // 4)
    if bh <= 0 or bw <= 0 or top < 0 or left < 0 or top + bh > h or left + bw > w:
        raise ValueError(f"box {box} does not fit inside a {h}x{w} image")
    m = torch.ones(1, 1, h, w)
    m[..., top:top + bh, left:left + bw] = 0
    return m
