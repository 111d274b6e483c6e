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
# # Exercise 4 · Inpainting: how many pixels does the prior need? (notebook 06)
# **Goal:** in inpainting the energy only sees the known pixels, E = ||(f_θ(z) − x0) ⊙ m||²; the
# network's structure fills in the rest. Measure how the result degrades as fewer pixels are kept.
#
# **Time:** 20 min in class. Runs in seconds (`test`), ~5 min (`cpu`).
#
# **Your task:**
# 1. For `keep` in 0.2, 0.5 and 0.8 (the fraction of pixels kept by a random Bernoulli mask), build
#    the problem with `dip.ablation_problem("inpainting", keep=keep, ...)`, fit the configuration
#    `cfg` below with `dip.run_ablation` and store the PSNR of the output against the clean image in
#    `psnr = {0.2: ..., 0.5: ..., 0.8: ...}` and the PSNR of the masked input (`problem.observation`,
#    scored with `problem.score`) in `psnr_input`.
# 2. Show the masked inputs next to the restorations.
# 3. Explain the trend. Which pixels are hardest to restore?

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
p = dip.preset("inpainting")
print(p.describe())
cfg = dip.Ablation.from_preset(p, depth=3, skip="1x1")   # width, lr, σ_p and steps of the preset

# %% tags=["solution"]
psnr, psnr_input, images = {}, {}, {}
for keep in (0.2, 0.5, 0.8):
    problem = dip.ablation_problem("inpainting", "F16", size=p.size, keep=keep, seed=p.seed)
    run = dip.run_ablation(cfg, problem, every=max(10, p.steps // 10), base=p)
    psnr[keep], psnr_input[keep] = run.row["psnr"], problem.score(problem.observation)
    images[f"keep {keep:.0%}: input {psnr_input[keep]:.1f} dB"] = problem.observation
    images[f"restored: {run.row['psnr']:.1f} dB"] = run.image
dip.show(images, ncols=2, size=2.5);

# %% [markdown]
# **Explain:** how does the PSNR depend on the fraction of known pixels, and where are the
# remaining errors?

# %% [markdown] tags=["solution"]
# *Solution.* The more pixels are known, the more the energy constrains f_θ(z) and the less the
# prior has to invent: the PSNR rises with `keep`. Even with 80% of the pixels missing the network
# recovers the large structures (sky, fuselage, lettering blobs), because an image made of those is
# what it produces easily; it fails on fine, high-contrast detail (thin lines, small letters), which
# no smooth interpolation can guess from a few samples. Smooth regions are restored almost
# perfectly at every `keep`.

# %% [markdown]
# **Check** (run it): more known pixels, better restoration; every restoration beats its input.

# %%
print({k: round(v, 2) for k, v in psnr.items()})
dip.check("50% known beats 20% known", psnr[0.5] - psnr[0.2], ">", 0.0, unit="dB")
dip.check("80% known beats 50% known", psnr[0.8] - psnr[0.5], ">", 0.0, unit="dB")
for k in psnr:
    dip.check(f"keep {k:.0%}: the restoration beats its input", psnr[k] - psnr_input[k], ">", 5.0, unit="dB")
