"""Per-application settings in three presets.

- ``test``: CI and nbval; each notebook runs in seconds on 2 CPU cores (tiny images and nets).
- ``cpu``: Binder or a laptop; a notebook runs in a few minutes in ~2 GB of RAM.
- ``paper``: a GPU; the paper's settings (image size, full-width network, iteration counts).

The active preset is ``DIP_PRESET`` if set, else ``paper`` on a GPU and ``cpu`` otherwise.
``width=None`` means the paper's filter counts; a number scales the network to that width.
"""
from __future__ import annotations

import os

__all__ = ["preset", "active_preset", "PRESETS", "APPLICATIONS", "Preset"]

PRESETS = ("test", "cpu", "paper")

# common base per preset; applications override what differs
_BASE = {
    "test": dict(size=64, width=16, steps=300, lr=0.02, every=25, reg_noise=1 / 30, ema=0.99, input_depth=32),
    "cpu": dict(size=192, width=32, steps=1200, lr=0.01, every=50, reg_noise=1 / 30, ema=0.99, input_depth=32),
    "paper": dict(size=None, width=None, steps=1800, lr=0.01, every=100, reg_noise=1 / 30, ema=0.99, input_depth=32),
}

# application -> preset -> overrides; 'minutes' is the expected notebook run time shown to readers
APPLICATIONS: dict[str, dict[str, dict]] = {
    # tour: plain DIP (σ_p = 0) run well past its best PSNR, so the curve visibly rises then falls
    "tour": {"test": dict(steps=200, every=20, reg_noise=0.0, minutes=0.3),
             "cpu": dict(size=128, steps=1200, reg_noise=0.0, minutes=3),
             "paper": dict(size=512, steps=4000, reg_noise=0.0, minutes=4)},
    # impedance (Fig. 2): σ_p = 0, no EMA; threshold = the MSE whose first crossing is timed (0.02 ≈ 2σ²
    # for σ=25: the noisy target reaches it by fitting the image alone; below σ² it must fit its noise)
    "impedance": {"test": dict(size=64, width=8, steps=150, every=10, reg_noise=0.0, ema=None, lr=0.01,
                               threshold=0.02, minutes=0.4),
                  "cpu": dict(size=64, steps=1200, every=20, reg_noise=0.0, ema=None, threshold=0.02, minutes=3),
                  "paper": dict(size=256, steps=8000, every=50, reg_noise=0.0, ema=None, threshold=0.02,
                                minutes=10)},
    # samples (Fig. 4): no fitting; seeds = the random θ (and z) drawn per architecture
    "samples": {"test": dict(size=64, width=32, seeds=(0, 1), minutes=0.1),
                "cpu": dict(size=256, width=128, seeds=(0, 1), minutes=0.5),
                "paper": dict(size=512, seeds=(0, 1), minutes=0.5)},
    "denoising": {"test": dict(blind_size=128, blind_steps=150, window=4, minutes=0.7),
                  "cpu": dict(size=192, steps=1000, lr=0.01, blind_size=256, blind_steps=600, window=6, minutes=5),
                  "paper": dict(size=512, steps=1800, sigma=25, blind_size=None, blind_steps=2400, window=8,
                                minutes=4)},
    # width=None: the paper's small JPEG network (8..128 filters) in every preset; 'check_*' and
    # 'quality' set the synthetic check (a clean image compressed with dip.jpeg)
    "jpeg": {"test": dict(size=128, width=None, lr=0.02, steps=300, snapshots=(20, 80, 300), overfit=400,
                          input_depth=3, check_image="CBM3D9/kodim03.png", check_size=96, quality=5, minutes=0.7),
             "cpu": dict(size=256, width=None, steps=1200, snapshots=(50, 300, 1200), overfit=3000, input_depth=3,
                         check_image="CBM3D9/kodim03.png", check_size=192, quality=10, min_gain=0.3, minutes=5),
             "paper": dict(width=None, steps=2400, snapshots=(100, 600, 2400), overfit=50000, input_depth=3,
                           check_image="CBM3D9/kodim03.png", check_size=None, quality=10, minutes=12)},
    # the test preset uses the paper's zebra crop (stripes at full resolution); x8 is only a smoke test there
    "sr": {"test": dict(image="zebra_crop", size=128, steps=300, steps_x8=100, lr=0.02, reg_noise=0.03,
                        reg_noise_x8=0.05, tv_weight=0.01, min_gain_x4=0.3, min_gain_x8=None, minutes=0.8),
           "cpu": dict(image="zebra", size=256, steps=1000, steps_x8=1000, reg_noise=0.03, reg_noise_x8=0.05,
                       tv_weight=0.01, min_gain_x4=0.3, min_gain_x8=0.2, minutes=5),
           "paper": dict(image="zebra", steps=2000, steps_x8=4000, reg_noise=0.03, reg_noise_x8=0.05, tv_weight=0.01,
                         min_gain_x4=1.0, min_gain_x8=0.5, minutes=10)},
    # inpainting: size_barbara = side of a native-resolution crop of Barbara (None: the whole image);
    # size_library = longer side of the library image (the depth-6 encoder-decoder needs >= 128 px).
    "inpainting": {"test": dict(steps=300, reg_noise=0.03, size_barbara=64, size_library=202, steps_library=60,
                                minutes=1.5),
                   "cpu": dict(size=128, steps=1200, reg_noise=0.03, size_barbara=128, size_library=202,
                               steps_library=400, minutes=5),
                   "paper": dict(steps=6000, steps_barbara=11000, lr_barbara=0.001, steps_hole=5000,
                                 steps_library=3000, size_barbara=None, size_library=None, reg_noise=0.03,
                                 minutes=30)},
    "enhancement": {"test": dict(size=96, steps=100, stops=(25, 50, 100), reg_noise=0.0, ema=None, minutes=0.2),
                    "cpu": dict(size=256, steps=800, stops=(100, 300, 800), reg_noise=0.0, ema=None, minutes=3),
                    "paper": dict(size=512, steps=2000, stops=(200, 800, 2000), reg_noise=0.0, ema=None,
                                  minutes=3)},
    "flash": {"test": dict(size=96, steps=120, lr=0.01, reg_noise=0.0, ema=None, input_depth=3, minutes=0.3),
              "cpu": dict(size=256, steps=600, lr=0.01, reg_noise=0.0, ema=None, input_depth=3, minutes=3),
              "paper": dict(size=512, steps=600, lr=0.1, reg_noise=0.0, ema=None, input_depth=3, minutes=2)},
    # inversion/activation: the inversion net has depth 6, so sides are multiples of 64 and >= 128 (its
    # deepest BatchNorm needs > 1 pixel); Φ = AlexNet, its input resized to feature_size (None: as is).
    # test: random Φ weights always (CI is offline; tests never download), 2 layers / 1 class.
    "inversion": {"test": dict(size=128, width=16, steps=50, every=10, lr=0.01, reg_noise=0.0, ema=None,
                               layers=("conv2", "fc6"), feature_size=None, pretrained=False, tv_weight=2.0,
                               tv_steps=50, tv_lr=0.05, minutes=0.5),
                  "cpu": dict(size=128, width=32, steps=250, every=25, lr=0.01, reg_noise=0.0, ema=None,
                              layers=("conv1", "conv3", "fc6", "fc8"), feature_size=224,
                              pretrained=True, tv_weight=2.0, tv_steps=150, tv_lr=0.05, minutes=4),
                  "paper": dict(size=256, steps=3000, lr=0.001, reg_noise=0.0, ema=None,
                                layers=("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"),
                                feature_size=224, pretrained=True, tv_weight=2.0, tv_steps=3000, tv_lr=0.05,
                                minutes=20)},
    "activation": {"test": dict(size=128, width=16, steps=50, every=10, lr=0.01, reg_noise=0.0, ema=None,
                                classes=(100,), feature_size=None, pretrained=False, tv_weight=10.0,
                                tv_steps=50, tv_lr=0.05, minutes=0.5),
                   "cpu": dict(size=128, width=32, steps=250, every=25, lr=0.01, reg_noise=0.0, ema=None,
                               classes=(100, 933, 319), feature_size=224, pretrained=True, tv_weight=10.0,
                               tv_steps=150, tv_lr=0.05, minutes=4),
                   "paper": dict(size=256, steps=3000, lr=0.001, reg_noise=0.03, ema=None,
                                 classes=(100, 933, 319, 31, 980, 483), feature_size=224, pretrained=True,
                                 tv_weight=10.0, tv_steps=3000, tv_lr=0.05, minutes=20)},
    # notebook 11: 'depths' are swept with 1x1 skips; skips (and, if 'explore', upsampling and the code z)
    # are swept at 'skip_depth'. test: 300 steps are needed for depth 3 to beat depth 1 reliably.
    "ablation": {"test": dict(size=64, steps=300, depths=(1, 3), skip_depth=3, explore=False, minutes=0.7),
                 "cpu": dict(size=128, steps=600, depths=(1, 2, 3, 4, 5), skip_depth=4, explore=True, minutes=8),
                 "paper": dict(size=512, steps=1800, depths=(1, 2, 3, 4, 5, 6), skip_depth=5, explore=True,
                               minutes=15)},
    # paper tables (dip_lib/reproduce.py). A key "k_TABLE" (TABLE: denoising, sr4, sr8, inpainting;
    # "k_sr" for both SR tables) overrides k for that table, "k_TABLE_IMAGE" for one image.
    # SR always runs at the images' native size in cpu/paper (PSNRs comparable with the paper).
    "reproduce": {"test": dict(size=64, steps=200, lr=0.01, steps_inpainting=100, restarts=1, restarts_denoising=2,
                               minutes=0.5),
                  "cpu": dict(size=128, width=32, steps=600, restarts=1, restarts_denoising=2,
                              size_sr=None, width_sr=16, steps_sr=400, reg_noise_sr=0.03, reg_noise_sr8=0.05,
                              size_inpainting=128, steps_inpainting=800, reg_noise_inpainting=0.03,
                              minutes=3),
                  "paper": dict(size=None, steps=1800, restarts=1, restarts_denoising=2,
                                steps_sr4=2000, steps_sr8=4000, reg_noise_sr=0.03, reg_noise_sr8=0.05,
                                steps_inpainting=6000, reg_noise_inpainting=0.03,
                                steps_inpainting_barbara=11000, lr_inpainting_barbara=0.001, minutes=10)},
}


class Preset(dict):
    """A dict of settings with attribute access: ``p.steps`` == ``p['steps']``."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"preset {self.get('name')!r} for {self.get('application')!r} has no "
                                 f"setting {key!r}; it has {', '.join(sorted(self))}") from None

    def describe(self) -> str:
        size = f"{self['size']}px" if self.get("size") else "full-size"
        width = f"width {self['width']}" if self.get("width") else "the paper's network"
        t = f", about {self['minutes']:g} min" if self.get("minutes") else ""
        return f"preset '{self['name']}' for {self['application']}: {size} images, {width}, {self['steps']} steps{t}"


def active_preset() -> str:
    """``DIP_PRESET`` if set; otherwise 'paper' when a CUDA GPU is present, else 'cpu'."""
    name = os.environ.get("DIP_PRESET")
    if name:
        if name not in PRESETS:
            raise ValueError(f"DIP_PRESET={name!r} is not a preset; use one of {', '.join(PRESETS)}")
        return name
    import torch
    return "paper" if torch.cuda.is_available() else "cpu"


def preset(application: str, name: str | None = None, **overrides) -> Preset:
    """Settings for ``application`` in preset ``name`` (default: the active preset)."""
    if application not in APPLICATIONS:
        raise ValueError(f"unknown application {application!r}; choose one of {', '.join(APPLICATIONS)}")
    name = name or active_preset()
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
    p = Preset(_BASE[name])
    p.update(APPLICATIONS[application][name])
    p.update(overrides)
    p["name"], p["application"] = name, application
    return p
