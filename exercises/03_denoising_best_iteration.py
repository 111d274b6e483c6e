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
# # Exercise 3 · When to stop: the best iteration count for σ = 50 (notebook 03)
# **Goal:** the deep image prior fits the image before the noise, so the PSNR of the output rises,
# peaks and falls. Find the iteration count that maximises the PSNR for strong noise (σ = 50)
# and compare it with σ = 25.
#
# **Time:** 20 min in class. Runs in seconds (`test`), ~4 min (`cpu`).
#
# **Your task:**
# 1. For σ = 25 and σ = 50 make the problem `dip.denoising(clean, sigma=..., seed=p.seed)`, fit the
#    network `arch` below to it with `dip.solve(problem, p, arch=arch, every=every, ...)`; the PSNR
#    against the clean image is recorded every `every` steps in `result.history`.
# 2. Store the iteration counts with the highest PSNR in `best_step = {25: ..., 50: ...}` and the
#    histories in `histories = {25: ..., 50: ...}`; plot PSNR against iteration for both.
# 3. Explain why the best iteration count depends on σ, and how you would choose it without the
#    clean image.

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
p = dip.preset("denoising")
device = dip.default_device()
print(p.describe(), "| device:", device)
every = max(10, p.steps // 30)
clean = dip.load_image("F16", size=p.size, multiple=32)
# a network that overfits quickly (U-Net-like skips), so the peak is visible within p.steps
arch = dip.Ablation(depth=2, width=p.width or 128, skip="full").skip_config(p.input_depth)

# %% tags=["solution"]
best_step, histories, noisy_psnr = {}, {}, {}
for sigma in (25, 50):
    problem = dip.denoising(clean, sigma=sigma, seed=p.seed)
    run = dip.solve(problem, p, arch=arch, every=every, device=device, progress=f"σ={sigma}")
    histories[sigma] = run.history
    best_step[sigma] = run.best_step
    noisy_psnr[sigma] = problem.score(problem.observation)
    print(f"σ={sigma}: noisy {noisy_psnr[sigma]:.2f} dB, best {run.best_psnr:.2f} dB at step "
          f"{best_step[sigma]}, last {run.final_psnr:.2f} dB at step {run.steps}")
ax = dip.plot_history({f"σ={s}": h for s, h in histories.items()}, key="psnr")

# %% [markdown]
# **Explain:** why does the best iteration count depend on σ? How would you pick it in practice,
# when the clean image is unknown?

# %% [markdown] tags=["solution"]
# *Solution.* The network fits the image content first and the noise later (noise impedance).
# With σ = 50 the noise is a much larger part of the residual, so after the image structure has
# been fitted, the gradient is dominated by the noise and the output starts to copy it sooner:
# the PSNR peaks earlier and falls faster. Without the clean image one can (a) use the iteration
# counts that worked on similar images and noise levels (what the paper does: a fixed budget per
# task), (b) stop when the loss reaches the known noise level, E ≈ σ² (the discrepancy principle),
# or (c) make the result less sensitive to the stopping time with the running average of the
# outputs (EMA) and the perturbation σ_p of z, as the denoising settings do (`p.ema`, `p.sigma_p`).

# %% [markdown]
# **Check** (run it): strong noise peaks earlier, and stopping at the peak clearly beats running on.

# %%
import math

last50 = histories[50]["psnr"][-1]
best50 = max(histories[50]["psnr"])
print(best_step, f"σ=50: best {best50:.2f} dB vs last {last50:.2f} dB")
dip.check("σ=50 peaks earlier than σ=25 (log2 ratio of best steps, 25 / 50)", math.log2(best_step[25] / best_step[50]),
          ">", 0.0)
dip.check("σ=50: stopping at the peak beats running on", best50 - last50, ">", 0.5, unit="dB")
dip.check("σ=50: at its peak the fit removes a lot of the noise", best50 - noisy_psnr[50], ">", 3.0, unit="dB")
