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
# # 10 · Activation maximisation: what does AlexNet think a "black swan" looks like?
# **You will learn:**
# - how to make an image that a classifier scores as a chosen class: maximise its fc8 score
# - that the deep image prior is a regulariser here too: x = f_θ(z), optimise θ (paper Figs. 13-14)
# - how it compares with optimising the pixels under a TV prior (Mahendran & Vedaldi, 2015)
# - why "the score went up" is not the same as "the picture shows the class"
#
# | preset | where | run time |
# |---|---|---|
# | `test` | CI | ~40 s (1 class, random AlexNet weights) |
# | `cpu` | Binder / laptop | ~1.3 min ≈ 77 ref. steps (3 classes, random AlexNet weights) |
# | `paper` | GPU (Colab) | ~20 min (6 classes) |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/v0.1.0/notebooks/10_activation_maximization.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/v0.1.0?labpath=notebooks%2F10_activation_maximization.ipynb)

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

p = dip.preset("activation")
device = dip.default_device()
print(p.describe(), "| device:", device)

# %% [markdown]
# ## The classifier Φ and the class names
# AlexNet (torchvision layout) with the published ImageNet weights when they are cached or can
# be downloaded; `fc8` is the vector of 1000 class scores *before* the softmax. The class names
# come from the paper's `imagenet1000_clsid_to_human.txt` (a Python dict literal, read with
# `ast.literal_eval`). In the `test` preset, or offline, the weights are random: the code runs and
# the score still goes up, but the pictures mean nothing.

# %%
phi = features.feature_net("alexnet", layer="fc8", pretrained=p.pretrained, input_size=p.feature_size,
                           device=device)
weights_loaded = phi.pretrained
if weights_loaded:
    print("Φ = AlexNet with the published ImageNet weights")
else:
    print("=" * 78 + "\nNOTICE: AlexNet has RANDOM weights (no checkpoint loaded"
          + ("; the test preset never downloads" if not p.pretrained else "") + ").\n"
          f"Put {features.CHECKPOINTS['alexnet'].url}\ninto {features.cache_dir()} "
          "to see real class visualisations.\n" + "=" * 78)
classes = features.imagenet_classes()
names = {c: classes[c].split(",")[0] for c in p.classes}
print("classes:", ", ".join(f"{c} ({n})" for c, n in names.items()))

# %% [markdown]
# ## Maximising a class score
# The problem is `inversion.activation_problem(phi, c, shape)` (`dip.activation_maximization`
# with its unit set): the energy is E(x) = −Φ_c(x)/s, minus the fc8 score of class c (s, the
# spread of the scores on a noise image, only sets the unit). With the deep image prior
# x = f_θ(z) (the paper's inversion net) `dip.solve` optimises θ (`inversion.fit_activation`);
# the baseline optimises the pixels of the same problem with E(x) + λ·TV(x)
# (`dip.baselines.tv_pixels`). Both images stay in [0, 1] (a sigmoid), which bounds the contrast.

# %%
results = {}
s = inversion.activation_scale(phi, (p.size, p.size))


def visualise(c, live=True):
    """DIP and TV images for class ``c`` (cached in ``results``)."""
    if c not in results:
        cb = [dip.LiveView(title=f"DIP, class {c} ({classes[c].split(',')[0]})")] if live else []
        shape = (p.size, p.size)
        r_dip = inversion.fit_activation(phi, c, p, shape, callbacks=cb)
        r_tv = dip.baselines.tv_pixels(inversion.activation_problem(phi, c, shape), p, tv_weight=p.tv_weight,
                                       steps=p.tv_steps, lr=p.tv_lr)
        results[c] = dict(dip=r_dip, tv=r_tv, dip_initial=-float(r_dip.losses[0]) * s,
                          dip_final=inversion.class_score(phi, r_dip.image, c),
                          tv_initial=inversion.class_score(phi, r_tv.image.new_full((1, 3, p.size, p.size), 0.5), c),
                          tv_final=inversion.class_score(phi, r_tv.image, c),
                          top_dip=int(phi(r_dip.image.to(device)).argmax()),
                          top_tv=int(phi(r_tv.image.to(device)).argmax()))
    return results[c]


for c in p.classes:
    r = visualise(c)
    print(f"{names[c]:>14}: score DIP {r['dip_initial']:.3g} -> {r['dip_final']:.3g} ({r['dip'].seconds:.0f} s), "
          f"top-1 '{classes[r['top_dip']].split(',')[0]}' | TV {r['tv_initial']:.3g} -> {r['tv_final']:.3g}, "
          f"top-1 '{classes[r['top_tv']].split(',')[0]}'")

# %% [markdown]
# ## The paper's figure
# One column per class; top row the deep image prior, bottom row the TV prior. In the paper
# (Figs. 13-14, real weights) the DIP images show recognisable parts of the class (swan necks,
# burger layers) at many scales, with fewer of the high-frequency patterns that fool the
# classifier than the TV images.

# %%
fig = inversion.comparison_figure(
    {"Deep image prior": {names[c]: results[c]["dip"].image for c in p.classes},
     "TV prior": {names[c]: results[c]["tv"].image for c in p.classes}},
    suptitle="Activation maximisation, AlexNet fc8" + ("" if weights_loaded else " (RANDOM weights)"))
dip.gallery(fig, "10_activation_maximization")

# %%
import matplotlib.pyplot as plt

fig2, ax = plt.subplots(figsize=(6, 3.5))
for c in p.classes:
    h = results[c]["dip"].history
    ax.plot(h["step"], [-v * s for v in h["loss"]], label=f"DIP, {names[c]}")
ax.set_xlabel("iteration")
ax.set_ylabel("fc8 score Φ_c(x)")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## Try it
# Pick any ImageNet class: the ones above show at once, another is computed when chosen (about
# as long as one class above). Exercises:
# 1. With the real weights, check `results[c]["top_dip"]`: is the image classified as c? Does it
#    *look* like c? Why can both differ?
# 2. Change `p.tv_weight` (e.g. `p = dip.preset("activation", tv_weight=50)`) and compare.
# 3. Turn on the input perturbation σ_p (`p = dip.preset("activation", sigma_p=0.03)`, as the
#    paper preset does): does it remove high-frequency artefacts?

# %%
def show_class(option):
    r = visualise(option, live=False)
    dip.show({f"DIP, {classes[option].split(',')[0]}": r["dip"].image,
              f"TV, {classes[option].split(',')[0]}": r["tv"].image}, size=3)


_ = inversion.browse([(f"{i}: {v.split(',')[0]}", i) for i, v in classes.items()], show_class, "class",
                     value=p.classes[0])

# %% [markdown]
# ## Checks (run by nbval in CI)
# - whatever the weights, the chosen class score grows, with the deep image prior and with TV;
# - the outputs are images of the right size in [0, 1];
# - only with the real AlexNet weights: the DIP image is classified as the chosen class (top-1 of
#   fc8) for most of the classes.

# %%
for c in p.classes:
    r = results[c]
    dip.check(f"class {c}: DIP raises the class score (final - initial)", r["dip_final"] - r["dip_initial"], ">", 0.0)
    dip.check(f"class {c}: TV raises it too (final - initial)", r["tv_final"] - r["tv_initial"], ">", 0.0)
    for x in (r["dip"].image, r["tv"].image):
        assert x.shape == (1, 3, p.size, p.size) and float(x.min()) >= 0 and float(x.max()) <= 1
if weights_loaded:
    hits = sum(results[c]["top_dip"] == c for c in p.classes)
    dip.check("most DIP images are top-1 for their class (count)", hits, ">=", (len(p.classes) + 1) // 2)
print("checks passed" + ("" if weights_loaded else " (random weights: the real-weights checks were skipped)"))
