"""The fixed code z fed to f_θ: uniform noise U(0, 1/10), a meshgrid, or an image."""
from __future__ import annotations

import torch

__all__ = ["noise", "meshgrid", "from_image", "make_input"]


def noise(channels: int, height: int, width: int, scale: float = 0.1, seed: int | None = 0,
          device=None) -> torch.Tensor:
    """z ~ U(0, scale) of shape 1 x channels x H x W (the paper uses scale = 1/10)."""
    if channels < 1 or height < 1 or width < 1:
        raise ValueError(f"z needs positive sizes, got channels={channels}, {height}x{width}")
    g = torch.Generator()
    g.manual_seed(seed) if seed is not None else g.seed()
    z = torch.rand((1, channels, height, width), generator=g) * scale
    return z.to(device) if device is not None else z


def meshgrid(height: int, width: int, device=None) -> torch.Tensor:
    """z = two channels holding the x and y coordinates in [0, 1] (used for large holes)."""
    ys = torch.linspace(0, 1, height)
    xs = torch.linspace(0, 1, width)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    z = torch.stack([gx, gy])[None]
    return z.to(device) if device is not None else z


def from_image(image: torch.Tensor) -> torch.Tensor:
    """z = an image (e.g. the flash photograph in flash/no-flash restoration)."""
    if image.dim() != 4:
        raise ValueError(f"expected a 1xCxHxW image tensor, got shape {tuple(image.shape)}")
    return image.detach().clone()


def make_input(kind: str, like: torch.Tensor | tuple, channels: int = 32, scale: float = 0.1,
               seed: int | None = 0) -> torch.Tensor:
    """One call for any code: ``kind`` is 'noise', 'meshgrid' or 'image' (then ``like`` is the image).

    ``like`` is an image tensor (its H, W and device are used) or an (H, W) tuple.
    """
    if isinstance(like, torch.Tensor):
        (h, w), device = like.shape[-2:], like.device
    else:
        (h, w), device = like, None
    if kind == "noise":
        return noise(channels, h, w, scale, seed, device)
    if kind == "meshgrid":
        return meshgrid(h, w, device)
    if kind == "image":
        if not isinstance(like, torch.Tensor):
            raise ValueError("kind='image' needs the image tensor itself as `like`")
        return from_image(like)
    raise ValueError(f"unknown input kind {kind!r}: use 'noise', 'meshgrid' or 'image'")
