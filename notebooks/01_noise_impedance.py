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
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Noise impedance: why the architecture is a prior
# **You will learn:**
# - the experiment of the paper's Fig. 2: the **same** network, from the same $\theta$ and $z$,
#   fitted to a natural image, the image plus noise, the image with its pixels shuffled, and white noise;
# - that the network reaches a low loss on the natural image far sooner than on the others:
#   it has high **impedance** to noise and low impedance to signal;
# - how to measure it: the number of steps until the loss falls below a threshold;
# - why this makes early stopping work for restoration.
#
# | preset | where | run time |
# |---|---|---|
# | `test` | CI | ~28 s |
# | `cpu` | Binder / laptop | ~1.5 min ≈ 87 ref. steps |
# | `paper` | GPU (Colab) | ~10 min |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/v0.1.0/notebooks/01_noise_impedance.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/v0.1.0?labpath=notebooks%2F01_noise_impedance.ipynb)

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
from dip_lib.experiments import impedance

p = dip.preset("impedance")
device = dip.default_device()
print(p.describe(), "| device:", device)

# %% [markdown]
# ## 1. Four targets
# A network with millions of parameters can fit anything, even pure noise: a ConvNet is not
# a hard constraint. What matters is **how fast** it fits each kind of image. We fit
# $\min_\theta \|f_\theta(z) - x_0\|^2$ to four targets $x_0$ of the same size:
#
# 1. a natural image (F16),
# 2. the same image plus Gaussian noise ($\sigma = 25$),
# 3. the same image with its pixels randomly permuted: exactly the same colours (the same
#    histogram), no spatial structure,
# 4. white noise, $U(0, 1)$ independently for every pixel and channel.

# %%
img = dip.load_image("F16", size=p.size, multiple=32)
targets = impedance.impedance_targets(img, seed=p.seed)
dip.show(targets, size=2.6);

# %% [markdown]
# ## 2. The same network, the same start, four fits
# `impedance.run_impedance` fits the paper's hourglass (scaled to `p.width`), with the **same**
# random $\theta$ and the same code $z$ for every target (the same seed), by calling
# `dip.solve(dip.denoising(noisy=target), p, ...)` once per target, with plain Adam:
# no perturbation of $z$ ($\sigma_p = 0$) and no averaging, so we see the raw optimisation.
# `result.losses` keeps the MSE of every single step.

# %%
results = impedance.run_impedance(img, p, targets=targets, device=device,
                                  callbacks_for=lambda name: [dip.LiveView(title=name, min_seconds=2)],
                                  progress=True)
for name, r in results.items():
    print(f"{name:16s} {r.steps} steps in {r.seconds:5.1f} s; final MSE {r.losses[-1]:.2e}")

# %% [markdown]
# ## 3. The curves of Fig. 2
# Loss against iteration, both on log scales. The natural image is fitted fastest, the noisy
# image follows it at first (the network fits the image part) and then slows down near the
# noise power $\sigma^2$: from there on it has to learn the noise, pixel by pixel. Shuffled
# pixels and white noise are fitted slowly from the start. With enough steps all four reach a
# low loss: the network *can* fit noise, it just resists doing so.

# %%
import matplotlib.pyplot as plt
from dip_lib.core.metrics import to_numpy

steps = impedance.impedance_steps(results, p.threshold)
fig = plt.figure(figsize=(15, 4.6))
ax = fig.add_subplot(1, 2, 1)
impedance.plot_impedance(results, p.threshold, ax=ax)
ax.set_title(f"Fit of one network to four targets ({p.size}px, preset '{p.name}')")
for i, (name, r) in enumerate(results.items()):
    a = fig.add_subplot(2, 8, 5 + i)
    a.imshow(to_numpy(targets[name]).clip(0, 1))
    a.set_title(f"{name}", fontsize=8)
    a.axis("off")
    b = fig.add_subplot(2, 8, 13 + i)
    b.imshow(to_numpy(r.image).clip(0, 1))
    reached = f"≤ {p.threshold:g} at {steps[name]}" if steps[name] != float("inf") else f"> {p.threshold:g}"
    b.set_title(f"f_θ(z), step {r.steps}\nMSE {reached}", fontsize=8)
    b.axis("off")
fig.tight_layout()
dip.gallery(fig, "01_noise_impedance")
plt.show()

# %% [markdown]
# ## 4. Steps to reach the threshold
# The first step at which the MSE falls below `p.threshold` (∞: not within `p.steps`). The
# threshold, 0.02, is about twice the noise power $\sigma^2 \approx 0.0096$: the noisy target
# can reach it by fitting its image part alone, so the count measures how fast the *structure*
# of each target is learnt. (Far below $\sigma^2$ the noisy fit has to reproduce the noise
# itself, which is slow: with a wide network the permuted image, whose pixels are large
# colour jumps rather than small noise, can then get there first. Try it below.)

# %%
print(f"steps until MSE <= {p.threshold:g}:")
for name, s in steps.items():
    print(f"  {name:16s} {s}")

# %% [markdown]
# **What it means for restoration.** Fitting a noisy image, the network first reproduces the
# image (low impedance) and only later the noise (high impedance). Stopped in between, it
# returns the image without most of the noise: that is the deep image prior. Notebook 02 shows
# the other side of the coin: what $f_\theta(z)$ looks like before any fitting.

# %% [markdown]
# ## 5. Try it
# Change the architecture, the noise level or the threshold, press **Run**, and compare the
# curves. A one-scale hourglass has little structure to impose: its impedance to noise is
# much lower.

# %%
from ipywidgets import Dropdown, FloatLogSlider, IntSlider, interact_manual


@interact_manual(arch=Dropdown(options=["default", "hourglass-5", "hourglass-3", "hourglass-1", "skip-5-nearest"]),
                 sigma=IntSlider(25, 5, 100, 5), steps=IntSlider(p.steps, 50, 4 * p.steps, 50),
                 threshold=FloatLogSlider(value=p.threshold, base=10, min=-3.5, max=-1, step=0.25))
def try_it(arch, sigma, steps, threshold):
    r = impedance.run_impedance(img, p.replace(steps=steps), arch=arch, sigma=sigma / 255,
                                device=device, progress=True)
    ax = impedance.plot_impedance(r, threshold)
    ax.set_title(f"{arch}, σ = {sigma}")
    plt.show()
    print(f"steps until MSE <= {threshold:.2g}:", impedance.impedance_steps(r, threshold))


# %% [markdown]
# **Exercises.** (1) Replace F16 by a texture-rich image (`dip.load_image("Set14/baboon.png")`):
# is the gap to the noisy image smaller? (2) Is the permuted image or white noise fitted more
# slowly, and why might their variances matter for an absolute threshold? (3) Denoise the noisy
# target with `dip.solve(dip.denoising(img, noisy=targets["image + noise"]), p)` (the clean `img`
# only scores it): at which step does its PSNR peak, and how does that compare with the step where
# its loss crosses $\sigma^2$?
#
# ## 6. Checks (run by CI)
# The ordering of Fig. 2 in steps to reach the threshold: the natural image is fitted first,
# then the noisy image, and the permuted image and white noise last (or not within the run).
# The natural image reaches the threshold well before the end.

# %%
import math

print(steps)
dip.check("the image reaches the threshold well before the end (its steps / all steps)", steps["image"] / p.steps,
          "<", 0.5)
# step counts are compared by their ratio, on a log2 scale (0: as fast; 1: twice the steps)
dip.check("the noisy image takes longer than the image (log2 ratio of steps)",
          math.log2(steps["image + noise"] / steps["image"]), ">", 0.0)
dip.check("permuted pixels and noise take longer still (log2 ratio of steps to the noisy image's)",
          math.log2(min(steps["permuted pixels"], steps["U(0,1) noise"]) / steps["image + noise"]), ">", 0.0)
dip.check("at the end the image is fitted better than noise (ratio of final losses, noise / image)",
          results["U(0,1) noise"].losses[-1] / results["image"].losses[-1], ">", 1.0)
