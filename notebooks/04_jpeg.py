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
# # 04 · JPEG artefact removal
# **You will learn:**
# - that the deep image prior removes a degradation it knows nothing about: the energy is just
#   $E(x; y) = \|x - y\|^2$ with $y$ the JPEG image, exactly as for denoising;
# - how the fit unfolds: first the image, then the blocks and halos, then everything
#   (snapshots at 100, 600, 2400 iterations and a long overfit, as in the paper's figure);
# - the paper's small JPEG network (input depth 3, filters 8 → 128, skips only at the two
#   deepest scales);
# - how to check the claim on an image whose clean version we know.
#
# | preset | where | run time |
# |---|---|---|
# | `test` | CI | ~1.4 min |
# | `cpu` | Binder / laptop | ~3.5 min ≈ 203 ref. steps |
# | `paper` | GPU (Colab) | ~12 min |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/v0.1.0/notebooks/04_jpeg.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/v0.1.0?labpath=notebooks%2F04_jpeg.ipynb)

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
from dip_lib.problems import baselines

p = dip.preset("jpeg")
device = dip.default_device()
print(p.describe(), "| device:", device)
print(f"snapshots at {p.snapshots} iterations, overfit at {p.overfit} (paper: 100, 600, 2400 and 50K)")

# %% [markdown]
# ## 1. The paper's snail: a real, heavily compressed JPEG
# We have no clean version of this photograph: only the blocky, haloed JPEG. The problem is built
# from the JPEG image itself (`jpeg_image=`): y is the snail, there is no truth to score against.

# %%
snail = dip.load_image("snail", size=p.size, multiple=32)
snail_problem = dip.jpeg_artifacts(jpeg_image=snail)
dip.show({"JPEG input (snail)": snail});

# %% [markdown]
# ## 2. The paper's JPEG network, fitted for a long time
# `dip.build("jpeg")` is the hourglass of the paper's JPEG experiment: a 3-channel code $z$,
# 8, 16, 32, 64, 128 filters from the finest to the coarsest scale, and skip connections
# (4 filters) only at the two deepest scales. It is much smaller than the denoising network.

# %%
net = dip.build("jpeg")
print(f"jpeg network: {dip.count_parameters(net):,} parameters (denoising network: "
      f"{dip.count_parameters(dip.build('denoising')):,})")

# %% [markdown]
# `dip.solve` fits the network (`p.arch`, the JPEG network) for `p.overfit` iterations; a
# `dip.Snapshots` callback keeps $f_\theta(z)$ at the snapshot iterations along the way (the
# fit must check at those iterations: `every=dip.snapshot_every(...)`).

# %%
steps = sorted(set(p.snapshots) | {p.overfit})
snaps = dip.Snapshots(steps)
res = dip.solve(snail_problem, p, steps=p.overfit, every=dip.snapshot_every(steps, p.every), progress="snail",
                callbacks=[snaps, dip.LiveView(reference=snail)])
print(f"{res.steps} steps in {res.seconds:.0f} s; snapshots at {sorted(snaps.images)}")

# %%
import matplotlib.pyplot as plt

panels = {"JPEG input": snail}
panels.update({f"{n} iterations": snaps.images[n] for n in p.snapshots})
panels[f"{res.steps} iterations (overfit)"] = res.image
fig = dip.image_grid(panels, ncols=len(panels), size=3.2,
                     suptitle=f"Blind restoration of a JPEG image (preset '{p.name}')")
dip.gallery(fig, "04_jpeg")
plt.show()

# %% [markdown]
# As in the paper: early on (100 iterations) a blurry version of the image; at 600 most of the
# signal; around 2400 (the paper's stopping point) the image without blocks and halos; and with
# enough iterations the network reproduces the JPEG artefacts too. The data term keeps falling
# all along: it cannot tell us when to stop. (In the `test` preset the whole fit is 400 steps on a
# small image: the output is still blurry and the "overfit" panel has not reached the artefacts;
# run the `cpu` or `paper` preset to see them come back.)

# %%
ax = dip.plot_history(res.history, "loss")
for n in p.snapshots:
    ax.axvline(n, color="gray", ls=":", lw=1)
ax.set_title("E(f_θ(z); y) during the fit, snapshots dotted")
plt.show()

# %% [markdown]
# ## 3. A check where the truth is known
# Compress a clean image ourselves (`dip.jpeg_artifacts(clean, quality=...)`, quality 10 in the
# `cpu` and `paper` presets), restore it with the same
# network stopped at the paper's iteration count (`p.steps`, 2400 in the paper), and measure.
# Total-variation denoising of the JPEG image is shown as a classical reference.

# %%
QUALITY = p.quality
clean = dip.load_image(p.check_image, size=p.check_size, multiple=32)
check_problem = dip.jpeg_artifacts(clean, quality=QUALITY)
compressed = check_problem.observation
check = dip.solve(check_problem, p, progress="check")
scores = {"JPEG input": dip.psnr(compressed, clean),
          "TV": dip.psnr(baselines.tv_denoise(compressed, weight=0.05), clean),
          "DIP, last output": dip.psnr(check.image, clean),
          "DIP, average": dip.psnr(check.ema_image, clean)}
for name, v in scores.items():
    print(f"{name:18s} {v:6.2f} dB")

# %%
import torch
from dip_lib.core.metrics import to_numpy

fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw=dict(width_ratios=[1.4, 2]))
dip.plot_history({"output": check.history}, "psnr", ax=axes[0], reference=scores["JPEG input"],
                 reference_label=f"JPEG q={QUALITY}")
dip.plot_history({"average": check.history}, "psnr_ema", ax=axes[0])
axes[0].set_ylabel("PSNR (dB)")
side_by_side = torch.cat([clean, compressed, check.ema_image], dim=-1)
axes[1].imshow(to_numpy(side_by_side).clip(0, 1))
axes[1].set_title(f"clean | JPEG q={QUALITY} ({scores['JPEG input']:.2f} dB) | DIP ({scores['DIP, average']:.2f} dB)")
axes[1].axis("off")
fig.tight_layout()
dip.gallery(fig, "04_jpeg_check")
plt.show()

# %% [markdown]
# ## 4. Try it
# Change the JPEG quality, the number of iterations, $\sigma_p$ or the network and press **Run**.
# Does the bigger denoising network remove the blocks as well? When does it start to copy them?

# %%
from ipywidgets import Dropdown, FloatSlider, IntSlider, interact_manual


@interact_manual(quality=IntSlider(value=QUALITY, min=5, max=60, step=5),
                 steps=IntSlider(value=p.steps, min=50, max=4 * p.steps, step=50),
                 sigma_p=FloatSlider(value=p.sigma_p, min=0, max=0.1, step=0.005),
                 arch=Dropdown(options=["jpeg", "denoising", "hourglass-3"]))
def try_it(quality, steps, sigma_p, arch):
    problem = dip.jpeg_artifacts(clean, quality=quality)
    y = problem.observation
    width = None if arch == "jpeg" else dip.preset("denoising").width
    input_depth = p.input_depth if arch == "jpeg" else dip.preset("denoising").input_depth
    r = dip.solve(problem, p, arch=arch, steps=steps, sigma_p=sigma_p, width=width, input_depth=input_depth,
                  progress=arch)
    dip.plot_history({arch: r.history}, "psnr", reference=dip.psnr(y, clean), reference_label=f"JPEG q={quality}")
    dip.show({f"JPEG q={quality}": y, f"DIP {dip.psnr(r.ema_image, clean):.2f} dB": r.ema_image})


# %% [markdown]
# **Exercises.** (1) Which JPEG quality is so high that DIP no longer helps? (2) Set
# $\sigma_p = 0$: how much earlier does the network copy the blocks? (3) Use the windowed
# variance of notebook 03 (`early_stop="stop"`) to stop the snail without looking.
#
# ## 5. Checks (run by CI)
# DIP beats the JPEG input on the synthetic check (by `p.min_gain` dB), and on the snail each
# snapshot is at least 10% closer (in MSE) to the JPEG input than the one before, the long fit
# included: the data term keeps improving, so it cannot tell us when to stop.

# %%
gain = scores["DIP, average"] - scores["JPEG input"]
print(f"DIP {scores['DIP, average']:.2f} dB vs JPEG {scores['JPEG input']:.2f} dB: +{gain:.2f} dB")
dip.check("DIP beats the JPEG input on the synthetic check", gain, ">", p.min_gain, unit="dB")
to_input = [float(dip.mse(snaps.images[n], snail)) for n in steps]   # distance to the JPEG input, snapshot by snapshot
print("MSE to the JPEG input at", dict(zip(steps, [f"{v:.5f}" for v in to_input])))
for (n0, a), (n1, b) in zip(zip(steps, to_input), zip(steps[1:], to_input[1:])):   # ever closer to y: E never says stop
    dip.check(f"step {n1} is closer to the JPEG input than step {n0} (ratio of MSEs)", b / a, "<", 0.9)
