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
# # Exercise 1 · Noise impedance (notebook 01)
# **Goal:** measure the paper's key observation (Fig. 2): a ConvNet fits a natural image much
# faster than the *same pixels shuffled at random*. Shuffling keeps the colour histogram (so the
# loss starts at the same level) but destroys all spatial structure.
#
# **Time:** 20 min in class. Runs in seconds (`test`), ~2 min (`cpu`).
#
# **Your task:**
# 1. Build `shuffled`, the image `clean` with its pixel positions permuted at random (the same
#    permutation for the three colour channels).
# 2. Fit the same network, from the same start, to `clean` and to `shuffled`: for each target make
#    the problem `dip.denoising(noisy=target)` (E = ||f_θ(z) − target||²) and call
#    `dip.solve(problem, p, device=device)`. The preset's seed `p.seed` fixes θ at the start and z, so both
#    fits start from the same f_θ(z); the `impedance` settings already switch σ_p and the EMA off.
#    Keep both `FitResult`s as `fit_clean`, `fit_shuffled`.
# 3. Plot both loss curves and explain the difference.

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

p = dip.preset("impedance")
device = dip.default_device()
print(p.describe(), "| device:", device)
clean = dip.load_image("F16", size=p.size, multiple=32)
print(f"σ_p = {p.sigma_p}, EMA = {p.ema}, {p.steps} steps of Adam (lr {p.lr})")

# %% tags=["solution"]
g = torch.Generator().manual_seed(p.seed)
h, w = clean.shape[-2:]
perm = torch.randperm(h * w, generator=g)
shuffled = clean.flatten(2)[..., perm].view_as(clean)

fits = {}
for name, target in {"image": clean, "shuffled pixels": shuffled}.items():
    problem = dip.denoising(noisy=target)           # A = I, y = target: E = ||f_θ(z) − target||²
    fits[name] = dip.solve(problem, p, device=device, progress=name)
# the same in one call: dip_lib.experiments.impedance.run_impedance(clean, p, targets=...)
fit_clean, fit_shuffled = fits["image"], fits["shuffled pixels"]
dip.show({"image": clean, "shuffled pixels": shuffled});
ax = dip.plot_history({k: r.history for k, r in fits.items()}, key="loss")

# %% [markdown]
# **Explain:** why does the loss of the shuffled image decrease so much more slowly, although both
# targets contain exactly the same pixel values?

# %% [markdown] tags=["solution"]
# *Solution.* The network is built from local convolutions with shared weights, upsampling and
# a few scales: its output is, before it is trained very long, a smooth, self-similar image.
# Natural images are largely made of such structure (smooth regions, repeated edges and textures),
# so gradient descent finds parameters that reproduce them quickly. The shuffled image has the same
# histogram but no spatial correlation at all; the network can reproduce it only by "memorising"
# every pixel, which it resists: this is the *noise impedance* (paper, Fig. 2). Noise is fitted the
# same way, slowly, which is why stopping early restores images.

# %% [markdown]
# **Check** (run it): the natural image is fitted clearly faster than its shuffled pixels.

# %%
ratio = fit_shuffled.history["loss"][-1] / fit_clean.history["loss"][-1]
print(f"final loss: image {fit_clean.history['loss'][-1]:.5f}, shuffled {fit_shuffled.history['loss'][-1]:.5f} "
      f"({ratio:.1f}x)")
assert sorted(shuffled.flatten().tolist()) == sorted(clean.flatten().tolist()), "shuffle the pixels, keep the values"
dip.check("the shuffled pixels are fitted much more slowly (ratio of final losses)", ratio, ">", 2.0)
