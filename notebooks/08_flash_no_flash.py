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
# # 08 · Flash / no-flash restoration
# **You will learn:**
# - how the code z can be an *image*: here the flash photograph (sharp, noise-free, harsh light);
# - how fitting f_θ(z) to the noisy no-flash photograph (soft ambient light, noisy) and stopping
#   early gives an image with the no-flash lighting and the flash image's clean edges;
# - how this compares with a classical joint filter, the guided filter (He et al., 2010);
# - how to *measure* "less noise, same light, flash edges" without a ground truth.
#
# | preset | where | run time |
# |---|---|---|
# | `test` | CI | ~31 s |
# | `cpu` | Binder / laptop | ~2.3 min ≈ 135 ref. steps |
# | `paper` | GPU (Colab) | ~2 min |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/v0.1.0/notebooks/08_flash_no_flash.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/v0.1.0?labpath=notebooks%2F08_flash_no_flash.ipynb)

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
from dip_lib.problems import baselines

p = dip.preset("flash")
device = dip.default_device()
print(p.describe(), "| device:", device)

# %% [markdown]
# ## The pair of photographs
# The paper's pair (Petschnigg et al. / Eisemann & Durand): the same scene with and without flash.

# %%
flash = dip.load_image("flash", size=p.size, multiple=32)
noflash = dip.load_image("noflash", size=p.size, multiple=32)
dip.show({"flash (z)": flash, "no flash (y)": noflash});

# %% [markdown]
# ## DIP with the flash image as the input
# `dip.flash_no_flash(flash, noflash)` is the problem A = I, y = the no-flash image, and its code
# z = the flash image (3 channels, `problem.code`): E = ||f_θ(z) − y||². There is no truth.
# The network starts from the flash image's structure and learns the no-flash colours
# long before it learns the no-flash noise; we stop at `p.steps`.

# %%
problem = dip.flash_no_flash(flash, noflash)
result = dip.solve(problem, p, callbacks=[dip.LiveView(reference=noflash)])
dip_out = result.image
print(f"{result.steps} steps in {result.seconds:.1f} s")

# %% [markdown]
# ## Baseline: the guided filter
# The joint (cross) filters of the flash/no-flash literature smooth the no-flash image with
# weights taken from the flash image. The guided filter is the fast linear version:
# `baselines.guided_filter(guide=flash, src=noflash, radius, eps)`.

# %%
RADIUS = max(2, flash.shape[-1] // 64)
guided = baselines.guided_filter(flash, noflash, radius=RADIUS, eps=1e-3)

fig = dip.image_grid({"(a) flash": flash, "(b) no flash": noflash,
                      f"(c) guided filter (r={RADIUS})": guided, "(d) deep image prior": dip_out},
                     ncols=4, size=3.5, suptitle="Flash / no-flash restoration")
dip.gallery(fig, "08_flash_no_flash")

# %% [markdown]
# ## Measuring the result without a ground truth
# There is no clean no-flash image, so we check the three things we want:
# - **less noise**: the estimated noise σ (wavelet MAD) is lower than the no-flash image's;
# - **the no-flash light**: after a box blur (which removes noise and detail) the result matches
#   the no-flash image (high low-pass PSNR), much better than the flash image does;
# - **the flash edges**: the gradients of the result correlate with those of the flash image
#   more than the noisy no-flash gradients do.

# %%
def scores(x):
    return dict(noise=255 * enhance.noise_sigma(x), light=enhance.lowpass_psnr(x, noflash),
                edges=enhance.edge_correlation(x, flash))


table = {"flash": scores(flash), "no flash": scores(noflash), "guided filter": scores(guided),
         "deep image prior": scores(dip_out)}
print(f"{'':18s} {'noise σ (/255)':>15s} {'light: low-pass PSNR (dB)':>27s} {'edges: corr. with flash':>24s}")
for name, s in table.items():
    print(f"{name:18s} {s['noise']:15.2f} {s['light']:27.2f} {s['edges']:24.3f}")

# %% [markdown]
# ## Try it
# Change the number of iterations, σ_p and the architecture. Run much longer (e.g. 4× the
# steps): the noise of the no-flash image comes back, the network has fitted it. What does
# `arch="encoder-decoder-2"` (no skip connections, shallow) do to the flash edges? And the guided
# filter's radius and eps?

# %%
STEPS = p.steps          # try 4 * p.steps
SIGMA_P = 0.0            # σ_p, e.g. 1/30
ARCH = "default"         # any of dip.ARCHITECTURES (with input depth 3)

try_result = dip.solve(problem, p, steps=STEPS, sigma_p=SIGMA_P, arch=ARCH)
print(scores(try_result.image))
dip.show({"no flash": noflash, f"DIP, {STEPS} steps, {ARCH}": try_result.image});

# %% [markdown]
# ## Checks (run by nbval in CI)
# - DIP's output has less than half the noise of the no-flash image;
# - it keeps the no-flash lighting: its low-pass PSNR against the no-flash image is ≥ 25 dB and
#   ≥ 10 dB above the flash image's;
# - its edges follow the flash image better than the no-flash image's do (by ≥ 0.05 in correlation).

# %%
d, nf, fl = table["deep image prior"], table["no flash"], table["flash"]
dip.check("DIP removes the no-flash noise (noise ratio DIP / no flash)", d["noise"] / nf["noise"], "<", 0.5)
dip.check("DIP keeps the no-flash lighting (low-pass PSNR to the no-flash image)", d["light"], ">=", 25, unit="dB")
dip.check("... far closer to it than the flash image is", d["light"] - fl["light"], ">=", 10, unit="dB")
dip.check("DIP's edges follow the flash image better than the no-flash image's (correlation gain)",
          d["edges"] - nf["edges"], ">=", 0.05)
print("checks passed")
