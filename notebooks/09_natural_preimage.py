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
# # 09 · Natural pre-image: what does a layer of AlexNet remember?
# **You will learn:**
# - how to invert a classifier: find an image x whose features Φ(x) match those of a photo x0
# - that the deep image prior works as a regulariser for this too: optimise θ of f_θ(z), not the pixels
# - how the DIP pre-image compares with the classic TV-regularised pre-image (Mahendran & Vedaldi, 2015)
# - how much of the photo survives at conv1 ... fc8 (paper Fig. 11)
#
# | preset | where | run time |
# |---|---|---|
# | `test` | CI | ~44 s (2 layers, random AlexNet weights) |
# | `cpu` | Binder / laptop | ~1.4 min ≈ 79 ref. steps (4 layers, random AlexNet weights) |
# | `paper` | GPU (Colab) | ~20 min (8 layers) |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/v0.1.0/notebooks/09_natural_preimage.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/v0.1.0?labpath=notebooks%2F09_natural_preimage.ipynb)

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
from dip_lib.core import features
from dip_lib.experiments import inversion

p = dip.preset("inversion")
device = dip.default_device()
print(p.describe(), "| device:", device)
print("layers inverted:", ", ".join(p.layers))

# %% [markdown]
# ## The classifier Φ: AlexNet
# `features.feature_net` builds AlexNet (the torchvision layout) and loads the published ImageNet
# weights from the cache folder, downloading them once when there is a network. A layer name
# means the activation **after the ReLU** (`conv1` ... `conv5`, `fc6`, `fc7`, as in Mahendran &
# Vedaldi); `fc8` is the class scores before the softmax.
#
# Without the weights (offline, or the `test` preset, which never downloads) the network keeps
# random weights: everything still runs and the optimisation still matches the features, but the
# pictures say nothing about what *AlexNet* has learned.

# %%
phi = features.feature_net("alexnet", pretrained=p.pretrained, input_size=p.feature_size, device=device)
weights_loaded = phi.pretrained
if weights_loaded:
    print("Φ = AlexNet with the published ImageNet weights")
else:
    print("=" * 78 + "\nNOTICE: AlexNet has RANDOM weights (no checkpoint loaded"
          + ("; the test preset never downloads" if not p.pretrained else "") + ").\n"
          f"Put {features.CHECKPOINTS['alexnet'].url}\ninto {features.cache_dir()} "
          "to see the real pre-images.\n" + "=" * 78)

# %% [markdown]
# ## The photo x0
# The paper's building image. The inversion network halves the resolution 6 times, so the side
# must be a multiple of 64 (and at least 128).

# %%
img = dip.load_image("building", size=p.size, multiple=64, device=device)
_ = dip.show({"x0 (building)": img}, size=3)

# %% [markdown]
# ## Inverting Φ with the deep image prior
# The problem is `dip.preimage(phi, img, layer)`: A = Φ_layer, y = Φ(x0), and the energy is the
# normalised feature distance E(x) = ||Φ(x) − Φ(x0)||² / ||Φ(x0)||². With the deep image prior
# x = f_θ(z) and `dip.solve` optimises θ (`inversion.fit_preimage` does both steps). The network is
# the paper's inversion net (`dip.build("inversion")`: 6 scales, kernels 7,7,5,5,3,3, zero
# padding, nearest upsampling).
#
# The baseline optimises the pixels themselves with a total-variation term, E(x) + λ·TV(x), on
# the same problem (`dip.baselines.tv_pixels`: `dip.solve` with `arch="pixels"`).

# %%
results = {}


def invert(layer, live=True):
    """DIP and TV pre-images of x0 at ``layer`` (cached in ``results``)."""
    if layer not in results:
        cb = [dip.LiveView(reference=img, title=f"DIP pre-image from {layer}")] if live else []
        r_dip = inversion.fit_preimage(phi, img, p, layer, callbacks=cb)
        r_tv = dip.baselines.tv_pixels(dip.preimage(phi, img, layer), p, tv_weight=p.tv_weight, steps=p.tv_steps,
                                       lr=p.tv_lr)
        results[layer] = dict(
            dip=r_dip, tv=r_tv,
            dip_initial=float(r_dip.losses[0]), dip_final=inversion.feature_error(phi, r_dip.image, img, layer),
            tv_initial=inversion.feature_error(phi, r_tv.image.new_full(img.shape, 0.5), img, layer),
            tv_final=inversion.feature_error(phi, r_tv.image, img, layer),
            psnr_dip=dip.psnr(r_dip.image, img.cpu()), psnr_tv=dip.psnr(r_tv.image, img.cpu()))
    return results[layer]


for layer in p.layers:
    r = invert(layer)
    print(f"{layer:>5}: feature loss DIP {r['dip_initial']:.3f} -> {r['dip_final']:.4f} "
          f"({r['dip'].seconds:.0f} s) | TV {r['tv_initial']:.3f} -> {r['tv_final']:.4f} "
          f"| PSNR vs x0: DIP {r['psnr_dip']:.1f} dB, TV {r['psnr_tv']:.1f} dB")

# %% [markdown]
# ## The paper's figure
# Left to right: deeper layers. In the paper (Fig. 11, real AlexNet weights) the conv layers give
# back the photo almost exactly; from fc6 on only the "gist" survives: the DIP pre-images keep
# a natural look (building-like structures) where the TV pre-images turn into textured noise.

# %%
fig = inversion.comparison_figure(
    {"Deep image prior": {l: results[l]["dip"].image for l in p.layers},
     "TV prior": {l: results[l]["tv"].image for l in p.layers}},
    image=img, image_title="x0",
    suptitle="Pre-images of AlexNet layers" + ("" if weights_loaded else " (RANDOM weights)"))
dip.gallery(fig, "09_preimage")

# %%
ax = dip.plot_history({l: results[l]["dip"].history for l in p.layers}, key="loss")
_ = ax.set_title("DIP: feature loss ||Φ(x) − Φ(x0)||² / ||Φ(x0)||² per layer")

# %% [markdown]
# ## Try it
# Pick a layer: the ones above are shown at once, any other is computed when you choose it
# (about as long as one layer above). Exercises:
# 1. Raise `p.tv_weight` (e.g. `p = dip.preset("inversion", tv_weight=20)`): when does the TV
#    pre-image stop matching the features?
# 2. Replace the inversion net by the default net (`inversion.fit_preimage(phi, img, p, "fc6",
#    arch="default")`): does the architecture change the pre-image?
# 3. Invert VGG-16 (`features.feature_net("vgg16")`, a GPU is advised) at `conv5_3`.

# %%
def show_layer(option):
    r = invert(option, live=False)
    dip.show({"x0": img, f"DIP, {option}": r["dip"].image, f"TV, {option}": r["tv"].image}, size=3)


paper_layers = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
_ = inversion.browse(paper_layers, show_layer, "layer", value=p.layers[0])

# %% [markdown]
# ## Checks (run by nbval in CI)
# - whatever the weights, the DIP pre-image matches the target features: the final feature loss
#   is well below the initial one (below `p.max_loss_ratio` of it: half in the `cpu` and `paper`
#   presets; 0.85 in the `test` preset, whose 50 steps with random weights left the conv2 loss at
#   0.32-0.53 of its start over the portability matrix), and so does the TV pre-image;
# - the outputs are images of the right size in [0, 1];
# - only with the real AlexNet weights: the pre-image from the first layer is closer to the photo
#   (PSNR) than the one from the last layer — deeper layers forget more.

# %%
for layer in p.layers:
    r = results[layer]
    dip.check(f"{layer}: the DIP pre-image matches the features (final / initial feature loss)",
              r["dip_final"] / r["dip_initial"], "<", p.max_loss_ratio)
    dip.check(f"{layer}: the TV pre-image matches them too (final / initial feature loss)",
              r["tv_final"] / r["tv_initial"], "<", p.max_loss_ratio)
    for x in (r["dip"].image, r["tv"].image):
        assert x.shape == img.shape and float(x.min()) >= 0 and float(x.max()) <= 1
if weights_loaded and len(p.layers) > 1:
    first, last = results[p.layers[0]], results[p.layers[-1]]
    dip.check(f"deeper layers forget more: {p.layers[0]}'s pre-image is closer to the photo than {p.layers[-1]}'s",
              first["psnr_dip"] - last["psnr_dip"], ">", 0.0, unit="dB")
print("checks passed" + ("" if weights_loaded else " (random weights: the real-weights checks were skipped)"))
