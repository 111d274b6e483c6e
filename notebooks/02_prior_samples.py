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
# # 02 · Samples from the prior
# **You will learn:**
# - what the deep image prior "believes" before seeing any image: samples $x = f_\theta(z)$ for
#   random weights $\theta$ (the paper's Fig. 4);
# - how depth, skip connections and the upsampling mode shape these samples: pixel noise,
#   blobs of growing size, multi-scale textures, blocky grids;
# - why the network is run in its initial state (BatchNorm with batch statistics) to draw them;
# - how to explore the architecture space yourself with a small widget.
#
# | preset | where | run time |
# |---|---|---|
# | `test` | CI | ~14 s |
# | `cpu` | Binder / laptop | ~18 s ≈ 17 ref. steps |
# | `paper` | GPU (Colab) | ~1 min |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/v0.1.0/notebooks/02_prior_samples.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/v0.1.0?labpath=notebooks%2F02_prior_samples.ipynb)

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
from dip_lib.experiments import samples

p = dip.preset("samples")
device = dip.default_device()
print(f"preset '{p.name}' for samples: {p.size}px, width {p.width or 128} | device: {device}")  # no fitting here

# %% [markdown]
# ## 1. A prior you can sample from
# In the deep image prior the image is $x = f_\theta(z)$ with $z$ a fixed random code. Drawing
# the weights $\theta$ at random, as the network's initialisation does, and looking at
# $f_\theta(z)$ shows which images the parametrisation produces *before* any data term pulls
# it towards an observation: a sample from the prior.
#
# **Which state of the network?** The paper shows the network in its initial state, that is
# in PyTorch's `train` mode, the mode every fit (`dip.solve`) uses: every BatchNorm layer normalises
# its channels with the statistics of the current input. That keeps the signal alive through
# the depth of the network and gives structured textures. In `eval` mode BatchNorm would use
# its untouched running statistics (mean 0, variance 1), i.e. do nothing; the activations
# shrink layer after layer and the output is a flat grey. We show both below, then use `train`
# mode. For display, each sample's contrast is stretched to $[0, 1]$ (one affine map for all
# channels, so hues are kept).

# %%
one = samples.prior_sample("skip-5", size=p.size, seed=p.seed, width=p.width, input_depth=p.input_depth, device=device)
grey = samples.prior_sample("skip-5", size=p.size, seed=p.seed, width=p.width, input_depth=p.input_depth,
                            batch_stats=False, stretch=False, device=device)
raw = samples.prior_sample("skip-5", size=p.size, seed=p.seed, width=p.width, input_depth=p.input_depth,
                           stretch=False, device=device)
dip.show({"train mode (raw sigmoid output)": raw, "train mode, contrast stretched": one,
          "eval mode (raw): flat grey": grey}, size=3.2);
print(f"std of the raw outputs: train mode {raw.std():.3f}, eval mode {grey.std():.4f}")

# %% [markdown]
# ## 2. Fig. 4: five architectures, two random $\theta$ each
# - **Hourglass-$k$**: an encoder-decoder with $k$ downsampling / upsampling scales and no skip
#   connections (`hourglass-1`, `hourglass-3`, `hourglass-5`);
# - **Skip-5**: the paper's default, 5 scales with skip connections (`skip-5`);
# - **Skip-5-nearest**: the same with nearest-neighbour instead of bilinear upsampling.
#
# `dip.build(name, seed=s)` draws $\theta$; $z$ = `dip.noise(...)` with the same seed. The seeds
# are `p.seed + k` for `k` in `p.seeds` (`DIP_SEED` shifts them all).

# %%
import matplotlib.pyplot as plt

ARCHS = ["hourglass-1", "hourglass-3", "hourglass-5", "skip-5", "skip-5-nearest"]
SEEDS = [p.seed + k for k in p.seeds]
grid = {}
for seed in SEEDS:
    for name in ARCHS:
        grid[(name, seed)] = samples.prior_sample(name, size=p.size, seed=seed, width=p.width,
                                                  input_depth=p.input_depth, device=device)
fig = dip.image_grid({f"{name}, θ seed {seed}": x for (name, seed), x in grid.items()}, ncols=len(ARCHS),
                     size=3.0, suptitle=f"Samples f_θ(z) from the prior ({p.size}px, preset '{p.name}')")
dip.gallery(fig, "02_prior_samples")
plt.show()

# %% [markdown]
# What to see: one scale gives almost pixel-level noise; every extra scale makes the structures
# larger and smoother; skip connections mix all the scales at once (fine and coarse detail
# together, like natural images); nearest upsampling leaves blocky, axis-aligned patterns (the
# same $\theta$ as Skip-5: only the upsampling differs). The **roughness** (mean difference
# between neighbouring pixels) puts numbers on it:

# %%
rough = {name: sum(samples.roughness(grid[(name, s)]) for s in SEEDS) / len(SEEDS) for name in ARCHS}
for name, r in rough.items():
    print(f"{name:15s} roughness {r:.3f}")

# %% [markdown]
# ## 3. Try it
# Choose the depth, switch skip connections on or off, the upsampling mode and the seed: the
# sample is redrawn at every change. The logic lives in `dip_lib.view.widgets.PriorSamplePanel`
# (the image is `panel.image`).

# %%
from dip_lib.view.widgets import PriorSamplePanel

panel = PriorSamplePanel(size=p.size, width=p.width or 128, input_depth=p.input_depth, seed=p.seed)
panel

# %% [markdown]
# **Exercises.** (1) Which depth gives the largest structures at this image size, and what
# happens when the coarsest scale is only 2×2 pixels? (2) Add skip connections to a depth-2
# network: does it look like Skip-5? (3) Which of these architectures would you expect to
# denoise best, and which to fit noise fastest? Check with notebook 01's `run_impedance(...,
# arch=...)`.
#
# ## 4. Checks (run by CI)
# The samples have the requested size, are reproducible under a seed and differ between seeds;
# depth makes them smoother (Hourglass-1 is much rougher than Hourglass-5); nearest and
# bilinear upsampling give different images from the same $\theta$; in eval mode the output is
# a near-constant grey while train mode gives a textured image; the widget redraws on change.

# %%
x = grid[("skip-5", SEEDS[0])]
assert x.shape == (1, 3, p.size, p.size)
dip.check("the same seed draws the same sample (PSNR of two draws)",
          dip.psnr(x, samples.prior_sample("skip-5", size=p.size, seed=SEEDS[0], width=p.width,
                                           input_depth=p.input_depth, device=device)), ">", 60, unit="dB")
dip.check("another seed draws another sample (largest pixel difference)",
          (grid[("skip-5", SEEDS[0])] - grid[("skip-5", SEEDS[1])]).abs().max(), ">=", 0.05)
dip.check("one scale is much rougher than five (roughness ratio hourglass-1 / hourglass-5)",
          rough["hourglass-1"] / rough["hourglass-5"], ">", 2.0)
dip.check("three scales are smoother than one (roughness ratio hourglass-1 / hourglass-3)",
          rough["hourglass-1"] / rough["hourglass-3"], ">", 1.0)
dip.check("five scales are smoother than three (roughness ratio hourglass-3 / hourglass-5)",
          rough["hourglass-3"] / rough["hourglass-5"], ">", 1.0)
dip.check("nearest and bilinear upsampling differ from the same θ (mean pixel difference)",
          (grid[("skip-5", SEEDS[0])] - grid[("skip-5-nearest", SEEDS[0])]).abs().mean(), ">", 0.01)
dip.check("eval mode is a flat grey (std ratio eval / train)", grey.std() / raw.std(), "<", 0.55)
before = panel.renders
panel.upsample.value = "nearest"
assert panel.renders == before + 1 and panel.image.shape == (1, 3, p.size, p.size)
