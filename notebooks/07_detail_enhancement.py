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
# # 07 · Detail enhancement
# **You will learn:**
# - that fitting f_θ(z) to a *clean* image x0 reproduces coarse structure first and fine detail last;
# - how stopping early at step t splits the image into a coarse layer x_c(t) and fine details x_f = x0 − x_c;
# - how boosting the details, x_e = x0 + k·x_f, gives the paper's detail-enhanced image;
# - how the choice of the stopping point sets the scale of what counts as "detail".
#
# | preset | where | run time |
# |---|---|---|
# | `test` | CI | ~26 s |
# | `cpu` | Binder / laptop | ~2.3 min ≈ 132 ref. steps |
# | `paper` | GPU (Colab) | ~3 min |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/v0.1.0/notebooks/07_detail_enhancement.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/v0.1.0?labpath=notebooks%2F07_detail_enhancement.ipynb)

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
from dip_lib.experiments import enhance

p = dip.preset("enhancement")
device = dip.default_device()
print(p.describe(), "| device:", device)
print("stopping points:", p.stops)

# %% [markdown]
# ## The clean image x0
# There is no degradation here: `dip.enhancement(x0)` is the problem A = I, y = x0 (and the truth
# is x0 too), so the energy is E = ||f_θ(z) − x0||². The settings have no σ_p perturbation and no
# averaging, so the output at step t is exactly what the network has learnt of x0 by then.

# %%
x0 = dip.load_image("zebra", size=p.size, multiple=32)
problem = dip.enhancement(x0)
dip.show({"x0": x0});

# %% [markdown]
# ## Fit x0 and keep the output at the stopping points
# `dip.solve` fits once, to the last stop, and a `dip.Snapshots` callback keeps the output x_c(t)
# at each stop (the fit checks every `dip.snapshot_every(p.stops, p.every)` steps so that it hits
# them all). The PSNR against x0 climbs: the network adds detail over time.

# %%
snaps = dip.Snapshots(p.stops)
result = dip.solve(problem, p, steps=max(p.stops), every=dip.snapshot_every(p.stops, p.every),
                   callbacks=[snaps, dip.LiveView(reference=x0)])
coarse = snaps.images   # {step: x_c}
for t, xc in coarse.items():
    print(f"step {t:5d}: PSNR(x_c, x0) = {dip.psnr(xc, x0):.2f} dB")

# %% [markdown]
# ## Coarse, fine, enhanced
# For each stop: x_c (the network's output), x_f = x0 − x_c (shown as 0.5 + x_f) and
# x_e = x0 + x_f. Early stops leave more in x_f, so the boost is stronger and coarser.

# %%
layers = enhance.decompose(x0, coarse, k=1.0)
panels = {}
for t, L in layers.items():
    panels[f"x_c, step {t}"] = L.coarse
    panels[f"x_f = x0 − x_c, step {t}"] = (0.5 + L.fine).clamp(0, 1)
    panels[f"x_e = x0 + x_f, step {t}"] = L.enhanced
fig = dip.image_grid(panels, ncols=3, size=3,
                     suptitle="coarse x_c | fine details x_f | enhanced x_e (one row per stopping point)")
dip.gallery(fig, "07_detail_enhancement")

# %% [markdown]
# How much fine detail is there? The mean squared Laplacian ("high-frequency energy") of x_c
# grows with the stop, and the boosted x_e has more of it than x0 itself.

# %%
hf0 = enhance.high_frequency_energy(x0)
print(f"high-frequency energy of x0: {hf0:.4f}")
for t, L in layers.items():
    print(f"step {t:5d}: x_c {enhance.high_frequency_energy(L.coarse):.4f} | "
          f"x_e {enhance.high_frequency_energy(L.enhanced):.4f}")

# %% [markdown]
# ## Try it
# `enhance.fit_coarse(x0, p, stops, ...)` does the fit above in one call. Change the stopping
# points, the boost factor k, the architecture (any of `dip.ARCHITECTURES`)
# or add a little σ_p, and re-run. Questions: which stop gives the most natural-looking boost?
# What happens with k = 2? With `arch="encoder-decoder-2"` (a shallow net) is the split different?

# %%
STOPS = p.stops          # e.g. (50, 200, 1000)
BOOST = 1.5              # k in x_e = x0 + k·x_f
ARCH = "default"         # e.g. "skip-5-nearest", "encoder-decoder-4"
SIGMA_P = 0.0            # σ_p, the perturbation of z at every step

try_result, try_coarse = enhance.fit_coarse(x0, p, stops=STOPS, arch=ARCH, sigma_p=SIGMA_P)
try_layers = enhance.decompose(x0, try_coarse, k=BOOST)
dip.show({f"x_e, k={BOOST}, step {t}": L.enhanced for t, L in try_layers.items()});

# %% [markdown]
# ## Checks (run by nbval in CI)
# - the coarse image gets closer to x0 as the stopping point grows (PSNR increases);
# - the first coarse image is really coarse: it has less high-frequency energy than x0;
# - the boosted image x_e has more high-frequency energy than x0.

# %%
psnrs = [dip.psnr(L.coarse, x0) for L in layers.values()]
for (t0, a), (t1, b) in zip(zip(layers, psnrs), zip(list(layers)[1:], psnrs[1:])):
    dip.check(f"x_c at step {t1} is closer to x0 than at step {t0}", b - a, ">", 0.5, unit="dB")
first = next(iter(layers.values()))
dip.check("the first x_c is coarse (its high-frequency energy / x0's)",
          enhance.high_frequency_energy(first.coarse) / hf0, "<", 0.5)
for t, L in layers.items():
    dip.check(f"x_e (step {t}) is boosted (its high-frequency energy / x0's)",
              enhance.high_frequency_energy(L.enhanced) / hf0, ">", 1.2)
print("checks passed:", [f"{v:.2f}" for v in psnrs])
