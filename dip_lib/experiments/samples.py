"""Samples from the prior (paper Fig. 4): x = f_θ(z) for a random θ, before any fitting.

What the architecture alone "believes" an image looks like: a one-scale hourglass gives
pixel noise, deeper ones give ever larger blobs, skip connections mix all scales, nearest
upsampling leaves blocky, grid-aligned textures.

BatchNorm choice: the network is used in its initial state, i.e. in ``train`` mode, as
``dip.fit`` (and the paper's code) runs it: every BatchNorm normalises its channels with
the statistics of the current input. In ``eval`` mode the untouched running statistics
(mean 0, variance 1) make BatchNorm the identity, the activations shrink layer after layer
and the output is a flat grey sigmoid(bias) ≈ 0.5: nothing to see. Train mode is what
gives the structured textures of the paper's figure. For display we stretch the sample's
contrast to [0, 1] (one affine map for all channels, so hues are kept); ``stretch=False``
returns the raw sigmoid output.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from ..core.codes import noise
from ..core.nets import SkipConfig, make

__all__ = ["prior_sample", "sample_config", "stretch_contrast", "roughness"]


def sample_config(depth: int = 5, skips: bool = True, upsample: str = "bilinear", width: int = 128,
                  skip_width: int = 4, input_depth: int = 32) -> SkipConfig:
    """The hourglass of Fig. 4 from the widget's knobs: ``depth`` scales of ``width`` filters,
    skip connections of ``skip_width`` channels at every scale (or none), ``upsample`` mode."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    return SkipConfig(in_channels=input_depth, n_down=[width] * depth, n_up=[width] * depth,
                      n_skip=[min(skip_width, width) if skips else 0] * depth, upsample=upsample)


def stretch_contrast(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Map the range of ``x`` affinely onto [0, 1] (one map for all channels)."""
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo).clamp_min(eps)


@torch.no_grad()
def prior_sample(arch: str | SkipConfig = "skip-5", size: int | tuple[int, int] = 256, seed: int = 0,
                 input_depth: int = 32, width: int | None = None, z_seed: int | None = None,
                 stretch: bool = True, batch_stats: bool = True, device=None) -> torch.Tensor:
    """One sample x = f_θ(z) from the prior: θ random (seeded by ``seed``), z ~ U(0, 1/10).

    Args:
        arch: a name in ``dip.ARCHITECTURES`` (hourglass-1/3/5, skip-5, skip-5-nearest, ...)
            or a :class:`SkipConfig` (e.g. from :func:`sample_config`).
        size: output side (or (H, W)); must be a multiple of the network's stride 2**depth.
        seed: initialises θ; z_seed: the code z (default: ``seed``).
        input_depth: channels of z; width: scale a named architecture's filters (None = paper's 128).
        stretch: stretch the contrast to [0, 1] for display (see the module docstring).
        batch_stats: run BatchNorm in train mode, with the statistics of the input (the network's
            initial state, as in the paper); False = eval mode with the untouched running
            statistics (a near-constant grey output, shown in notebook 02 for comparison).
    Returns a 1x3xHxW tensor on the CPU.
    """
    h, w = (size, size) if isinstance(size, int) else size
    if isinstance(arch, SkipConfig):
        net, spec = make(replace(arch, in_channels=input_depth), seed=seed)
    else:
        net, spec = make(arch, in_channels=input_depth, width=width, seed=seed)
    spec.check(h, w)
    z = noise(input_depth, h, w, seed=seed if z_seed is None else z_seed)
    if device is not None:
        net, z = net.to(device), z.to(device)
    net.train(batch_stats)           # initial state: train mode, BatchNorm uses the batch statistics
    x = net(z).float().cpu()
    return stretch_contrast(x) if stretch else x


def roughness(x: torch.Tensor) -> float:
    """Mean absolute difference of horizontally and vertically neighbouring pixels of a
    contrast-stretched image: high for pixel noise, low for smooth large-scale structure."""
    x = stretch_contrast(x.detach().float())
    return float(((x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., 1:] - x[..., :-1]).abs().mean()) / 2)
