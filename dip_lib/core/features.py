"""Φ: the frozen classifiers whose features the paper inverts (AlexNet, VGG-16; Figs. 11, 13-14).

The networks are defined here (torchvision is *not* a dependency) with exactly the parameter
names of the torchvision checkpoints (``features.0.weight`` ... ``classifier.6.bias``), so the
published weights load with ``load_state_dict(strict=True)``:

- AlexNet "one weird trick" variant: https://download.pytorch.org/models/alexnet-owt-7be5be79.pth
- VGG-16 (configuration D, no BatchNorm): https://download.pytorch.org/models/vgg16-397923af.pth

**Layer names.** ``conv1`` ... ``conv5`` (AlexNet) and ``conv1_1`` ... ``conv5_3`` (VGG-16)
mean the output of the convolution *after its ReLU*, as in Mahendran & Vedaldi (2015) whose
pre-images the paper compares with; ``pool1``, ``pool2``, ``pool5`` (AlexNet) and ``pool1`` ...
``pool5`` (VGG-16) are the max-pooling outputs; ``fc6`` and ``fc7`` are after their ReLU;
``fc8`` is the class scores *before* the softmax (what activation maximisation maximises).
Append ``_pre`` to a conv/fc name (``conv3_pre``, ``fc7_pre``) for the value before the ReLU.

**Input.** x is an RGB image in [0, 1] (the output of f_θ); :class:`FeatureExtractor` applies
the ImageNet normalisation (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225) and, when
``input_size`` is set, resizes x bilinearly to that size first (the classifiers were trained
on 224x224 crops; AlexNet also runs on 64x64 inputs thanks to its adaptive pooling, but the
receptive fields are then out of proportion).

**Weights.** :func:`load_weights` looks for the checkpoint in the cache folder
(``$DIP_CACHE_DIR/checkpoints`` if set, else ``~/.cache/dip_lib/checkpoints``; torch hub's
``$TORCH_HOME/hub/checkpoints`` is also searched, so a file torchvision already downloaded is
reused), downloads it when allowed, checks its sha256 and loads it with
``torch.load(weights_only=True)`` (no arbitrary code is unpickled). When the file cannot be
had (offline, as in CI) it warns, naming the URL and the folder to put the file in, and the
network keeps its random initialisation: the notebooks still run, with a visible notice.

**What the hash check verifies.** torchvision names each checkpoint ``<name>-<h>.pth`` where
``<h>`` is the first 8 hex digits of the file's sha256 (``torch.hub`` checks the same prefix).
Only that prefix is stored here: the full sha256 of these files could not be computed when
this module was written (no network), and we do not record a digest we have not verified.
A prefix of 8 hex digits (32 bits) catches corrupt and truncated downloads and wrong files;
it is not a cryptographic guarantee against a deliberately crafted file. ``weights_only=True``
is what keeps a malicious file from running code. If you know the full digest, pass it as
``sha256=`` (any length of prefix, up to all 64 digits, is accepted and checked).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data import sha256_of

__all__ = ["AlexNet", "VGG16", "CHECKPOINTS", "LAYERS", "FeatureExtractor", "feature_net", "load_weights",
           "checkpoint_path", "cache_dir", "sha256_of", "imagenet_classes", "IMAGENET_MEAN", "IMAGENET_STD",
           "WeightsUnavailable"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Checkpoint:
    url: str
    sha256: str          # a prefix of the sha256 hex digest (see the module docstring)

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


CHECKPOINTS = {
    # prefix = the hash torchvision puts in the file name; the full digest is not recorded (unverified here)
    "alexnet": Checkpoint("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "7be5be79"),
    "vgg16": Checkpoint("https://download.pytorch.org/models/vgg16-397923af.pth", "397923af"),
}


class WeightsUnavailable(RuntimeError):
    """The checkpoint is missing and could not be downloaded, or its hash does not match."""


# --- the two classifiers, laid out exactly as torchvision's ------------------------------------

class AlexNet(nn.Module):
    """AlexNet as in torchvision (Krizhevsky's "one weird trick" variant, 61.1M parameters)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),   # 0-2
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),            # 3-5
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),                               # 6-7
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),                               # 8-9
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))           # 10-12
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),                   # 0-2
            nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),                          # 3-5
            nn.Linear(4096, num_classes))                                                            # 6

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


_VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class VGG16(nn.Module):
    """VGG-16 (configuration D, no BatchNorm) as in torchvision (138.4M parameters)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers, c = [], 3
        for v in _VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),                   # 0-2
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),                          # 3-5
            nn.Linear(4096, num_classes))                                                            # 6

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _alexnet_layers() -> dict[str, tuple[str, int]]:
    """name -> (part, index of the last module to run in that part)."""
    d = {}
    for i, (conv, relu) in enumerate([(0, 1), (3, 4), (6, 7), (8, 9), (10, 11)], start=1):
        d[f"conv{i}_pre"], d[f"conv{i}"] = ("features", conv), ("features", relu)
    d.update(pool1=("features", 2), pool2=("features", 5), pool5=("features", 12))
    d.update(fc6_pre=("classifier", 1), fc6=("classifier", 2), fc7_pre=("classifier", 4), fc7=("classifier", 5),
             fc8=("classifier", 6))
    return d


def _vgg16_layers() -> dict[str, tuple[str, int]]:
    d, idx, block, k = {}, 0, 1, 1
    for v in _VGG16_CFG:
        if v == "M":
            d[f"pool{block}"] = ("features", idx)
            idx, block, k = idx + 1, block + 1, 1
        else:
            d[f"conv{block}_{k}_pre"], d[f"conv{block}_{k}"] = ("features", idx), ("features", idx + 1)
            idx, k = idx + 2, k + 1
    d.update(fc6_pre=("classifier", 0), fc6=("classifier", 1), fc7_pre=("classifier", 3), fc7=("classifier", 4),
             fc8=("classifier", 6))
    return d


# every layer name per network, in forward order (the "_pre" names are the values before the ReLU)
LAYERS = {"alexnet": _alexnet_layers(), "vgg16": _vgg16_layers()}
_ARCH = {"alexnet": AlexNet, "vgg16": VGG16}


# --- weights: cache, download, hash, weights_only ----------------------------------------------

def cache_dir() -> Path:
    """Where checkpoints are cached: ``$DIP_CACHE_DIR/checkpoints``, else ``~/.cache/dip_lib/checkpoints``."""
    root = os.environ.get("DIP_CACHE_DIR")
    root = Path(root).expanduser() if root else Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "dip_lib"
    return root / "checkpoints"


def _torch_hub_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def checkpoint_path(arch: str) -> Path:
    """The cached checkpoint file of ``arch`` (it may not exist yet); torch hub's copy if only that exists."""
    name = CHECKPOINTS[_check_arch(arch)].filename
    ours, hub = cache_dir() / name, _torch_hub_dir() / name
    return hub if (not ours.exists() and hub.exists()) else ours


def _check_arch(arch: str) -> str:
    key = arch.lower().replace("-", "").replace("_", "")
    if key not in _ARCH:
        raise ValueError(f"unknown classifier {arch!r}; choose 'alexnet' or 'vgg16'")
    return key


def _download(url: str, dst: Path) -> None:
    """Download to a temporary file next to ``dst`` and rename when complete."""
    import urllib.request
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(dst.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=30) as r, open(tmp, "wb") as f:
            for chunk in iter(lambda: r.read(1 << 20), b""):
                f.write(chunk)
        tmp.replace(dst)
    finally:
        if tmp.exists():
            tmp.unlink()


def _load_checked(path: Path, sha256: str) -> dict:
    digest = sha256_of(path)
    if not digest.startswith(sha256.lower()):
        raise WeightsUnavailable(f"{path} has sha256 {digest[:16]}... but {sha256}... was expected: the file is "
                                 f"corrupt or not the published checkpoint; delete it and download it again.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise WeightsUnavailable(f"{path} does not hold a state dict (got {type(state).__name__})")
    return state


def load_weights(net: nn.Module, arch: str, path=None, sha256: str | None = None, download: bool = True,
                 strict: bool = True, quiet: bool = False) -> bool:
    """Load the published ImageNet weights of ``arch`` into ``net``; return True when loaded.

    ``path`` overrides the cached file, ``sha256`` the stored hash prefix (see the module
    docstring for what is checked). Without a usable file and with ``download`` false or the
    network down, it warns (URL, cache folder, "random weights are used") and returns False;
    a file with the wrong hash raises :class:`WeightsUnavailable` (it is never loaded).
    """
    arch = _check_arch(arch)
    ck = CHECKPOINTS[arch]
    sha256 = sha256 or ck.sha256
    path = Path(path) if path is not None else checkpoint_path(arch)
    if not path.exists() and download:
        try:
            _download(ck.url, path)
        except Exception as e:  # offline, HTTP error, disk full
            reason = f"could not download it ({type(e).__name__}: {e})"
        else:
            reason = ""
    else:
        reason = "downloading is switched off" if not path.exists() else ""
    if not path.exists():
        msg = (f"no pretrained {arch} weights: {reason}. RANDOM weights are used instead, so the pictures "
               f"will not look like the paper's. To use the real ones, download {ck.url} and place it at "
               f"{path} (or set DIP_CACHE_DIR; the file goes in $DIP_CACHE_DIR/checkpoints/).")
        if not quiet:
            warnings.warn(msg, stacklevel=2)
        return False
    net.load_state_dict(_load_checked(path, sha256), strict=strict)
    return True


# --- the feature function Φ -----------------------------------------------------------------------

class FeatureExtractor(nn.Module):
    """Φ_layer(x): the activations of ``layer`` for an image x in [0, 1] (frozen, eval mode).

    ``extractor(x)`` returns the named layer; ``extractor(x, "conv3")`` another one;
    ``extractor.pretrained`` says whether the published weights were loaded.
    """

    def __init__(self, net: nn.Module, arch: str, layer: str = "fc8", input_size: int | None = None,
                 pretrained: bool = False):
        super().__init__()
        self.arch, self.net, self.input_size, self.pretrained = arch, net.eval(), input_size, pretrained
        self.layer = self._check_layer(layer)
        for prm in self.net.parameters():
            prm.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    @property
    def layers(self) -> list[str]:
        return list(LAYERS[self.arch])

    def _check_layer(self, layer: str) -> str:
        if layer not in LAYERS[self.arch]:
            names = [n for n in LAYERS[self.arch] if not n.endswith("_pre")]
            raise ValueError(f"{self.arch} has no layer {layer!r}; choose one of {', '.join(names)} "
                             f"(add '_pre' for the value before the ReLU)")
        return layer

    def train(self, mode: bool = True):
        # Φ is frozen: dropout must stay off whatever dip.fit does with the modules it trains
        return super().train(False)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Resize (if ``input_size``) and apply the ImageNet mean/std to x in [0, 1]."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"Φ expects an RGB image 1x3xHxW in [0, 1], got shape {tuple(x.shape)}")
        if self.input_size and tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor, layer: str | None = None) -> torch.Tensor:
        part, stop = LAYERS[self.arch][self._check_layer(layer or self.layer)]
        h = self.normalise(x)
        if part == "features":
            for m in self.net.features[:stop + 1]:
                h = m(h)
            return h
        h = torch.flatten(self.net.avgpool(self.net.features(h)), 1)
        for m in self.net.classifier[:stop + 1]:
            h = m(h)
        return h


def feature_net(arch: str = "alexnet", layer: str = "fc8", pretrained: bool = True, download: bool = True,
                input_size: int | None = None, device=None, path=None, quiet: bool = False) -> FeatureExtractor:
    """Φ for the pre-image and activation-maximisation experiments, ready to call on x in [0, 1].

    ``pretrained``: load the published weights (from the cache, or downloaded if ``download``);
    when they cannot be had a warning explains where to put the file and the random
    initialisation (seeded, reproducible) is kept. Check ``.pretrained`` before trusting the
    pictures. ``input_size`` resizes x to input_size x input_size before the network.
    """
    arch = _check_arch(arch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)       # the fallback random weights are the same every run (global RNG untouched)
        net = _ARCH[arch]()
    loaded = load_weights(net, arch, path=path, download=download, quiet=quiet) if pretrained else False
    phi = FeatureExtractor(net, arch, layer, input_size, loaded)
    return phi.to(device) if device is not None else phi


def imagenet_classes() -> dict[int, str]:
    """ImageNet class index -> human-readable name (registry file ``imagenet_classes``).

    The file is a Python dict literal; it is parsed with ``ast.literal_eval`` (never ``eval``).
    """
    import ast
    from .data import fetch
    text = Path(fetch("imagenet_classes")).read_text(encoding="utf-8")
    d = ast.literal_eval(text)
    if not isinstance(d, dict):
        raise ValueError("the imagenet_classes file is not a dict literal")
    return {int(k): str(v) for k, v in d.items()}
