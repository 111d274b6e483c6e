"""Typed settings: one frozen dataclass per application, in three presets.

- ``test``: CI and nbval; each notebook runs in seconds on 2 CPU cores (tiny images and nets).
- ``cpu``: Binder or a laptop; a notebook runs in a few minutes in ~2 GB of RAM.
- ``paper``: a GPU; the paper's settings (image size, full-width network, iteration counts).

``dip.preset("denoising")`` returns the :class:`Denoising` settings of the active preset
(``DIP_PRESET`` if set, else ``paper`` on a GPU and ``cpu`` otherwise). Settings are read as
attributes (``p.steps``); ``p.replace(steps=500)`` or ``dip.preset("denoising", steps=500)``
gives a changed copy, and an unknown name is refused with the list of valid ones and the
closest match. ``width=None`` means the paper's filter counts; a number scales the network.
"""
from __future__ import annotations

import difflib
import functools
import os
from dataclasses import dataclass, field, fields, replace
from typing import Mapping

from ..core.rng import default_seed

__all__ = ["Settings", "preset", "active_preset", "PRESETS", "APPLICATIONS", "UnknownSetting", "MAX_STEPS"]

PRESETS = ("test", "cpu", "paper")
MAX_STEPS = 100_000   # steps above this are refused (the paper's longest fit, JPEG overfitting, has 50,000)
_RENAMED = {"reg_noise": "sigma_p", "input_kind": "input"}


class UnknownSetting(TypeError):
    """A settings name that does not exist (the message lists the valid ones)."""


@dataclass(frozen=True)
class Settings:
    """What every fit needs: image size, network, optimisation (the fields of ``dip.solve``).

    size: longer image side in pixels (None: the image's own size); width: filters per scale
    (None: the paper's network); arch: the network (``dip.build`` name); input: the code z
    ('noise' = U(0, 1/10) with ``input_depth`` channels, or 'meshgrid'); steps, lr: Adam;
    sigma_p: σ_p, the std of the perturbation of z at every step; ema: decay of the running
    average of outputs (None: none); every: steps between checks (history, live view);
    backtrack: restore θ when the loss jumps; precision: 'auto' (the device's fastest measured
    precision and layout: bf16 + channels_last on CUDA, fp32 / fp32 + channels_last / bf16 on a
    CPU), 'fp32' (plain, contiguous) or 'bf16'; early_stop: 'stop' ends the fit without ground truth
    (ES-WMV) once the variance of the last ``es_window`` outputs has not reached a new minimum
    for ``es_patience`` steps and keeps the running average of that moment, 'watch' only records
    it, 'off' (True/False mean 'stop'/'off');
    bn_init: BatchNorm's initial scale, 'torch' (1) or 'paper' (U(0, 1), as in PyTorch 0.4, which
    the paper ran); seed: draws θ, z and σ_p's perturbations in ``dip.solve``, and the noise and
    masks of the notebooks' problems (default: ``DIP_SEED``, else 0; ``tools/test_matrix.py`` runs
    every notebook with seeds 0, 1, 2); minutes: expected notebook run time.
    """
    name: str = "cpu"
    application: str = "fit"
    size: int | None = 192
    width: int | None = 32
    arch: str = "default"
    input: str = "noise"
    input_depth: int = 32
    steps: int = 1200
    lr: float = 0.01
    sigma_p: float = 1 / 30
    ema: float | None = 0.99
    every: int = 50
    backtrack: bool = False
    precision: str = "auto"
    bn_init: str = "torch"
    early_stop: str = "off"
    es_window: int = 100
    es_patience: int = 500
    seed: int = field(default_factory=lambda: default_seed())
    minutes: float = 0.0

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps must be a positive whole number, got {self.steps!r}")
        if self.steps > MAX_STEPS:
            raise ValueError(f"steps={self.steps} is above the cap of {MAX_STEPS:,} (the paper's longest fit has "
                             f"50,000 steps): use fewer steps")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"every must be a positive whole number, got {self.every!r}")
        if self.size is not None:
            from ..core.data import MAX_SIZE
            if isinstance(self.size, bool) or not isinstance(self.size, int) or not 1 <= self.size <= MAX_SIZE:
                raise ValueError(f"size must be None (the image's own size) or a whole number of pixels from 1 to "
                                 f"{MAX_SIZE} (the cap on a side), got {self.size!r}")
        if not (0 < self.lr < float("inf")):
            raise ValueError(f"lr must be positive and finite, got {self.lr!r}")
        if not (0 <= self.sigma_p < float("inf")):
            raise ValueError(f"sigma_p must be >= 0 and finite, got {self.sigma_p!r}")
        if self.ema is not None and not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1) or None, got {self.ema!r}")
        if isinstance(self.early_stop, bool):
            object.__setattr__(self, "early_stop", "stop" if self.early_stop else "off")
        if self.early_stop not in ("off", "stop", "watch"):
            raise ValueError(f"early_stop must be 'off', 'stop' or 'watch' (or True/False), not {self.early_stop!r}")
        if self.bn_init not in ("torch", "paper"):
            raise ValueError(f"bn_init must be 'torch' or 'paper', not {self.bn_init!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', not {self.precision!r}")
        for k in ("es_window", "es_patience"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 2:
                raise ValueError(f"{k} must be a whole number >= 2, got {v!r}")
        if self.input not in ("noise", "meshgrid"):
            raise ValueError(f"input must be 'noise' or 'meshgrid', not {self.input!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {self.seed!r}")

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def replace(self, **changes) -> "Settings":
        """A copy with ``changes``; unknown names raise :class:`UnknownSetting`."""
        check_keys(type(self), changes, self.application)
        return replace(self, **changes)

    def describe(self) -> str:
        size = f"{self.size}px" if self.size else "full-size"
        width = f"width {self.width}" if self.width else "the paper's network"
        t = f", about {self.minutes:g} min" if self.minutes else ""
        return f"preset '{self.name}' for {self.application}: {size} images, {width}, {self.steps} steps{t}"


def check_keys(cls, changes: Mapping, application: str = "") -> None:
    """Raise :class:`UnknownSetting` naming each unknown key, the closest valid one and all valid keys."""
    valid = [f.name for f in fields(cls)]
    bad = [k for k in changes if k not in valid]
    if not bad:
        return
    hints = []
    for k in bad:
        close = _RENAMED.get(k) or next(iter(difflib.get_close_matches(k, valid, n=1)), None)
        hints.append(f"{k!r}" + (f" (did you mean {close!r}?)" if close else ""))
    where = f" for {application}" if application else ""
    raise UnknownSetting(f"unknown setting {', '.join(hints)}{where}; valid settings: {', '.join(valid)}")


# --- one class per application: the settings its notebook reads ---------------------------------

@dataclass(frozen=True)
class Tour(Settings):
    """00 tour: plain DIP (σ_p = 0) run past its best PSNR, so the curve rises then falls;
    ``min_drop``: how far (dB) the last output must fall below the best one in the checks."""
    min_drop: float = 0.5


@dataclass(frozen=True)
class Impedance(Settings):
    """01 noise impedance (Fig. 2): σ_p = 0, no EMA; ``threshold`` is the MSE whose first
    crossing is timed (0.02 ≈ 2σ² for σ=25: the noisy target reaches it by fitting the image)."""
    threshold: float = 0.02


@dataclass(frozen=True)
class Samples(Settings):
    """02 prior samples (Fig. 4): no fitting; ``seeds`` draw θ (and z) per architecture."""
    seeds: tuple = (0, 1)


@dataclass(frozen=True)
class Denoising(Settings):
    """03 denoising: σ on the 0-255 scale; ``restarts`` runs averaged (the paper: 2); the blind
    part runs at most ``blind_steps`` on a ``blind_size`` image, stopped by ES-WMV
    (``es_window``, ``es_patience``); checks: DIP gains ``min_gain`` dB over the noisy input,
    ES-WMV lands within ``es_max_gap`` dB of the oracle's best average, and with
    ``beats_classical`` the two-run average is >= non-local means and > TV; ``real_steps``: the
    step budget of a user's noisy photo (``denoise --real``), which ES-WMV usually ends earlier;
    ``min_gain_restarts``: the margin (dB) by which the mean of the runs must beat the *better* run
    (None: printed, not checked; the mean never loses to the weaker run, by convexity, so that is no check)."""
    sigma: float = 25.0
    restarts: int = 2
    blind_size: int | None = 256
    blind_steps: int = 600
    real_steps: int = 2400
    min_gain: float = 1.5
    es_max_gap: float = 1.0
    beats_classical: bool = False
    min_gain_restarts: float | None = None


@dataclass(frozen=True)
class Jpeg(Settings):
    """04 JPEG: snapshots at ``snapshots``, an overfitting run of ``overfit`` steps; the synthetic
    check compresses ``check_image`` (``check_size`` px) at ``quality``."""
    snapshots: tuple = (50, 300, 1200)
    overfit: int = 3000
    check_image: str = "CBM3D9/kodim03.png"
    check_size: int | None = 192
    quality: int = 10
    min_gain: float = 0.3


@dataclass(frozen=True)
class SuperResolution(Settings):
    """05 super-resolution: ×4 uses (steps, sigma_p), ×8 (steps_x8, sigma_p_x8); TV weight of
    the pixel baseline; ``min_gain_x4/x8``: the margin over bicubic the checks ask for;
    ``ordered_x4``: also check the paper's order at ×4, deep prior > TV prior > bicubic."""
    image: str = "zebra"
    ordered_x4: bool = False
    steps_x8: int = 1000
    sigma_p_x8: float = 0.05
    tv_weight: float = 0.01
    min_gain_x4: float | None = 0.3
    min_gain_x8: float | None = 0.2


@dataclass(frozen=True)
class Inpainting(Settings):
    """06 inpainting: Barbara crop side ``size_barbara`` (None: whole image), its own steps/lr;
    the large hole's steps and ``min_gain_hole``, the margin (dB) its check asks over the mean-filled
    input (None: not checked); the library image's longer side and steps, and
    ``min_gain_library``, the margin of the encoder-decoder over ResNet and U-Net (None: not checked);
    ``beats_biharmonic_text``: check that DIP beats biharmonic inpainting on the text mask too;
    ``min_gain_biharmonic``: the margin (dB) over biharmonic inpainting with 50% of the pixels missing."""
    size_barbara: int | None = 128
    steps_barbara: int = 1200
    lr_barbara: float = 0.01
    steps_hole: int = 1200
    min_gain_hole: float | None = 1.0
    min_gain_library: float | None = 1.0
    beats_biharmonic_text: bool = True
    size_library: int | None = 202
    steps_library: int = 400
    min_gain_biharmonic: float = 0.5


@dataclass(frozen=True)
class Enhancement(Settings):
    """07 detail enhancement: the coarse images x_c are the outputs at ``stops``."""
    stops: tuple = (100, 300, 800)


@dataclass(frozen=True)
class Flash(Settings):
    """08 flash/no-flash: z is the flash image (3 channels)."""


@dataclass(frozen=True)
class Deblurring(Settings):
    """12 deblurring: y = k * x0 + n with noise σ (0-255) and a Gaussian (``gaussian_sigma`` px) or
    motion (``motion_length`` px at ``motion_angle`` degrees) kernel. TV-regularised pixels baseline:
    ``tv_weight``, ``tv_steps``, ``tv_lr`` (started at the blurred image); the classical
    deconvolutions get their best value among ``rl_iterations`` (Richardson-Lucy) and
    ``wiener_balances`` (Wiener), chosen with the truth. Checks: DIP beats the blurred input by
    ``min_gain`` dB; ``beats_best`` True/False: DIP beats / loses to the best classical baseline
    (the result this preset really shows), None: no claim (printed only); ``beats_deconvolution``
    True: DIP beats both Richardson-Lucy and Wiener (None: not checked)."""
    sigma: float = 2.0
    gaussian_sigma: float = 2.0
    motion_length: int = 9
    motion_angle: float = 30.0
    tv_weight: float = 0.001
    tv_steps: int = 600
    tv_lr: float = 0.02
    rl_iterations: tuple = (10, 30, 100)
    wiener_balances: tuple = (0.001, 0.01, 0.1)
    beats_deconvolution: bool | None = None
    min_gain: float = 0.5
    beats_best: bool | None = None


@dataclass(frozen=True)
class _Inverting(Settings):
    """What pre-images and activation maximisation share: Φ = AlexNet, its input resized to
    ``feature_size``; ``pretrained``: load the ImageNet weights; the TV-pixels baseline's
    weight, steps and learning rate."""
    feature_size: int | None = 224
    pretrained: bool = True
    tv_weight: float = 2.0
    tv_steps: int = 150
    tv_lr: float = 0.05


@dataclass(frozen=True)
class Inversion(_Inverting):
    """09 natural pre-image of x0 at each of Φ's ``layers``; ``max_loss_ratio``: the final feature loss
    must be below this fraction of the initial one, for DIP and for TV."""
    layers: tuple = ("conv1", "conv3", "fc6", "fc8")
    max_loss_ratio: float = 0.5


@dataclass(frozen=True)
class Activation(_Inverting):
    """10 activation maximisation of the fc8 ``classes`` (TV weight 10 by default)."""
    classes: tuple = (100, 933, 319)
    tv_weight: float = 10.0


@dataclass(frozen=True)
class Ablations(Settings):
    """11 ablations: ``depths`` swept with 1x1 skips; skips (and, if ``explore``, upsampling and
    the code z) swept at ``skip_depth``. DIP against the Deep Decoder: both fitted for
    ``dd_steps`` (well past the hourglass's best PSNR); ``dd_width``: the Deep Decoder's
    channels (None: Heckel & Hand's 64; fewer on tiny images, so it keeps fewer parameters
    than the image has pixels)."""
    depths: tuple = (1, 2, 3, 4, 5)
    skip_depth: int = 4
    explore: bool = True
    dd_width: int | None = None
    dd_steps: int = 3000


@dataclass(frozen=True)
class Reproduce(Settings):
    """The paper's tables (``python -m dip_lib reproduce``). ``tables`` maps a scope to changes of
    these settings: 'sr' (both SR tables), a table ('sr4', 'inpainting'), or 'TABLE/image'
    ('inpainting/barbara'); ``restarts``: runs averaged per image."""
    restarts: int = 1
    tables: tuple = ()   # ((scope, ((key, value), ...)), ...): hashable, frozen

    def for_image(self, table: str, image: str | None = None, task: str | None = None) -> "Reproduce":
        """The settings one image of ``table`` runs with (scopes applied broad to narrow)."""
        scopes = dict(self.tables)
        out = self
        for scope in ([task] if task and task != table else []) + [table] + ([f"{table}/{image}"] if image else []):
            if scope in scopes:
                out = out.replace(**dict(scopes[scope]))
        return out


def _tables(**scopes) -> tuple:
    return tuple((k.replace("__", "/"), tuple(v.items())) for k, v in scopes.items())


# cpu budgets (issue 20): a cpu notebook costs <= 200 reference steps (the plain fp32 step of the default network at
# 256 px): 03 1100 steps (was 1300), 04 overfit 2500 (3000), 05 900/800 steps (1000/1000), 06 barbara 700, hole
# 600, library 150 (1000, 1000, 250), 11 Deep Decoder 2000 (2400), 12 2500 steps (3000)

# --- the presets --------------------------------------------------------------------------------

# test: fp32 (bf16 gains nothing on 64 px images and 16-filter networks, and the notebooks' checks were
# tuned on plain fp32); cpu and paper: the device's automatic precision and layout (measured per CPU)
_BASE = {
    "test": dict(size=64, width=16, steps=300, lr=0.02, every=25, sigma_p=1 / 30, ema=0.99, input_depth=32,
                 precision="fp32"),
    "cpu": dict(size=192, width=32, steps=1200, lr=0.01, every=50, sigma_p=1 / 30, ema=0.99, input_depth=32),
    "paper": dict(size=None, width=None, steps=1800, lr=0.01, every=100, sigma_p=1 / 30, ema=0.99, input_depth=32),
}

_NO_AVERAGE = dict(sigma_p=0.0, ema=None)

APPLICATIONS: dict[str, tuple[type, dict[str, dict]]] = {
    # test: 64px, width 32, lr 0.01: the PSNR peaks near step 200 and is ~2.5 dB lower at 600
    # test: min_drop 0.35 (was 1.0): the drop measured 1.61-2.77 dB over the portability matrix (σ 0.40 dB)
    "tour": (Tour, {"test": dict(size=64, width=32, steps=600, lr=0.01, every=10, sigma_p=0.0, min_drop=0.35,
                                 minutes=0.5),
                    "cpu": dict(size=128, steps=1200, sigma_p=0.0, min_drop=0.5, minutes=3),
                    "paper": dict(size=512, steps=4000, sigma_p=0.0, min_drop=0.5, minutes=4)}),
    "impedance": (Impedance, {"test": dict(size=64, width=8, steps=150, every=10, lr=0.01, minutes=0.4, **_NO_AVERAGE),
                              "cpu": dict(size=64, steps=1200, every=20, minutes=3, **_NO_AVERAGE),
                              "paper": dict(size=256, steps=8000, every=50, minutes=10, **_NO_AVERAGE)}),
    "samples": (Samples, {"test": dict(size=64, width=32, minutes=0.1),
                          "cpu": dict(size=256, width=128, minutes=0.5),
                          "paper": dict(size=512, minutes=0.5)}),
    # test: 500 steps, so the running average has warmed up and ends above the last output
    # real_steps (cpu): 2400 steps of a 256 px photo take ~240 s here; 800 left coffee 2 dB below NLM
    "denoising": (Denoising, {"test": dict(steps=500, blind_size=128, blind_steps=400, real_steps=400, es_window=20,
                                           es_patience=100, es_max_gap=1.5, minutes=1),
                              "cpu": dict(size=192, steps=1100, blind_size=128, blind_steps=600, es_window=50,
                                          es_patience=300, beats_classical=True, min_gain_restarts=0.0, minutes=5),
                              "paper": dict(size=512, steps=1800, blind_size=None, blind_steps=4000, real_steps=8000,
                                            es_window=100,
                                            es_patience=1000, es_max_gap=0.5, beats_classical=True,
                                            min_gain_restarts=0.0, minutes=4)}),
    # width=None: the paper's small JPEG network (8..128 filters) in every preset
    # test: overfit 600 (was 400): 100 steps after the last snapshot brought the MSE to y only 9-41% closer
    # depending on threads, kernels and seed (the portability matrix), too close to the check's 10%
    "jpeg": (Jpeg, {"test": dict(size=128, width=None, arch="jpeg", lr=0.02, steps=300, snapshots=(20, 80, 300),
                                 overfit=600, input_depth=3, check_size=96, quality=5, min_gain=0.2, minutes=0.7),
                    "cpu": dict(size=256, width=None, arch="jpeg", steps=1200, snapshots=(50, 300, 1200),
                                overfit=2500, input_depth=3, check_size=192, quality=10, min_gain=0.3, minutes=5),
                    "paper": dict(width=None, arch="jpeg", steps=2400, snapshots=(100, 600, 2400), overfit=50000,
                                  input_depth=3, check_size=None, quality=10, min_gain=0.3, minutes=12)}),
    # the test preset uses the paper's zebra crop (stripes at full resolution); x8 is only a smoke test there
    # test: no x4 check (min_gain_x4=None): over the portability matrix the deep prior's gain over bicubic at 128 px
    # ranged 0.41-1.21 dB after 300 steps (σ 0.27 dB) and 0.49-2.4 dB after 500 (σ 0.59): too wide for any margin
    "sr": (SuperResolution, {"test": dict(image="zebra_crop", size=128, steps=300, steps_x8=100, lr=0.02, sigma_p=0.03,
                                          sigma_p_x8=0.05, min_gain_x4=None, min_gain_x8=None, minutes=0.8),
                             "cpu": dict(image="zebra_crop", size=256, steps=900, steps_x8=800, sigma_p=0.03,
                                         sigma_p_x8=0.05, min_gain_x4=0.3, min_gain_x8=0.2, ordered_x4=True, minutes=5),
                             "paper": dict(image="zebra", arch="sr", steps=2000, steps_x8=4000, sigma_p=0.03,
                                           sigma_p_x8=0.05, min_gain_x4=1.0, min_gain_x8=0.5, ordered_x4=True, minutes=10)}),
    # test (portability matrix, 3 seeds x 6 kernel/thread environments): barbara 700 steps (was 300; DIP -
    # biharmonic ranged 0.71-1.54 dB, σ 0.30; at 500 1.22-2.6 dB, σ 0.42; at 700 1.11-2.49 dB, σ 0.44: the random
    # mask's spread over seeds keeps it under 3σ from 0, the one check of the matrix that is); library 100 steps (was 60: the U-Net was 0.28 dB above the mean
    # colour in one cell) and depth 6 >= ResNet, U-Net + 0 (was + 1.0: measured 0.95-1.63 dB, σ 0.30)
    "inpainting": (Inpainting, {"test": dict(steps=300, sigma_p=0.03, size_barbara=64, steps_barbara=700,
                                             min_gain_biharmonic=0.0,
                                             steps_hole=300, min_gain_hole=None, min_gain_library=0.0, size_library=202, steps_library=100,
                                             beats_biharmonic_text=False,
                                             minutes=1.5),
                                # cpu text mask (kate, 128 px, measured): biharmonic 23.43 dB on the holes; DIP's
                                # running average at lr 0.01 / 1200 steps 23.45, at lr 0.02 / 1200 steps 23.68-23.84
                                "cpu": dict(size=128, steps=1200, lr=0.02, sigma_p=0.03, size_barbara=128,
                                            steps_barbara=700, steps_hole=600, min_gain_hole=None,
                                            min_gain_library=None, size_library=202, steps_library=150,
                                            minutes=5),
                                "paper": dict(steps=6001, steps_barbara=11000, lr_barbara=0.001, steps_hole=5001,
                                              min_gain_hole=1.0, min_gain_library=1.0, steps_library=3001, size_barbara=None, size_library=None, sigma_p=0.03,
                                              minutes=30)}),
    "enhancement": (Enhancement, {"test": dict(size=96, steps=100, stops=(25, 50, 100), minutes=0.2, **_NO_AVERAGE),
                                  "cpu": dict(size=256, steps=800, stops=(100, 300, 800), minutes=3, **_NO_AVERAGE),
                                  "paper": dict(size=512, steps=4000, stops=(250, 500, 2500, 4000), minutes=6,
                                                **_NO_AVERAGE)}),
    "flash": (Flash, {"test": dict(size=96, steps=120, lr=0.01, input_depth=3, minutes=0.3, **_NO_AVERAGE),
                      "cpu": dict(size=256, steps=600, lr=0.01, input_depth=3, minutes=3, **_NO_AVERAGE),
                      "paper": dict(size=None, arch="flash", steps=601, lr=0.1, input_depth=3, minutes=3,
                                    **_NO_AVERAGE)}),
    # test (64 px, 500 steps): DIP +0.8 dB over the blurred input, TV / tuned deconvolution win (beats_best=False);
    # cpu (128 px, 800 steps, measured): DIP only +0.13 / +0.27 dB (Gaussian / motion): under-tuned, needs more steps
    # test: 800 steps (was 500: DIP's gain over the blurred input ranged 0.37-1.0 dB over the portability matrix);
    # at 800 the motion blur's gain was 0.95-1.4 dB (σ 0.17): min_gain 0.4 sits 3σ below
    "deblurring": (Deblurring, {"test": dict(size=64, width=16, steps=800, lr=0.02, sigma_p=0.03, tv_steps=500,
                                             min_gain=0.4, beats_best=False, minutes=1),
                                "cpu": dict(size=128, width=16, steps=2500, lr=0.02, sigma_p=0.0, every=100,
                                            tv_steps=800, min_gain=1.0, beats_best=False, beats_deconvolution=True,
                                            minutes=4),
                                "paper": dict(size=256, width=None, steps=5000, lr=0.01, sigma_p=0.03, tv_steps=2000,
                                              min_gain=1.0, beats_best=None, minutes=10)}),
    # inversion/activation: the inversion net has depth 6, so sides are multiples of 64 and >= 128;
    # test: random Φ weights always (CI is offline; tests never download), 2 layers / 1 class.
    # test: max_loss_ratio 0.85: over the portability matrix the DIP pre-image's final/initial loss at conv2 was
    # 0.32-0.53 (σ 0.09) after 50 steps with random weights; cpu and paper keep "below half"
    "inversion": (Inversion, {"test": dict(size=128, width=16, arch="inversion", steps=50, every=10, lr=0.01,
                                           layers=("conv2", "fc6"), feature_size=None, pretrained=False,
                                           tv_steps=50, max_loss_ratio=0.85, minutes=0.5, **_NO_AVERAGE),
                              "cpu": dict(size=128, width=32, arch="inversion", steps=250, every=25, lr=0.01,
                                          tv_steps=150, minutes=4, **_NO_AVERAGE),
                              "paper": dict(size=256, arch="inversion", steps=3100, lr=0.001,
                                            layers=("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"),
                                            tv_steps=3000, minutes=20, **_NO_AVERAGE)}),
    # test: 150 steps (was 50: DIP raised the random-weight class score by only 0.004-0.012, σ 0.003)
    "activation": (Activation, {"test": dict(size=128, width=16, arch="inversion", steps=150, every=10, lr=0.01,
                                             classes=(100,), feature_size=None, pretrained=False, tv_steps=50,
                                             minutes=0.5, **_NO_AVERAGE),
                                "cpu": dict(size=128, width=32, arch="inversion", steps=250, every=25, lr=0.01,
                                            tv_steps=150, minutes=4, **_NO_AVERAGE),
                                "paper": dict(size=256, arch="activation", steps=3100, lr=0.001, sigma_p=0.03, ema=None,
                                              classes=(100, 933, 319, 31, 980, 483), tv_steps=3000, minutes=20)}),
    # test: 300 steps are needed for depth 3 to beat depth 1 reliably
    # test: 64 px = 12,288 pixel values: a 32-channel Deep Decoder (6,624 parameters) stays below them
    "ablation": (Ablations, {"test": dict(size=64, steps=300, depths=(1, 3), skip_depth=3, explore=False,
                                          dd_width=32, dd_steps=1500, minutes=1.0),
                            # cpu: 128 px, 600 steps and depths 1-5 took 6.4 min; with 1800 Deep Decoder steps its
                            # noisy curve fell further from its peak than the hourglass's (0.96 vs 0.75 dB). At 96 px
                            # (27,648 values: the Deep Decoder's 25,536 parameters still fewer) 4.0 min
                            "cpu": dict(size=96, steps=500, depths=(1, 2, 3, 4), dd_steps=2000, minutes=4),
                            "paper": dict(size=512, steps=1800, depths=(1, 2, 3, 4, 5, 6), skip_depth=5,
                                          dd_steps=6000, minutes=20)}),
    # SR always runs at the images' native size in cpu/paper (PSNRs comparable with the paper)
    "reproduce": (Reproduce, {
        "test": dict(size=64, steps=200, lr=0.01, minutes=0.5,
                     tables=_tables(denoising=dict(restarts=2, arch="denoising"), sr=dict(arch="sr"),
                                    inpainting=dict(steps=100, arch="inpainting-text"))),
        "cpu": dict(size=128, width=32, steps=600, minutes=3,
                    tables=_tables(denoising=dict(restarts=2, arch="denoising"),
                                   sr=dict(arch="sr", size=None, width=16, steps=400, sigma_p=0.03),
                                   sr8=dict(sigma_p=0.05),
                                   inpainting=dict(arch="inpainting-text", size=128, steps=800, sigma_p=0.03))),
        "paper": dict(size=None, steps=1800, minutes=10,
                      tables=_tables(denoising=dict(restarts=2, arch="denoising", backtrack=True),
                                     sr=dict(arch="sr", sigma_p=0.03), sr4=dict(steps=2000),
                                     sr8=dict(steps=4000, sigma_p=0.05),
                                     inpainting=dict(arch="restoration", steps=11000, lr=0.001, sigma_p=0.03,
                                                     backtrack=True)))}),
}


def active_preset() -> str:
    """``DIP_PRESET`` if set; otherwise 'paper' when a CUDA GPU is present, else 'cpu'."""
    name = os.environ.get("DIP_PRESET")
    if name:
        if name not in PRESETS:
            raise ValueError(f"DIP_PRESET={name!r} is not a preset; use one of {', '.join(PRESETS)}")
        return name
    import torch
    return "paper" if torch.cuda.is_available() else "cpu"


def preset(application: str, name: str | None = None, **changes) -> Settings:
    """The settings for ``application`` in preset ``name`` (default: the active preset).

    >>> p = dip.preset("denoising", steps=500)   # p.steps == 500; a misspelt key raises
    """
    if application not in APPLICATIONS:
        close = difflib.get_close_matches(application, APPLICATIONS, n=1)
        raise ValueError(f"unknown application {application!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                         + f"; choose one of {', '.join(APPLICATIONS)}")
    name = name or active_preset()
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
    cls, table = APPLICATIONS[application]
    check_keys(cls, changes, application)
    return cls(name=name, application=application, **{**_BASE[name], **table[name], **_runtime(application, name),
                                                       **changes})


_RUNTIMES = os.path.join(os.path.dirname(__file__), "runtimes.json")


@functools.lru_cache(maxsize=None)
def _runtimes() -> dict:
    """application -> preset -> seconds, from runtimes.json (written by tools/runtimes.py)."""
    import json
    with open(_RUNTIMES, encoding="utf-8") as f:
        notebooks = json.load(f)["notebooks"]
    return {e["application"]: e["seconds"] for e in notebooks.values()}


def _runtime(application: str, name: str) -> dict:
    """``minutes`` of a preset: the measured run time of its notebook (one decimal, at least 0.1)."""
    seconds = _runtimes().get(application, {}).get(name)
    return {} if seconds is None else {"minutes": max(0.1, round(seconds / 60, 1))}
