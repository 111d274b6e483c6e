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
# # 06 · Inpainting
# **You will learn:**
# - how the mask enters the energy: E = ||(f_θ(z) − x0) ⊙ m||², the prior alone fills where m = 0;
# - three regimes from the paper: text removal, 50% of the pixels missing, one large hole;
# - why the input z matters for large holes (a meshgrid instead of noise) and
#   why skip connections hurt there;
# - how the architecture is the prior: encoder-decoders of depth 6/4/2, a ResNet and a U-Net
#   fill the same holes very differently (the paper's library comparison).
#
# | preset | where | run time |
# |---|---|---|
# | `test` | CI | ~1 min |
# | `cpu` | Binder / laptop | ~8 min |
# | `paper` | GPU (Colab) | ~30 min |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/main/notebooks/06_inpainting.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/main?labpath=notebooks%2F06_inpainting.ipynb)

# %%
# Setup: on Colab, install the kit once; everywhere, pick the preset and the device.
import sys
if "google.colab" in sys.modules:
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "dip_lib @ git+https://github.com/dip-kit/deep-image-prior-kit"], check=True)
import dip_lib as dip
from dip_lib import baselines, tasks

p = dip.preset("inpainting")
device = dip.default_device()
print(p.describe(), "| device:", device)
results = {}  # name -> dict(masked, biharmonic, dip, original, mask)


def score(name, x0, m, out):
    """Fill the table: PSNR on the holes only (and on the whole image) of input, baseline and DIP."""
    masked, bh = x0 * m, baselines.biharmonic_inpaint(x0 * m, m)
    results[name] = dict(masked=masked, biharmonic=bh, dip=out, original=x0, mask=m)
    for label, x in [("masked input", masked), ("biharmonic", bh), ("deep image prior", out)]:
        print(f"{label:18s} PSNR on the holes {dip.hole_psnr(x, x0, m):6.2f} dB | "
              f"whole image {dip.psnr(x, x0):6.2f} dB")

# %% [markdown]
# ## 1. Text removal
# The paper's portrait with text burnt in; the mask marks the letters. Its network has skip
# connections at every scale (`"inpainting-text"`): thin holes are filled from their
# neighbourhood, fine detail is welcome. Pixels that a letter touches after resizing count as
# missing (`threshold=0.99`).

# %%
kate = dip.load_image("kate", size=p.size, multiple=32)
kate_mask = tasks.load_mask("kate_mask", size=p.size, multiple=32, threshold=0.99)
print(f"{100 * (1 - kate_mask.mean()):.1f}% of the pixels are missing")
r_kate = dip.inpaint(kate, kate_mask, p, target=kate, arch="inpainting-text",
                     callbacks=[dip.LiveView(reference=kate * kate_mask)])
score("text", kate, kate_mask, r_kate.image)

# %% [markdown]
# ## 2. Half of the pixels missing (Barbara)
# The paper's restoration experiment: 50% of the pixels dropped at random
# (`dip.bernoulli_mask(img, 0.5, seed)`), a grey image (one channel in and out). In the `test`
# and `cpu` presets we take a native-resolution crop of Barbara's striped clothes
# (`p.size_barbara`); the `paper` preset uses the whole 512×512 image and the paper's schedule
# (11000 steps at lr 0.001), for which the paper reports **32.22 dB**.

# %%
barbara = dip.load_image("barbara", channels=1)
if p.size_barbara:  # a native-resolution crop around the stripes of the trousers and the scarf
    s = p.size_barbara
    top, left = min(400 - s // 2, 512 - s), min(400 - s // 2, 512 - s)
    barbara = barbara[..., top:top + s, left:left + s]
barbara_mask = dip.bernoulli_mask(barbara, 0.5, seed=0)
r_barbara = dip.inpaint(barbara, barbara_mask, p, target=barbara, arch="restoration",
                        steps=p.get("steps_barbara", p.steps), lr=p.get("lr_barbara", p.lr),
                        callbacks=[dip.LiveView(reference=barbara * barbara_mask)])
score("50% pixels", barbara, barbara_mask, r_barbara.image)
print("paper (whole image, Table 2): deep image prior 32.22 dB")

# %% [markdown]
# ## 3. A large hole
# With a large hole there is nothing nearby to copy. The paper feeds a **meshgrid**
# (z = the x and y coordinates, 2 channels, `input_kind="meshgrid"`) to a network **without skip
# connections** (`"inpainting-hole"`): the output is then a smooth function of position, and the
# hole is filled with a continuation of the surrounding structure.

# %%
vase = dip.load_image("vase", size=p.size, multiple=32)
vase_mask = tasks.load_mask("vase_mask", size=p.size, multiple=32)
r_vase = dip.inpaint(vase, vase_mask, p, target=vase, arch="inpainting-hole", input_kind="meshgrid",
                     steps=p.get("steps_hole", p.steps), callbacks=[dip.LiveView(reference=vase * vase_mask)])
score("large hole", vase, vase_mask, r_vase.image)

# %% [markdown]
# ## The paper's figure: masked input, a classical baseline, DIP, the original
# The baseline is biharmonic inpainting (scikit-image): the smoothest surface through the
# known pixels. It is hard to beat on tiny, smooth images and on thin holes; DIP's advantage
# shows on texture (the stripes) and at the paper's resolution and iteration counts.

# %%
panels = {}
for name, r in results.items():
    for key, label in [("masked", "masked input"), ("biharmonic", "biharmonic"), ("dip", "deep image prior"),
                       ("original", "original")]:
        extra = "" if key == "original" else f" ({dip.hole_psnr(r[key], r['original'], r['mask']):.1f} dB)"
        panels[f"{name}: {label}{extra}"] = r[key]
fig = dip.image_grid(panels, ncols=4, size=3, suptitle="Inpainting (PSNR on the holes)")
dip.gallery(fig, "06_inpainting")

# %% [markdown]
# ## 4. The architecture is the prior (library)
# Same image, same mask, same number of steps, five generators: encoder-decoders (no skip
# connections) of depth 6, 4 and 2, the ResNet and the U-Net. In the paper the deep
# encoder-decoder fills the holes best; the ResNet (no multi-scale structure) and the U-Net
# (skip connections everywhere) fill them with blurry or repeated texture.

# %%
library = dip.load_image("library", size=p.size_library, multiple=64)
library_mask = tasks.load_mask("library_mask", size=p.size_library, multiple=64)
ARCHS = {"encoder-decoder, depth 6": "encoder-decoder-6", "depth 4": "encoder-decoder-4",
         "depth 2": "encoder-decoder-2", "ResNet": "resnet", "U-Net": "unet"}
library_results = {}
for label, arch in ARCHS.items():
    r = dip.inpaint(library, library_mask, p, target=library, arch=arch, steps=p.steps_library, progress=label)
    library_results[label] = r.image
    print(f"{label:26s} PSNR on the holes {dip.hole_psnr(r.image, library, library_mask):6.2f} dB "
          f"({r.seconds:.0f} s)")
panels = {"masked input": library * library_mask}
panels.update({f"{k} ({dip.hole_psnr(v, library, library_mask):.1f} dB)": v for k, v in library_results.items()})
fig = dip.image_grid(panels, ncols=3, size=3.5, suptitle="Library: the architecture as the prior")
dip.gallery(fig, "06_inpainting_architectures")

# %% [markdown]
# ## Try it
# Re-run the large hole with other settings. Questions: what does a noise code
# (`INPUT = "noise"`) do inside the hole? And a network with skip connections
# (`ARCH = "inpainting-text"`)? Does σ_p (the perturbation of z) matter here?

# %%
STEPS = p.get("steps_hole", p.steps)  # iterations
SIGMA_P = p.reg_noise                  # σ_p, e.g. 0 or 1/30
ARCH = "inpainting-hole"               # "inpainting-text", "encoder-decoder-4", "default", ...
INPUT = "meshgrid"                     # "meshgrid" or "noise"

try_result = dip.inpaint(vase, vase_mask, p, target=vase, arch=ARCH, input_kind=INPUT, steps=STEPS,
                         reg_noise=SIGMA_P)
print(f"PSNR on the hole: {dip.hole_psnr(try_result.image, vase, vase_mask):.2f} dB "
      f"(the run above: {dip.hole_psnr(r_vase.image, vase, vase_mask):.2f} dB)")
dip.show({"masked": vase * vase_mask, f"{ARCH}, {INPUT}": try_result.image});

# %% [markdown]
# ## Checks (run by nbval in CI)
# - in all three settings, DIP beats the masked (zero-filled) input on the holes by ≥ 8 dB,
#   and on the whole image by ≥ 2 dB (it also fits the known pixels);
# - with 50% of the pixels missing (the paper's restoration setting, on texture), DIP beats
#   biharmonic inpainting on the holes;
# - every architecture of the library comparison fills the holes better than zeros (≥ 5 dB).

# %%
for name, r in results.items():
    dip_hole = dip.hole_psnr(r["dip"], r["original"], r["mask"])
    in_hole = dip.hole_psnr(r["masked"], r["original"], r["mask"])
    assert dip_hole >= in_hole + 8, (name, dip_hole, in_hole)
    assert dip.psnr(r["dip"], r["original"]) >= dip.psnr(r["masked"], r["original"]) + 2, name
r = results["50% pixels"]
assert (dip.hole_psnr(r["dip"], r["original"], r["mask"])
        >= dip.hole_psnr(r["biharmonic"], r["original"], r["mask"]) + 0.5)
in_lib = dip.hole_psnr(library * library_mask, library, library_mask)
for label, x in library_results.items():
    assert dip.hole_psnr(x, library, library_mask) >= in_lib + 5, label
print("checks passed")
