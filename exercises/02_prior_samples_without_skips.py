# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 2 · Prior samples without skip connections (notebook 02)
# **Goal:** the untrained network f_θ(z), with random θ and z, is a *sample from the prior*
# (paper, Fig. 4). See what the skip connections contribute to these samples.
#
# **Time:** 15 min in class. Runs in seconds in every preset (no fitting).
#
# **Your task:**
# 1. With `dip.Ablation(depth=5, width=..., skip=...)` describe three networks that differ only in
#    their skip connections: `"none"`, `"1x1"` and `"full"` (U-Net-like); build each with
#    `dip.build(cfg.skip_config(p.input_depth), seed=p.seed)`, draw the code `z = dip.noise(...)` and one
#    sample `x = f_θ(z)` from each (use `torch.no_grad()`, the same seed for all three).
# 2. Measure how rough each sample is with `roughness(x)` below and store the three numbers in
#    a dict `rough = {"none": ..., "1x1": ..., "full": ...}`. Show the samples.
# 3. Remove the skip connections and explain the change in the prior samples.

# %%
# Setup: on Colab, install the kit (a pinned release) and only what Colab lacks, without upgrading
# Colab's torch or ipywidgets; everywhere, pick the preset and the device.
import sys
if "google.colab" in sys.modules:
    import importlib.util
    import subprocess
    KIT = "dip_lib @ git+https://github.com/dip-kit/deep-image-prior-kit@v0.1.0"
    NEEDS = [("dip_lib", KIT), ("numpy", "numpy>=1.24"), ("scipy", "scipy>=1.10"),
             ("skimage", "scikit-image>=0.22"), ("pywt", "PyWavelets>=1.4"), ("PIL", "pillow>=10.1"),
             ("matplotlib", "matplotlib>=3.7"), ("tqdm", "tqdm>=4.66"), ("pooch", "pooch>=1.8"),
             ("ipywidgets", "ipywidgets>=8.1"), ("IPython", "ipython>=8")]
    missing = [req for module, req in NEEDS if importlib.util.find_spec(module) is None]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *missing], check=True)
import dip_lib as dip
import torch

p = dip.preset("samples")
print(p.describe())
size = max(64, p.size)   # depth 5 needs at least 64 px (2x2 pixels at the bottleneck)


def roughness(x: torch.Tensor) -> float:
    """Mean absolute difference between neighbouring pixels (0 for a constant image)."""
    return float((x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


# %% tags=["solution"]
samples, rough = {}, {}
for mode in ("none", "1x1", "full"):
    cfg = dip.Ablation(depth=5, width=p.width or 128, skip=mode)
    net = dip.build(cfg.skip_config(p.input_depth), seed=p.seed)  # θ: the same seed for all three
    z = dip.noise(p.input_depth, size, size, seed=p.seed)         # z ~ U(0, 1/10), the same for all three
    with torch.no_grad():
        samples[mode] = net(z)
    rough[mode] = roughness(samples[mode])
dip.show({f"skip={m}, roughness {rough[m]:.3f}": x for m, x in samples.items()});

# %% [markdown]
# **Explain:** what changes in the samples when you remove the skip connections, and why?

# %% [markdown] tags=["solution"]
# *Solution.* Without skips, every pixel of the output has gone through the bottleneck: the
# image is produced at the coarsest scale and only *upsampled* (bilinear) and convolved on the
# way up, so samples are smooth, blob-like, large-scale structures. Skip connections add, at each
# scale, features computed from the input code z at that resolution; z is white noise, so the
# 1x1 skips inject fine-scale texture, and the U-Net-like skips (as wide as the encoder, 3x3)
# let the fine-scale noise of z reach the output almost unfiltered. The prior without skips
# therefore prefers smooth images (good for large holes, which the paper inpaints with no skips),
# while skips allow the detail needed for denoising and super-resolution, at the price of fitting
# noise sooner.

# %% [markdown]
# **Check** (run it): the samples get rougher as the skip connections get wider.

# %%
import math

print({k: round(v, 4) for k, v in rough.items()})
dip.check("1x1 skips are rougher than none (roughness ratio 1x1 / none)", rough["1x1"] / rough["none"], ">", 1.5)
dip.check("full skips are rougher than 1x1 (log2 roughness ratio full / 1x1)", math.log2(rough["full"] / rough["1x1"]),
          ">", 0.0)
