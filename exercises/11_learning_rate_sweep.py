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
# # Exercise 5 · A learning-rate sweep with `dip.sweep` (notebook 11)
# **Goal:** use the sweep helper to run a grid of configurations without widgets, read the table
# and choose a learning rate for Adam.
#
# **Time:** 15 min in class. Runs in seconds (`test`), ~5 min (`cpu`).
#
# **Your task:**
# 1. Starting from `base` below, sweep the learning rate over 0.001, 0.01 and 0.1 with
#    `dip.sweep(problem, base, base=p, lr=[...])`; call the table `table` and display it.
# 2. Plot PSNR and loss against the iteration for the three runs (`table.plot("psnr")`).
# 3. Store the learning rate of the best final PSNR in `best_lr` and explain what goes wrong
#    with the other two.

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
import matplotlib.pyplot as plt
from IPython.display import display
from dip_lib.experiments.ablation import input_psnr

p = dip.preset("ablation")
print(p.describe())
problem = dip.ablation_problem("denoising", "F16", size=p.size, seed=p.seed)
noisy_psnr = input_psnr(problem)
base = dip.Ablation.from_preset(p, depth=3, steps=max(100, 2 * p.steps // 3))
print(base.label, f"| noisy input: {noisy_psnr:.2f} dB")

# %% tags=["solution"]
table = dip.sweep(problem, base, base=p, lr=[0.001, 0.01, 0.1], verbose=True)
display(table)
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
table.plot("psnr", ax=axes[0], reference=noisy_psnr)
table.plot("loss", ax=axes[1])
plt.show()
best_lr = table.best("psnr")["lr"]
print("best learning rate:", best_lr)

# %% [markdown]
# **Explain:** what happens with the smallest and with the largest learning rate?

# %% [markdown] tags=["solution"]
# *Solution.* With lr = 0.001 Adam moves θ too little per step: after the budget of iterations the
# network has only fitted the coarsest structure, the loss is still high and the image blurry
# (it would need many more steps; deep image prior results are always "at a given iteration
# count"). With lr = 0.1 the steps are too large: the loss is noisy and jumps (BatchNorm and the
# sigmoid saturate), the output oscillates and the PSNR stays below the best run; `dip.fit`'s
# `backtrack=True` would restore θ after the jumps, but it does not make the fit efficient. The
# paper's 0.01 sits in between. The best learning rate also depends on the width and depth of the
# network, which is why the presets set it per task.

# %% [markdown]
# **Check** (run it): the middle learning rate wins and beats the noisy input.

# %%
print(table.to_markdown(["lr", "loss", "psnr", "psnr_ema", "best_psnr", "best_step"]))
middle = table.one(lr=0.01)["psnr"]
# compared by their running averages (psnr_ema): the last output at lr 0.1 jumps by tenths of a dB from step to step
dip.check("the middle learning rate wins (running averages: lr 0.01 minus the better of 0.001 and 0.1)",
          table.one(lr=0.01)["psnr_ema"] - max(table.one(lr=0.001)["psnr_ema"], table.one(lr=0.1)["psnr_ema"]),
          ">", 0.0, unit="dB")
dip.check("lr 0.01 beats the noisy input", middle - noisy_psnr, ">", 1.5, unit="dB")
