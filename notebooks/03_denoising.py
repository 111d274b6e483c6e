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
# # 03 · Denoising
# **You will learn:**
# - how the deep image prior denoises: fit $x = f_\theta(z)$ to the noisy image $y$ with
#   $E(x; y) = \|x - y\|^2$ and **stop early**, before the network fits the noise;
# - why the paper perturbs the code ($z + \sigma_p n$ at every step) and averages the outputs (EMA);
# - that averaging two independent runs helps further;
# - how DIP compares with non-local means, total variation and CBM3D on the paper's F16 image;
# - how to choose the stopping point when there is **no clean image** (blind denoising).
#
# | preset | where | run time |
# |---|---|---|
# | `test` | CI | ~40 s |
# | `cpu` | Binder / laptop | ~3.8 min ≈ 218 ref. steps |
# | `paper` | GPU (Colab) | ~4 min |
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/dip-kit/deep-image-prior-kit/blob/v0.1.0/notebooks/03_denoising.ipynb)
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/dip-kit/deep-image-prior-kit/v0.1.0?labpath=notebooks%2F03_denoising.ipynb)

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

p = dip.preset("denoising")
device = dip.default_device()
print(p.describe(), "| device:", device)

# %% [markdown]
# ## 1. The paper's image and its noise
# F16 with additive white Gaussian noise of standard deviation $\sigma = 25$ (on the 0-255
# scale), clipped to $[0, 1]$ like a saved image.

# %%
SIGMA = p.sigma / 255
clean = dip.load_image("F16", size=p.size, multiple=32)
problem = dip.denoising(clean, sigma=p.sigma, seed=p.seed)   # y = x0 + n; the truth x0 only scores the fit
noisy = problem.observation
psnr_noisy = dip.psnr(noisy, clean)
dip.show({"clean": clean, f"noisy, σ=25: {psnr_noisy:.2f} dB": noisy});

# %% [markdown]
# ## 2. Fit $f_\theta(z)$ to the noisy image
# One call: `dip.solve(problem, p)` builds the paper's hourglass network and the code $z$, and
# fits $f_\theta(z)$ to $y$ for `p.steps` iterations with $\sigma_p$ = `p.sigma_p` and an
# exponential average of the outputs (decay `p.ema`). The paper averages **two independent runs**
# (another random $z$ and initialisation of $\theta$): `runs=p.restarts` fits them together, in one
# loop (on a GPU in one batched pass, so two runs cost much less than twice one; on a CPU side by
# side in two threads, which still costs almost twice one); the curves follow
# the mean of the runs. The clean image in the problem is used
# **only** to draw the PSNR curve; the fit never sees it. `early_stop="watch"` also records the
# variance of the recent outputs and where it would have stopped (section 5 explains why).
# The convolutions run in the precision and memory layout that a one-off probe measured fastest
# on this machine (bf16 and/or channels_last where they pay; the line below prints which;
# `precision=` in the settings, `'fp32'` forces plain fp32).

# %%
run1 = dip.solve(problem, p, device=device, runs=p.restarts, early_stop="watch",
                 progress=f"{p.restarts} runs", callbacks=[dip.LiveView(reference=noisy)])
last, avg = run1.runs[:1], run1.runs_ema[:1]          # run 1's own last output and running average
print(f"{run1.steps} steps of {p.restarts} runs in {run1.seconds:.0f} s ({run1.precision}); run 1: last output "
      f"{dip.psnr(last, clean):.2f} dB, average {dip.psnr(avg, clean):.2f} dB (noisy input {psnr_noisy:.2f} dB)")

# %% [markdown]
# (The curves are those of the mean of the runs.) The PSNR of the raw output rises fast, flattens out and would eventually fall as the network
# starts to reproduce the noise; the perturbation $\sigma_p$ slows that down a lot (in the short
# `test` and `cpu` presets the raw output is usually still creeping up at the last step, and with
# the paper's 1800 steps it is still near its peak). The running average starts low (it still
# remembers the first, blurry outputs) but once it has warmed up it is smoother and **higher** than
# the last output: $\sigma_p$ makes successive outputs differ a little, and averaging them cancels
# part of what is left of the noise. The checks at the end verify that it ends above the last output.

# %%
import matplotlib.pyplot as plt

ax = dip.plot_history({"output f_θ(z)": run1.history}, "psnr", reference=psnr_noisy, reference_label="noisy input")
dip.plot_history({"running average (EMA 0.99)": run1.history}, "psnr_ema", ax=ax)
ax.set_ylabel("PSNR (dB)")
ax.set_title("F16, σ = 25")
dip.gallery(ax.figure, "03_denoising_curve")
plt.show()

# %% [markdown]
# ## 3. Two independent runs
# Each run (another random $z$ and initialisation of $\theta$) makes different errors, and
# averaging cancels part of them. The mean is never worse than the weaker run (the squared error
# of a mean is at most the mean of the squared errors), so that is no lesson; the lesson is that it
# beats the *better* run, which the `cpu` and `paper` presets check (`p.min_gain_restarts`). In the
# short `test` preset one run can be almost 1 dB better than the other, and the mean then lands
# between them.

# %%
two_runs = run1.ema_image                      # the mean of the runs' running averages
for name, x in [*[(f"run {i + 1}, average", run1.runs_ema[i:i + 1]) for i in range(len(run1.runs_ema))],
                ("mean of the runs", two_runs)]:
    print(f"{name:22s} {dip.psnr(x, clean):.2f} dB")

# %% [markdown]
# ## 4. Beside the classical denoisers
# Non-local means and total variation come from scikit-image; CBM3D from the optional `bm3d`
# package (free for non-commercial use: `pip install bm3d`). The paper's numbers are averages
# over its 9 colour test images at $\sigma = 25$, as quoted in the paper's text (not F16
# alone, and with the full-size images and networks of the `paper` preset;
# `python -m dip_lib reproduce denoising` runs the whole set).

# %%
results = {"noisy": noisy,
           "non-local means": baselines.nlm(noisy, SIGMA),
           "TV": baselines.tv_denoise(noisy)}
try:
    results["CBM3D"] = baselines.cbm3d(noisy, SIGMA)
except baselines.MissingOptionalDependency as err:
    print(err)
results["DIP, last output"] = last
results["DIP, average"] = avg
results["DIP, 2 runs"] = two_runs
scores = {name: dip.psnr(x, clean) for name, x in results.items()}

# the paper's 9-image averages at sigma=25 (dip_lib/paper_numbers.py holds them with their source)
from dip_lib.paper.numbers import paper_psnr
PAPER = {name: paper_psnr("denoising", "CBM3D9", None, method) for name, method in
         [("DIP, last output", "DIP last"), ("DIP, average", "DIP EMA"), ("DIP, 2 runs", "DIP"),
          ("non-local means", "NLM"), ("CBM3D", "CBM3D")]}
print(f"{'method':18s} {'here':>8s} {'paper':>8s}")
for name, v in scores.items():
    print(f"{name:18s} {v:8.2f} " + (f"{PAPER[name]:8.2f}" if name in PAPER else f"{'-':>8s}"))

# %%
panels = {"clean F16": clean}
panels.update({f"{name}\n{scores[name]:.2f} dB": x for name, x in results.items()})
fig = dip.image_grid(panels, ncols=4, suptitle=f"Denoising, σ = 25 (preset '{p.name}')")
dip.gallery(fig, "03_denoising")
plt.show()

# %% [markdown]
# ## 5. Blind denoising: when to stop without the clean image?
# On a real photograph there is no clean image, hence no PSNR curve to read the peak from.
# One ground-truth-free signal (Wang et al., *Early stopping for deep image prior*, 2023):
# while the network is still learning the image its outputs change a lot; once the image is
# learnt they settle, and they start to drift again when the network begins to fit the
# noise. The **windowed variance** of the last `p.es_window` outputs (ES-WMV) therefore has a
# minimum near the best stopping point: `early_stop="stop"` ends the fit once `p.es_patience`
# steps pass without a new minimum and returns the running average at that moment
# (`result.output`). Why not the average at the minimum itself? The raw outputs start taking in
# noise there, but averaging them keeps cancelling it for a while: on the paper's 9 images the
# average at the stop is much closer to the oracle (`benchmarks/quality_precision.py --es-only`).
#
# First we check it on F16, where we know the truth (the fit above only watched):

# %%
import numpy as np

h = run1.history
var_steps = np.arange(1, len(run1.variance) + 1)
if run1.stop_step:      # the average when the rule fires (or the last one, if it has not fired yet)
    chosen = run1.stop_ema_image if run1.stop_ema_image is not None else run1.stop_image
    chosen_step = run1.stop_ema_step or run1.stop_step
else:                   # no minimum yet: the loss was still falling fast
    chosen, chosen_step = run1.output, run1.steps
print(f"variance minimum: step {run1.stop_step}; chosen without the clean image: the average at step "
      f"{chosen_step}, {dip.psnr(chosen, clean):.2f} dB "
      + (f"(the rule would have stopped at step {run1.stopped_at} of {run1.steps})" if run1.stopped_at
         else f"(no stop yet: the variance still reached new minima within the last {p.es_patience} steps)"))
print(f"oracle (best PSNR of the output): step {run1.best_step}, {run1.best_psnr:.2f} dB")
best_ema = max(h['psnr_ema'])
print(f"best PSNR of the average: {best_ema:.2f} dB at step {h['step'][h['psnr_ema'].index(best_ema)]}")
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.plot(var_steps, run1.variance, label=f"variance of the last {p.es_window} outputs")
if run1.stop_step:
    ax.axvline(run1.stop_step, color="k", ls="--", lw=1, label=f"its minimum: step {run1.stop_step}")
ax.axvline(run1.best_step, color="tab:green", ls=":", lw=1.5, label=f"oracle's best step {run1.best_step}")
if run1.stopped_at:
    ax.axvline(run1.stopped_at, color="tab:red", lw=1, label=f"ES-WMV stops: step {run1.stopped_at}")
ax.set(xlabel="iteration", ylabel="windowed variance", yscale="log", title="F16: no ground truth needed")
ax.legend(fontsize=8)
dip.gallery(fig, "03_denoising_variance")
plt.show()

# %% [markdown]
# Now a real degradation: the paper's snail photograph, a heavily compressed JPEG from the
# web. We do not know the clean image or the kind of noise; we just fit and watch the variance.

# %%
snail = dip.load_image("snail", size=p.blind_size, multiple=32)
blind = dip.solve(dip.denoising(noisy=snail), p, device=device, steps=p.blind_steps, progress="snail",
                  early_stop="stop")
print(f"snail: {'stopped by ES-WMV at step ' + str(blind.steps) if blind.stopped_at else 'ran all ' + str(blind.steps) + ' steps'}"
      f" of {p.blind_steps}; " + (f"the variance's minimum: step {blind.stop_step}" if blind.stop_step else
                                   "no minimum yet (the variance and the loss were still falling)"))
chosen_label = (f"average at step {blind.stop_ema_step} (chosen)" if blind.stop_step
                else f"average at step {blind.steps} (the last)")

from dip_lib.core.metrics import to_numpy

fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
axes[0].plot(np.arange(1, len(blind.variance) + 1), blind.variance)
if blind.stop_step:
    axes[0].axvline(blind.stop_step, color="k", ls="--", lw=1, label=f"minimum: step {blind.stop_step}")
    axes[0].legend(fontsize=8)
axes[0].set(xlabel="iteration", ylabel="windowed variance", yscale="log", title="no ground truth needed")
for ax, (title, im) in zip(axes[1:], [("JPEG input", snail), (chosen_label, blind.output),
                                      (f"last output, step {blind.steps}", blind.image)]):
    ax.imshow(to_numpy(im).clip(0, 1))
    ax.set_title(title, fontsize=10)
    ax.axis("off")
fig.tight_layout()
dip.gallery(fig, "03_denoising_blind")
plt.show()

# %% [markdown]
# If the variance is still falling at the last step, the network has not started to copy the
# artefacts yet, and the criterion's answer is "keep going": give it more steps (`steps=`).
#
# ## 6. Try it
# Change the number of iterations, the perturbation $\sigma_p$ (0 switches it off) or the
# architecture, press **Run** and compare with the curves above: without $\sigma_p$ the
# output overfits sooner; a shallow hourglass (`hourglass-1`) or a ResNet has a weaker prior.

# %%
from ipywidgets import Dropdown, FloatSlider, IntSlider, interact_manual


@interact_manual(steps=IntSlider(value=p.steps, min=50, max=4 * p.steps, step=50),
                 sigma_p=FloatSlider(value=p.sigma_p, min=0, max=0.1, step=0.005),
                 arch=Dropdown(options=["denoising", "hourglass-3", "hourglass-1", "skip-5-nearest", "resnet", "unet"]))
def try_it(steps, sigma_p, arch):
    r = dip.solve(problem, p, arch=arch, device=device, steps=steps, sigma_p=sigma_p, progress=arch)
    dip.plot_history({arch: r.history}, "psnr", reference=psnr_noisy, reference_label="noisy input")
    dip.show({f"output {r.final_psnr:.2f} dB": r.image, f"average {r.history['psnr_ema'][-1]:.2f} dB": r.ema_image})


# %% [markdown]
# **Exercises.** (1) Run 4× more iterations and watch the output PSNR fall: where does the
# averaged curve peak? (2) Denoise with $\sigma = 50$: does the stopping point move earlier
# or later? (3) Does the windowed-variance minimum land near the oracle peak for another
# image (`dip.load_image("Set14/lenna.png")`)?
#
# ## 7. Checks (run by CI)
# DIP beats the noisy input clearly (by `p.min_gain` dB), the mean of two runs beats the weaker
# run, run 1's running average ends clearly above its last output, the ground-truth-free stopping
# point is a clean image too and lies within `p.es_max_gap` dB of the oracle's best average, and (in
# the `cpu` and `paper` presets) the two-run average is at least as good as non-local means and
# better than TV.
#
# Measured in the `cpu` preset over seeds 0, 1 and 2 (`make test-cpu-matrix`, 2-core Intel Xeon,
# 2026-12-07; seed 0 with 2 threads, seeds 1 and 2 with one): the two-run average beat non-local
# means by 0.18-0.21 dB and TV by 0.41-0.51 dB, the mean of the runs beat the better run by
# 0.04-0.20 dB, and run 1's running average ended 1.2-1.3 dB above its last output. The margin over
# non-local means is small: it is the check to watch on another machine.

# %%
gain = scores["DIP, 2 runs"] - psnr_noisy
print(f"DIP (2 runs) {scores['DIP, 2 runs']:.2f} dB vs noisy {psnr_noisy:.2f} dB: +{gain:.2f} dB")
ema_gain = dip.psnr(avg, clean) - dip.psnr(last, clean)
print(f"run 1, step {run1.steps}: average {dip.psnr(avg, clean):.2f} dB vs last output {dip.psnr(last, clean):.2f} dB "
      f"(+{ema_gain:.2f} dB)")
es_gap = best_ema - dip.psnr(chosen, clean)
print(f"ES-WMV: {es_gap:.2f} dB below the oracle's best average")
dip.check("DIP (2 runs) beats the noisy input", gain, ">", p.min_gain, unit="dB")
dip.check("run 1's running average ends above its last output", ema_gain, ">", 0.1, unit="dB")
dip.check("the average of the outputs beats the noisy input", scores["DIP, average"] - psnr_noisy, ">", 1.0,
          unit="dB")
best_run = max(dip.psnr(run1.runs_ema[i:i + 1], clean) for i in range(len(run1.runs_ema)))
if p.min_gain_restarts is None:
    print(f"mean of the runs {scores['DIP, 2 runs']:.2f} dB vs the better run {best_run:.2f} dB: not checked in "
          f"preset '{p.name}' (one short run can be far better than the other)")
else:
    dip.check("the mean of the runs beats the better run", scores["DIP, 2 runs"] - best_run, ">", p.min_gain_restarts,
              unit="dB")
dip.check("the ground-truth-free stopping point beats the noisy input", dip.psnr(chosen, clean) - psnr_noisy,
          ">", 1.0, unit="dB")
dip.check("ES-WMV lands near the oracle's best average (gap)", es_gap, "<", p.es_max_gap, unit="dB")
assert blind.output.shape == snail.shape
classical = max(scores["non-local means"], scores["TV"])
print(f"DIP (2 runs) {scores['DIP, 2 runs']:.2f} dB vs non-local means {scores['non-local means']:.2f} dB "
      f"and TV {scores['TV']:.2f} dB" + ("" if p.beats_classical else
                                         " (not checked in this preset: too few steps on too small a network)"))
if p.beats_classical:
    dip.check("DIP (2 runs) is at least as good as non-local means", scores["DIP, 2 runs"] - scores["non-local means"],
              ">=", 0.0, unit="dB")
    dip.check("DIP (2 runs) beats TV", scores["DIP, 2 runs"] - scores["TV"], ">", 0.0, unit="dB")
