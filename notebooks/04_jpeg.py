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
#       jupytext_version: 1.19.6
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
# | `test` | CI | ~40 s |
# | `cpu` | Binder / laptop | ~5 min |
# | `paper` | GPU (Colab) | ~12 min |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/main/notebooks/04_jpeg.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/main?labpath=notebooks%2F04_jpeg.ipynb)

# %%
# Setup: on Colab, install the kit once; everywhere, pick the preset and the device.
import sys
if "google.colab" in sys.modules:
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "dip_lib @ git+https://github.com/dip-kit/deep-image-prior-kit"], check=True)
import dip_lib as dip
from dip_lib import baselines
from dip_lib.tasks import jpeg_restore

p = dip.preset("jpeg")
device = dip.default_device()
print(p.describe(), "| device:", device)
print(f"snapshots at {p.snapshots} iterations, overfit at {p.overfit} (paper: 100, 600, 2400 and 50K)")

# %% [markdown]
# ## 1. The paper's snail: a real, heavily compressed JPEG
# We have no clean version of this photograph: only the blocky, haloed JPEG.

# %%
snail = dip.load_image("snail", size=p.size, multiple=32)
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
# `jpeg_restore` runs `dip.fit` for `p.overfit` iterations and keeps snapshots of
# $f_\theta(z)$ along the way (a `Snapshots` callback).

# %%
res = jpeg_restore(snail, p, progress="snail", callbacks=[dip.LiveView(reference=snail)])
snaps = res.snapshots
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
# all along: it cannot tell us when to stop.

# %%
ax = dip.plot_history(res.history, "loss")
for n in p.snapshots:
    ax.axvline(n, color="gray", ls=":", lw=1)
ax.set_title("E(f_θ(z); y) during the fit, snapshots dotted")
plt.show()

# %% [markdown]
# ## 3. A check where the truth is known
# Compress a clean image ourselves with `dip.jpeg` (quality 10), restore it with the same
# network stopped at the paper's iteration count (`p.steps`, 2400 in the paper), and measure.
# Total-variation denoising of the JPEG image is shown as a classical reference.

# %%
QUALITY = p.get("quality", 10)
clean = dip.load_image(p.get("check_image", "F16"), size=p.get("check_size", p.size), multiple=32)
compressed = dip.jpeg(clean, QUALITY)
check = jpeg_restore(compressed, p, target=clean, steps=p.steps, snapshots=(), progress="check")
scores = {"JPEG input": dip.psnr(compressed, clean),
          "TV": dip.psnr(baselines.tv_denoise(compressed, weight=0.05), clean),
          "DIP, last output": dip.psnr(check.image, clean),
          "DIP, average": dip.psnr(check.ema_image, clean)}
for name, v in scores.items():
    print(f"{name:18s} {v:6.2f} dB")

# %%
import torch

fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw=dict(width_ratios=[1.4, 2]))
dip.plot_history({"output": check.history}, "psnr", ax=axes[0], reference=scores["JPEG input"],
                 reference_label=f"JPEG q={QUALITY}")
dip.plot_history({"average": check.history}, "psnr_ema", ax=axes[0])
axes[0].set_ylabel("PSNR (dB)")
side_by_side = torch.cat([clean, compressed, check.ema_image], dim=-1)
axes[1].imshow(dip.metrics.to_numpy(side_by_side).clip(0, 1))
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
                 sigma_p=FloatSlider(value=p.reg_noise, min=0, max=0.1, step=0.005), arch=Dropdown(options=["jpeg", "denoising", "hourglass-3"]))
def try_it(quality, steps, sigma_p, arch):
    y = dip.jpeg(clean, quality)
    q = dip.preset("jpeg", width=None if arch == "jpeg" else dip.preset("denoising").width)
    r = jpeg_restore(y, q, target=clean, steps=steps, snapshots=(), reg_noise=sigma_p, arch=arch, progress=arch)
    dip.plot_history({arch: r.history}, "psnr", reference=dip.psnr(y, clean), reference_label=f"JPEG q={quality}")
    dip.show({f"JPEG q={quality}": y, f"DIP {dip.psnr(r.ema_image, clean):.2f} dB": r.ema_image})


# %% [markdown]
# **Exercises.** (1) Which JPEG quality is so high that DIP no longer helps? (2) Set
# $\sigma_p = 0$: how much earlier does the network copy the blocks? (3) Use the windowed
# variance of notebook 03 (`dip.tasks.WindowedVariance`) to stop the snail without looking.
#
# ## 5. Checks (run by CI)
# DIP beats the JPEG input on the synthetic check, every snapshot was taken, and the long fit
# really does reproduce the input more closely than the stopped one (the overfit of the figure).

# %%
gain = scores["DIP, average"] - scores["JPEG input"]
print(f"DIP {scores['DIP, average']:.2f} dB vs JPEG {scores['JPEG input']:.2f} dB: +{gain:.2f} dB")
assert gain > p.get("min_gain", 0.5), gain
assert sorted(snaps.images) == sorted(set(p.snapshots) | {p.overfit})
stopped = snaps.images[max(p.snapshots)]
assert dip.mse(res.image, snail) < dip.mse(stopped, snail), "the long fit should reproduce the JPEG input"
