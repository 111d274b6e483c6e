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
# # 11 · Architecture ablations: which part of the network is the prior?
# **You will learn:**
# - that the prior of Deep Image Prior *is* the architecture of f_θ: change the network and the
#   restoration changes, with no data and no training set involved;
# - what depth (number of scales), skip connections and the upsampling mode do to the speed of
#   the fit and to the quality of the restored image;
# - how to run a grid of configurations with `dip.sweep` and compare them in a table and in
#   PSNR-vs-iteration curves;
# - that a network with *fewer parameters than the image has pixels*, the Deep Decoder of
#   Heckel & Hand (ICLR 2019), is a prior too, and one that overfits the noise far less;
# - how to explore interactively with the ablation panel (network, depth, skips, upsampling,
#   width, code z, learning rate, σ_p, iterations).
#
# | preset | where | run time |
# |---|---|---|
# | `test` | CI | ~1.8 min |
# | `cpu` | Binder / laptop | ~3.5 min ≈ 204 ref. steps |
# | `paper` | GPU (Colab) | ~20 min |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/v0.1.0/notebooks/11_architecture_ablations.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/v0.1.0?labpath=notebooks%2F11_architecture_ablations.ipynb)

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
import matplotlib.pyplot as plt
from IPython.display import display
import dip_lib as dip
from dip_lib.experiments.ablation import input_psnr, peak_drop
from dip_lib.view.widgets import AblationPanel

p = dip.preset("ablation")
device = dip.default_device()
print(p.describe(), "| device:", device)

# %% [markdown]
# ## The knobs
# Every network here is the hourglass of the paper (`dip.SkipConfig`, built by `dip.skip`) with
# the same number of filters `width` at every scale. An ablation (`dip.Ablation`) names the knobs:
#
# | knob | values | in `SkipConfig` |
# |---|---|---|
# | `depth` | 1-6 scales | `n_down = n_up = [width] * depth` |
# | `skip` | `none` | `n_skip = [0] * depth`: a plain encoder-decoder |
# | | `1x1` | `n_skip = [k] * depth`, `k_skip = 1`: the paper's thin 1x1 skips (k = `skip_width`, 4 in the paper) |
# | | `full` ("U-Net-like") | `n_skip = [width] * depth`, `k_skip = 3`: each scale passes as many 3x3 features across as it sends down |
# | `upsample` | `nearest`, `bilinear` | `upsample` |
# | `input` | `noise`, `meshgrid` | the code z (`dip.make_input`) |
# | `lr`, `sigma_p`, `steps` | | Adam's learning rate, σ_p (perturbation of z), iterations of `dip.solve` |
# | `network` | `hourglass`, `deep_decoder` | the hourglass above, or the Deep Decoder (last section) |
#
# The preset fixes the image size, the width and the iteration count, so all runs below are
# compared **at equal steps**.

# %% [markdown]
# ## The task
# One problem for every configuration: denoising (σ = 25) or inpainting (half of the pixels
# dropped at random). Change `TASK` to `"inpainting"` and run the notebook again.

# %%
TASK = "denoising"   # or "inpainting"
problem = dip.ablation_problem(TASK, "F16", size=p.size, seed=p.seed)
observed_psnr = input_psnr(problem)
print(f"{TASK}: {problem.size} image, the observation has PSNR {observed_psnr:.2f} dB")
dip.show({"clean x0": problem.truth, f"observed y ({observed_psnr:.1f} dB)": problem.observation});

# %% [markdown]
# ## One configuration, with the live view
# The baseline is the paper's network shape: `skip_depth` scales with 1x1 skip connections of
# width 4 and bilinear upsampling. `dip.run_ablation` fits the configuration with `dip.solve`
# (the preset `p` gives what the configuration does not set, such as the depth of the code z)
# and caches the result, so the sweeps below will not fit it again.

# %%
base = dip.Ablation.from_preset(p, depth=p.skip_depth)
print(base, "\n", base.skip_config(in_channels=p.input_depth))
run = dip.run_ablation(base, problem, callbacks=[dip.LiveView(reference=problem.observation, title=base.label)],
                       base=p)
print(f"PSNR {run.row['psnr']:.2f} dB after {base.steps} steps ({run.row['seconds']:.1f} s), "
      f"{run.row['params']:,} parameters")

# %% [markdown]
# ## Depth: how many scales?
# A depth-1 network sees only a small neighbourhood of each pixel and barely constrains the
# image; each extra scale halves the resolution once more and lets the network model larger
# structures. `dip.sweep` runs the configurations one after the other and returns a table.

# %%
by_depth = dip.sweep(problem, base, base=p, depth=list(p.depths), verbose=True)
by_depth

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
by_depth.plot("psnr", ax=axes[0], reference=observed_psnr)
by_depth.plot("loss", ax=axes[1])
axes[0].set_title("PSNR of the output vs iteration")
axes[1].set_title("loss E(f_θ(z)) vs iteration")
plt.show()

# %% [markdown]
# ## Skip connections: none, 1x1, U-Net-like
# Skip connections let fine detail bypass the bottleneck. That makes the network fit the
# observation **faster** (lower loss at equal steps), including its noise: the wider the skips,
# the weaker the prior. The paper uses thin 1x1 skips for most tasks and none for large holes.

# %%
by_skip = dip.sweep(problem, base, base=p, skip=["none", "1x1", "full"], verbose=True)
by_skip

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
by_skip.plot("loss", ax=axes[0])
by_skip.plot("psnr", ax=axes[1], reference=observed_psnr)
axes[0].set_title("loss vs iteration: skips fit faster")
axes[1].set_title("PSNR vs iteration")
plt.show()
dip.show({f"{r.row['skip']} ({r.row['psnr']:.1f} dB)": r.image for r in by_skip.runs}, size=3);

# %% [markdown]
# ## Upsampling and the code z
# Nearest-neighbour upsampling copies each coarse pixel into a 2x2 block; bilinear
# interpolates, a smoother prior. A meshgrid code (2 channels: x and y) instead of noise
# removes the randomness of z. (These two sweeps run in the `cpu` and `paper` presets; the
# `test` preset skips them to keep CI fast.)

# %%
if p.explore:
    explored = dip.sweep(problem, [base.replace(upsample="nearest"), base.replace(input="meshgrid")], base=p,
                         verbose=True)
    display(dip.Table([run] + explored.runs))
else:
    explored = dip.Table()
    print("preset", p.name, "skips the upsampling and input sweeps (set explore=True to run them)")

# %% [markdown]
# ## All runs side by side
# Every finished configuration, with the PSNR of the output after the last step (`psnr`), of
# the running average (`psnr_ema`), the best PSNR along the way and when it was reached.

# %%
seen, runs = set(), []
for r in by_depth.runs + by_skip.runs + explored.runs:
    if r.config not in seen:
        seen.add(r.config)
        runs.append(r)
everything = dip.Table(runs)
print(everything.to_markdown(["depth", "skip", "upsample", "input", "params", "loss", "psnr", "psnr_ema",
                              "best_psnr", "best_step", "seconds"]))

# %%
fig = plt.figure(figsize=(14, 6.5))
images = [("observed", problem.observation)] + [(f"d{r.config.depth} {r.row['skip']} {r.config.upsample[:4]} "
                                           f"{r.config.input}\n{r.row['psnr']:.1f} dB", r.image) for r in runs]
ncols = min(len(images), 6)
nrows = (len(images) + ncols - 1) // ncols
for i, (title, im) in enumerate(images):
    ax = fig.add_subplot(nrows + 1, ncols, i + 1)
    ax.imshow(im[0].permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_title(title, fontsize=8)
    ax.axis("off")
ax = fig.add_subplot(nrows + 1, 1, nrows + 1)
everything.plot("psnr", ax=ax, reference=observed_psnr)
ax.set_title(f"{TASK}: PSNR vs iteration for every configuration ({p.name} preset)")
fig.tight_layout()
dip.gallery(fig, "11_architecture_ablations")
plt.show()

# %% [markdown]
# ## DIP against the Deep Decoder
# The hourglass of deep image prior has far **more** parameters than the image has pixel values
# (at 512x512 the paper's network has 2.2 million for 786,432 values): given enough steps it can
# reproduce any image, noise included, and only the order in which it fits things (structure
# first, noise last) makes it a prior, hence early stopping. The Deep Decoder of Heckel & Hand
# (ICLR 2019, `dip.build("deep_decoder")`) turns this around: 6 layers of 1x1 convolutions,
# bilinear upsampling and channel normalisation, no spatial kernels, no skips, and **fewer**
# parameters than pixel values. It is fitted like DIP, from a fixed noise code z (`width` x H/32
# x W/32) and without perturbing z (σ_p = 0, as Heckel & Hand do): `network="deep_decoder"` in
# `dip.Ablation`.
#
# First the parameter counts against the number of values to explain, H·W·3. (The test preset's
# 64 px image has only 12,288 values, so there the Deep Decoder gets `p.dd_width` = 32 channels
# instead of 64 to stay under-parameterised.)

# %%
hourglass = base.replace(steps=p.dd_steps)
decoder = dip.Ablation.from_preset(p, network="deep_decoder", width=p.dd_width or 64, steps=p.dd_steps)
h, w = problem.size
pixels = h * w * problem.channels
params = {"hourglass (DIP)": dip.count_parameters(hourglass.build(p.input_depth)),
          "Deep Decoder": dip.count_parameters(decoder.build())}
rows = [("hourglass (DIP), " + hourglass.label.split(" lr")[0], params["hourglass (DIP)"], pixels),
        ("Deep Decoder, " + decoder.label.split(" noise")[0], params["Deep Decoder"], pixels),
        ("the paper's DIP network (`dip.build('default')`), 512 px", dip.count_parameters(dip.build("default")),
         512 * 512 * 3),
        ("Deep Decoder 6x64 (`dip.build('deep_decoder')`), 512 px", dip.count_parameters(dip.build("deep_decoder")),
         512 * 512 * 3)]
print("| network | parameters | pixel values H·W·3 | parameters per value |\n|---|---|---|---|")
for name, n, values in rows:
    print(f"| {name} | {n:,} | {values:,} | {n / values:.2f} |")

# %% [markdown]
# Now both fitted to the same noisy image for `p.dd_steps` iterations, well past the step where
# the hourglass is best. The hourglass climbs fast, peaks, then its PSNR falls as it starts to
# reproduce the noise; the Deep Decoder climbs more slowly and, lacking the parameters to
# represent the noise, keeps (nearly) its best PSNR to the end. The raw output of the Deep
# Decoder (σ_p = 0) jitters by a few tenths of a dB from check to check, so the comparison uses
# what both fits also keep, the running average of their outputs (EMA): its drop from its own
# peak to the last step says how much each has started to fit the noise. (Measured over the
# portability matrix: with the raw last output, the comparison flipped with the thread count.)

# %%
versus = dip.sweep(problem, [hourglass, decoder], base=p, verbose=True)
curves = {name: r.history for name, r in zip(params, versus.runs)}
peak = {name: max(h["psnr"]) for name, h in curves.items()}
peak_step = {name: h["step"][h["psnr"].index(peak[name])] for name, h in curves.items()}
last = {name: h["psnr"][-1] for name, h in curves.items()}
drop = {name: peak[name] - last[name] for name in curves}
avg_drop = {name: peak_drop(h) for name, h in curves.items()}   # the same for their running averages
print(versus.to_markdown(["network", "width", "sigma_p", "steps", "params", "psnr", "best_psnr", "seconds"]))
for name in curves:
    print(f"{name:>16}: peak {peak[name]:.2f} dB at step {peak_step[name]}, last {last[name]:.2f} dB "
          f"(drop {drop[name]:.2f} dB; running average: drop {avg_drop[name]:.2f} dB) | {params[name]:,} parameters "
          f"for {pixels:,} pixel values")

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), gridspec_kw={"width_ratios": [2, 1, 1]})
dip.plot_history(curves, key="psnr", ax=axes[0], reference=observed_psnr)
for name in curves:
    axes[0].axvline(peak_step[name], ls=":", color="grey")
axes[0].set_title(f"{TASK}: PSNR vs iteration, DIP against the Deep Decoder")
for ax, (name, r) in zip(axes[1:], zip(params, versus.runs)):
    ax.imshow(r.image[0].permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_title(f"{name}, step {r.row['steps']}\n{r.row['psnr']:.1f} dB (peak {peak[name]:.1f} dB)", fontsize=9)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Try it
# Set the knobs and press **fit**: the live view shows the fit, the finished configuration is
# added to the table and to the PSNR plot. Configurations already fitted (including those of
# the sweeps above) come back instantly from the cache. Ideas:
# - depth 1 against depth 5 (at 64 px the bottleneck of depth 5 is 2x2 pixels);
# - `full` skips with many iterations: watch the PSNR rise, peak and fall as the noise is fitted;
# - σ_p = 0 against σ_p = 0.05; a 10x larger learning rate;
# - the inpainting task with `meshgrid` input and no skips;
# - the Deep Decoder (**network**) with 16, 32 and 64 channels: when does it stop fitting the noise?

# %%
panel = AblationPanel(p, task=TASK, depth=p.skip_depth)
panel.fit()   # the baseline: cached, so instant
panel

# %% [markdown]
# ## Checks (run by CI in the `test` preset)
# - every configuration restores the image: it beats the observation by at least 1.5 dB;
# - skip connections make the network fit faster: at equal steps the loss is lowest with
#   U-Net-like skips, then 1x1 skips, and highest with none;
# - depth matters: a deeper network restores better than a single scale at equal steps;
# - the Deep Decoder has fewer parameters than the image has pixel values, the hourglass more;
# - run past its best step, the hourglass overfits (the PSNR of its running average falls by more
#   than 0.25 dB from its peak) and the Deep Decoder's running average loses less of its peak.

# %%
for r in everything:
    what = (f"depth {r['depth']}, skips {r['skip']}, {r['upsample']}, {r['input']}" if r["network"] == "hourglass"
            else f"Deep Decoder, width {r['width']}")
    dip.check(f"{what}, {r['steps']} steps: restores the image (gain over the observation)",
              r["psnr"] - observed_psnr, ">", 1.5, unit="dB")

# %%
loss = {r["skip"].split("·")[0]: r["loss"] for r in by_skip}
print(loss)
dip.check("U-Net-like skips fit faster than 1x1 skips (loss ratio 1x1 / full)", loss["1x1"] / loss["full"], ">", 1.0)
dip.check("1x1 skips fit faster than none (loss ratio none / 1x1)", loss["none"] / loss["1x1"], ">", 1.0)

# %%
psnr_by_depth = {r["depth"]: r["psnr"] for r in by_depth}
print({d: round(v, 2) for d, v in psnr_by_depth.items()})
deeper = max(v for d, v in psnr_by_depth.items() if d > 1)
dip.check("a deeper network restores better than one scale", deeper - psnr_by_depth[1], ">", 0.3, unit="dB")

# %%
print(params, pixels, {k: round(v, 2) for k, v in avg_drop.items()})
assert params["Deep Decoder"] < pixels < params["hourglass (DIP)"], (params, pixels)
dip.check("run past its best step, the hourglass overfits (drop of its running average)", avg_drop["hourglass (DIP)"],
          ">", 0.25, unit="dB")
dip.check("the Deep Decoder's running average loses less of its peak than the hourglass's (difference of drops)",
          avg_drop["hourglass (DIP)"] - avg_drop["Deep Decoder"], ">", 0.0, unit="dB")
