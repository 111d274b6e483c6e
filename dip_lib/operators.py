"""Forward models A and degradations (the "physics"; nothing here knows about networks).

The deep image prior minimises E(A(f_θ(z)), y): A is the identity for denoising and JPEG,
a mask for inpainting, a Lanczos-2 downsampler for super-resolution. The degradations that
produce y from a clean image (noise, JPEG, masks) live here too, seeded for reproducibility.
"""
from __future__ import annotations

import io
import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

__all__ = ["lanczos_kernel_1d", "Downsampler", "Mask", "Identity", "gaussian_noise", "jpeg",
           "bernoulli_mask", "text_mask", "box_mask", "check_mask"]


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


class Downsampler(nn.Module):
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % self.factor or w % self.factor:
            raise ValueError(f"the image is {h}x{w}, not a multiple of the factor {self.factor}: crop it "
                             f"first with dip.crop_to_multiple(img, {self.factor}).")
        c = x.shape[1]
        k = self.kernel.to(dtype=x.dtype).expand(c, 1, 1, -1)
        p = self.pad
        x = F.pad(x, (p, p, p, p), mode="replicate")
        x = F.conv2d(x, k, stride=(1, self.factor), groups=c)
        return F.conv2d(x, k.transpose(2, 3), stride=(self.factor, 1), groups=c)


class Mask(nn.Module):
    """A: keep the pixels where ``mask`` is 1 (inpainting); mask is 1x1xHxW or 1xCxHxW."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask.float(), persistent=False)

    def forward(self, x):
        check_mask(self.mask, x)
        return x * self.mask


class Identity(nn.Module):
    """A = I (denoising, JPEG artefact removal)."""

    def forward(self, x):
        return x


def check_mask(mask: torch.Tensor, image: torch.Tensor) -> None:
    """Raise a clear error when ``mask`` cannot be applied to ``image``."""
    if mask.dim() != 4 or image.dim() != 4:
        raise ValueError(f"mask and image must be 4-D (1xCxHxW); got {tuple(mask.shape)} and {tuple(image.shape)}")
    if mask.shape[-2:] != image.shape[-2:] or mask.shape[1] not in (1, image.shape[1]):
        raise ValueError(f"the mask is {tuple(mask.shape)} but the image is {tuple(image.shape)}: the mask must "
                         f"have the image's height and width (load both with the same size/crop).")


def _generator(seed):
    g = torch.Generator()
    if seed is not None:
        g.manual_seed(int(seed))
    else:
        g.seed()
    return g


def gaussian_noise(x: torch.Tensor, sigma: float, seed: int | None = 0, clip: bool = True) -> torch.Tensor:
    """y = x + n, n ~ N(0, σ²) with σ on the [0, 1] scale (the paper's σ=25 is 25/255).

    Clipped to [0, 1] like the reference code (so it is a saved 8-bit-range image).
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if sigma > 1:
        raise ValueError(f"sigma={sigma} is on the 0-255 scale; pass sigma/255 (e.g. 25/255).")
    n = torch.randn(x.shape, generator=_generator(seed)).to(x.device, x.dtype) * sigma
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
    m = (torch.rand((1, c if per_channel else 1, h, w), generator=_generator(seed)) < keep).float()
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
