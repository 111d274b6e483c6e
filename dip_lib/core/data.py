"""Images in, tensors out: paths, URLs, arrays, registry names and scikit-image's bundled images.

Every image becomes a float tensor 1xCxHxW in [0, 1] (C=3 by default). Named images and sets
(the paper's images, Set5, Set14, CBM3D9, Heide11) are fetched with pooch from the public URLs
in ``registry.tsv`` and checked against their sha256. Set ``DIP_DATA_DIR`` to a local mirror
(a folder laid out like the registry, e.g. ``../shared/data``) to work offline.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

__all__ = ["load_image", "fetch", "names", "image_set", "SETS", "ALIASES", "crop_to_multiple",
           "resize", "load_mask", "to_pil", "save_image", "sha256_of", "SKIMAGE_IMAGES", "DataUnavailable"]

_REGISTRY_FILE = Path(__file__).with_name("registry.tsv")
SETS = ("Set5", "Set14", "CBM3D9", "Heide11")
ALIASES = {
    "F16": "paper/denoising/F16_GT.png",
    "snail": "paper/denoising/snail.jpg",
    "zebra": "paper/sr/zebra_GT.png",
    "zebra_crop": "paper/sr/zebra_crop.png",
    "kate": "paper/inpainting/kate.png",
    "kate_mask": "paper/inpainting/kate_mask.png",
    "library": "paper/inpainting/library.png",
    "library_mask": "paper/inpainting/library_mask.png",
    "vase": "paper/inpainting/vase.png",
    "vase_mask": "paper/inpainting/vase_mask.png",
    "barbara": "paper/restoration/barbara.png",
    "kate_restoration": "paper/restoration/kate.png",
    "building": "paper/feature_inversion/building.jpg",
    "monkey": "paper/feature_inversion/monkey.jpg",
    "flash": "paper/flash_no_flash/cave01_00_flash.jpg",
    "noflash": "paper/flash_no_flash/cave01_01_noflash.jpg",
    "imagenet_classes": "paper/imagenet1000_clsid_to_human.txt",
}
SKIMAGE_IMAGES = ("astronaut", "camera", "coffee", "chelsea", "cat", "rocket", "immunohistochemistry",
                  "hubble_deep_field", "retina", "moon", "page", "text", "brick", "grass", "gravel")


class DataUnavailable(RuntimeError):
    """A registry file could not be fetched (offline, bad hash, unknown mirror)."""


@lru_cache(maxsize=1)
def _registry() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in _REGISTRY_FILE.read_text().splitlines():
        if line.strip():
            path, sha, url = line.split("\t")
            rows[path] = (sha, url)
    return rows


def names() -> list[str]:
    """All registry names: aliases (F16, zebra, kate, ...) and full paths (Set5/baby.png, ...)."""
    return sorted(ALIASES) + sorted(_registry())


def _resolve(name: str) -> str | None:
    reg = _registry()
    key = ALIASES.get(name, name)
    if key in reg:
        return key
    stem_matches = [p for p in reg if p.rsplit(".", 1)[0] == key]
    return stem_matches[0] if len(stem_matches) == 1 else None


def sha256_of(path) -> str:
    """The sha256 hex digest of a file (registry files, checkpoints)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(name: str) -> Path:
    """Local path of a registry file, from ``DIP_DATA_DIR`` if set, else downloaded with pooch.

    The sha256 is checked either way; failures raise :class:`DataUnavailable` naming the file
    and the ``DIP_DATA_DIR`` variable.
    """
    key = _resolve(name)
    if key is None:
        raise KeyError(f"{name!r} is not in the data registry; known names include "
                       f"{', '.join(sorted(ALIASES))} and the sets {', '.join(SETS)} (dip.names() lists all)")
    sha, url = _registry()[key]
    mirror = os.environ.get("DIP_DATA_DIR")
    if mirror:
        path = Path(mirror).expanduser() / key
        if not path.exists():
            raise DataUnavailable(f"{key} is not in the mirror DIP_DATA_DIR={mirror}: fix or unset DIP_DATA_DIR "
                                  f"to download it from {url}")
        if sha256_of(path) != sha:
            raise DataUnavailable(f"{path} does not match the registry's sha256 {sha[:12]}...: the mirror "
                                  f"DIP_DATA_DIR={mirror} holds a different file; replace it from {url}")
        return path
    import pooch
    cache = os.environ.get("DIP_CACHE_DIR") or pooch.os_cache("dip_lib")
    try:
        return Path(pooch.retrieve(url, known_hash=f"sha256:{sha}", fname=key.replace("/", "__"),
                                   path=cache, progressbar=False))
    except Exception as e:  # network down, HTTP error, hash mismatch
        raise DataUnavailable(f"could not download {key} from {url} ({type(e).__name__}: {e}). Offline? Point "
                              f"DIP_DATA_DIR at a local copy of the data folder (e.g. export "
                              f"DIP_DATA_DIR=../shared/data).") from None


def image_set(name: str) -> list[str]:
    """The registry names of the images of a named set: Set5, Set14, CBM3D9 or Heide11."""
    if name not in SETS:
        raise KeyError(f"unknown image set {name!r}; choose one of {', '.join(SETS)}")
    return sorted(p for p in _registry() if p.startswith(name + "/"))


def _to_array(src) -> np.ndarray:
    """Any supported source -> HxW or HxWxC float array in [0, 1]."""
    from PIL import Image
    if isinstance(src, torch.Tensor):
        t = src.detach().float().cpu()
        if t.dim() == 4:
            if t.shape[0] != 1:
                raise ValueError(f"expected one image, got a batch of {t.shape[0]}")
            t = t[0]
        if t.dim() == 3:
            t = t.permute(1, 2, 0)
        return t.numpy()
    if isinstance(src, Image.Image):
        return _pil_to_array(src)
    if isinstance(src, np.ndarray):
        a = src
        if a.dtype == np.uint8:
            return a.astype(np.float32) / 255
        if a.dtype == np.uint16:
            return a.astype(np.float32) / 65535
        a = a.astype(np.float32)
        if a.size and (a.min() < 0 or a.max() > 1):
            raise ValueError(f"float image values must be in [0, 1], got [{a.min():.3g}, {a.max():.3g}]")
        return a
    if isinstance(src, (str, Path)):
        s = str(src)
        if s.startswith(("http://", "https://")):
            import pooch
            try:
                path = pooch.retrieve(s, known_hash=None, path=pooch.os_cache("dip_lib"), progressbar=False)
            except Exception as e:
                raise DataUnavailable(f"could not download {s} ({type(e).__name__}): check the URL and the network, "
                                      f"or download the file and pass its path") from None
            return _pil_to_array(Image.open(path))
        if Path(s).expanduser().exists():
            return _pil_to_array(Image.open(Path(s).expanduser()))
        if _resolve(s) is not None:
            return _pil_to_array(Image.open(fetch(s)))
        if s in SKIMAGE_IMAGES:
            import skimage.data
            return _to_array(np.asarray(getattr(skimage.data, s)()))
        raise FileNotFoundError(f"{s!r} is neither a file, a URL, a registry name (e.g. F16, zebra, kate, "
                                f"Set5/baby.png) nor a scikit-image image ({', '.join(SKIMAGE_IMAGES[:5])}, ...)")
    raise TypeError(f"cannot load an image from {type(src).__name__}: pass a path, URL, registry name, "
                    f"numpy array, PIL image or tensor")


def _pil_to_array(im) -> np.ndarray:
    from PIL import Image
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # composite transparent pixels over white, on purpose: DIP fits colours, not alpha
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im).convert("RGB")
    elif im.mode not in ("L", "RGB"):
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.float32) / 255


def crop_to_multiple(img: torch.Tensor, multiple: int, verbose: bool = True) -> torch.Tensor:
    """Centre-crop a 1xCxHxW tensor so that H and W are multiples of ``multiple``."""
    h, w = img.shape[-2:]
    nh, nw = h - h % multiple, w - w % multiple
    if nh == 0 or nw == 0:
        raise ValueError(f"the image is {h}x{w}, smaller than {multiple} (the network's stride): "
                         f"use a larger image or a shallower network")
    if (nh, nw) != (h, w):
        if verbose:
            print(f"cropped {h}x{w} -> {nh}x{nw} (a multiple of {multiple}, the network's stride)")
        t, l = (h - nh) // 2, (w - nw) // 2
        img = img[..., t:t + nh, l:l + nw]
    return img


def resize(img: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Resize with PIL's Lanczos filter; an int is the new longer side (aspect kept)."""
    from PIL import Image
    h, w = img.shape[-2:]
    if isinstance(size, int):
        s = size / max(h, w)
        size = (max(1, round(h * s)), max(1, round(w * s)))
    if tuple(size) == (h, w):
        return img
    chans = []
    for c in img[0].detach().cpu():
        pil = Image.fromarray(c.numpy().astype(np.float32), mode="F")
        chans.append(torch.from_numpy(np.array(pil.resize((size[1], size[0]), Image.LANCZOS))))
    return torch.stack(chans)[None].clamp(0, 1).to(img.device)


def load_image(src, channels: int | None = 3, size: int | tuple[int, int] | None = None,
               multiple: int | None = None, device=None, verbose: bool = True) -> torch.Tensor:
    """Load ``src`` as a float tensor 1xCxHxW in [0, 1].

    Args:
        src: a path, URL, registry name ('F16', 'zebra', 'Set5/baby.png'), scikit-image name
            ('astronaut', 'camera', ...), numpy array (HxW, HxWxC; uint8 or float in [0,1]),
            PIL image or tensor.
        channels: 3 (grey images are replicated), 1 (colour is converted to luma) or None (as stored).
            Transparent images are composited over white.
        size: resize so the longer side is ``size`` (or to an exact (H, W)).
        multiple: centre-crop to a multiple of this (the network's stride), with a message.
        device: where to put the tensor.
    """
    a = _to_array(src)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"cannot interpret an array of shape {a.shape} as an image (HxW or HxWxC with C<=4)")
    if a.shape[2] == 4:      # RGBA array: composite over white
        a = a[..., :3] * a[..., 3:] + (1 - a[..., 3:])
    elif a.shape[2] == 2:    # grey + alpha
        a = a[..., :1] * a[..., 1:] + (1 - a[..., 1:])
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]
    if channels == 3 and t.shape[1] == 1:
        t = t.repeat(1, 3, 1, 1)
    elif channels == 1 and t.shape[1] == 3:
        t = (0.299 * t[:, :1] + 0.587 * t[:, 1:2] + 0.114 * t[:, 2:3])
    elif channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None, not {channels}")
    if size is not None:
        t = resize(t, size)
    if multiple:
        t = crop_to_multiple(t, multiple, verbose)
    return t.to(device) if device is not None else t


def to_pil(img: torch.Tensor):
    """1xCxHxW tensor in [0, 1] -> PIL image."""
    from PIL import Image
    a = (img.detach().float().cpu().clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(a[..., 0] if a.shape[2] == 1 else a)


def save_image(img: torch.Tensor, path) -> Path:
    """Write a 1xCxHxW tensor as an 8-bit image file (format from the extension)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_pil(img).save(path)
    return path


def load_mask(src, size=None, multiple: int | None = None, threshold: float = 0.5) -> torch.Tensor:
    """Load an inpainting mask m (1 = known pixel, 0 = to fill) as a binary 1x1xHxW tensor.

    Give it the ``size``/``multiple`` of its image so both line up. Resizing blurs the mask;
    pixels whose resized value is below ``threshold`` become holes (0.99: every pixel that a
    letter touches, as when anti-aliased text is burnt into a small image).
    """
    m = load_image(src, channels=1, size=size, multiple=multiple, verbose=False)
    return (m >= threshold).float()
