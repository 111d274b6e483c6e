"""Images in, tensors out: paths, URLs, arrays, registry names and scikit-image's bundled images.

Every image becomes a float tensor 1xCxHxW in [0, 1] (C=3 by default), decoded as an image
viewer shows it: the EXIF orientation is applied, 16-bit files are scaled by their range (not
clipped), transparent pixels are composited over white. A large file is shrunk in PIL before
any float conversion, so a 100-megapixel PNG costs little more than its 8-bit pixels; files
above ``MAX_MEGAPIXELS`` and requested sides above ``MAX_SIZE`` are refused with a message
naming the cap. A bad source (a folder, an empty or truncated file, text named .png, a name
that is not in the registry) is one ValueError / FileNotFoundError that says what to do.

Named images and sets (the paper's images, Set5, Set14, CBM3D9, Heide11) are fetched with pooch
from the public URLs in ``registry.tsv`` and checked against their sha256. Set ``DIP_DATA_DIR``
to a local mirror (a folder laid out like the registry, e.g. ``../shared/data``) to work
offline; ``python -m dip_lib data fetch [SET ...] --to DIR`` builds one
(:mod:`dip_lib.core.mirror`). Downloads are cached in ``DIP_CACHE_DIR`` (default: pooch's cache).
"""
from __future__ import annotations

import difflib
import hashlib
import math
import os
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

__all__ = ["load_image", "fetch", "names", "image_set", "SETS", "ALIASES", "crop_to_multiple",
           "resize", "load_mask", "to_pil", "save_image", "sha256_of", "SKIMAGE_IMAGES", "DataUnavailable",
           "UnknownName", "MAX_MEGAPIXELS", "MAX_SIZE", "FETCH_COMMAND", "fetch_hint", "close_names"]

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

MAX_MEGAPIXELS = 100   # larger files are refused: 100 MP of 8-bit RGB is already 300 MB decoded
MAX_SIZE = 4096        # the largest side an image may be resized to (a 4096^2 fit needs tens of GB)
_MAX_UPSCALE = 8       # blowing an image up more than this invents it: refused
_SHRINK_IN_PIL_ABOVE = 4_000_000   # pixels: larger files are box-reduced in PIL before float conversion
_REDUCING_GAP = 3      # ... to no less than 3x the target size, then Lanczos (as PIL's reducing_gap)
FETCH_COMMAND = "python -m dip_lib data fetch"
_ORIENTATION = 0x0112  # the EXIF tag
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pgm", ".ppm")


class DataUnavailable(RuntimeError):
    """A registry file could not be fetched (offline, bad hash, unknown mirror, unwritable cache)."""


class UnknownName(KeyError, ValueError):
    """A name that is neither a registry file nor a set; the message suggests the closest names."""

    def __str__(self):            # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


def fetch_hint(name: str | None = None) -> str:
    """The advice of every "data unavailable" message: the one command that builds an offline mirror."""
    what = f" {name}" if name else ""
    return (f"offline? run `{FETCH_COMMAND}{what}` on a machine with network (it writes the folder "
            f"dip_data, or --to DIR), then set DIP_DATA_DIR to that folder")


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


def close_names(name: str, n: int = 3) -> list[str]:
    """The registry, set and scikit-image names closest to ``name`` (spelling, case, file stem)."""
    pool = list(ALIASES) + list(_registry()) + list(SETS) + list(SKIMAGE_IMAGES)
    by_lower = {p.lower(): p for p in pool}
    by_stem = {}
    for key in _registry():
        by_stem.setdefault(key.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower(), key)
    q = str(name).strip()
    hits = [by_lower[q.lower()]] if q.lower() in by_lower and by_lower[q.lower()] != q else []
    stem = q.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    if stem in by_stem and by_stem[stem] != q:
        hits.append(by_stem[stem])
    hits += [by_lower[m] for m in difflib.get_close_matches(q.lower(), list(by_lower), n=n, cutoff=0.6)]
    out = []
    for h in hits:
        if h not in out and h != q:
            out.append(h)
    return out[:n]


def _did_you_mean(name: str) -> str:
    close = close_names(name)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def sha256_of(path) -> str:
    """The sha256 hex digest of a file (registry files, checkpoints)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _cache_dir() -> tuple[Path, str]:
    """Where downloads go, and how a message names it."""
    env = os.environ.get("DIP_CACHE_DIR")
    if env:
        return Path(env).expanduser(), f"DIP_CACHE_DIR={env}"
    import pooch
    return Path(pooch.os_cache("dip_lib")), "pooch's default cache; set DIP_CACHE_DIR to move it"


def _check_writable(folder: Path, what: str) -> None:
    """Create ``folder`` and write a probe file in it, or raise DataUnavailable saying it is not writable."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".dip-write-probe-"):
            pass
    except OSError as e:
        raise DataUnavailable(f"the download cache {folder} ({what}) is not writable ({e.strerror or e}): set "
                              f"DIP_CACHE_DIR to a folder you can write to, or point DIP_DATA_DIR at a local "
                              f"mirror (`{FETCH_COMMAND} --to DIR` builds one)") from None


def _offline_errors() -> tuple[type, ...]:
    import socket
    kinds: tuple[type, ...] = (ConnectionError, TimeoutError, socket.gaierror)
    try:
        import requests
        kinds += (requests.ConnectionError, requests.Timeout)
    except ImportError:   # pragma: no cover - pooch depends on requests
        pass
    return kinds


def _short(e: Exception, n: int = 160) -> str:
    """An exception's text on one line, cut to ``n`` characters (requests' errors run to 400)."""
    s = " ".join(str(e).split())
    return s if len(s) <= n else s[:n - 3] + "..."


def fetch(name: str) -> Path:
    """Local path of a registry file, from ``DIP_DATA_DIR`` if set, else downloaded with pooch.

    The sha256 is checked either way. An unknown name raises :class:`UnknownName` (a KeyError and
    a ValueError) with the closest names; a file that cannot be had raises :class:`DataUnavailable`
    naming the file, the cause and the command that builds an offline mirror.
    """
    key = _resolve(name)
    if key is None:
        raise UnknownName(f"{name!r} is not in the data registry{_did_you_mean(name)}; known names include "
                          f"{', '.join(sorted(ALIASES))} and the sets {', '.join(SETS)} (dip.names() lists all)")
    sha, url = _registry()[key]
    mirror = os.environ.get("DIP_DATA_DIR")
    if mirror:
        root = Path(mirror).expanduser()
        path = root / key
        if not root.is_dir():
            raise DataUnavailable(f"the mirror DIP_DATA_DIR={mirror} is not a folder: fix DIP_DATA_DIR, unset it to "
                                  f"download {key} from the web, or build the mirror: {fetch_hint(name)}")
        if not path.is_file():
            raise DataUnavailable(f"{key} is not in the mirror DIP_DATA_DIR={mirror}: add it with "
                                  f"`{FETCH_COMMAND} {name} --to {mirror}` (on a machine with network, then copy "
                                  f"it here), or unset DIP_DATA_DIR to download it from {url}")
        got = sha256_of(path)
        if got != sha:
            raise DataUnavailable(f"{key} in the mirror DIP_DATA_DIR={mirror} is damaged or replaced: its sha256 "
                                  f"{got[:12]}... differs from the registry's {sha[:12]}...; re-fetch it with "
                                  f"`{FETCH_COMMAND} {key} --to {mirror}` (or copy a good one to {path})")
        return path
    cache, what = _cache_dir()
    cached = cache / key.replace("/", "__")
    if cached.is_file() and sha256_of(cached) == sha:       # a read-only cache that holds the file is fine
        return cached
    _check_writable(cache, what)
    import pooch
    try:
        return Path(pooch.retrieve(url, known_hash=f"sha256:{sha}", fname=key.replace("/", "__"),
                                   path=str(cache), progressbar=False))
    except _offline_errors() as e:
        raise DataUnavailable(f"could not download {key} from {url} ({type(e).__name__}: {_short(e)}); "
                              f"{fetch_hint(name)}") from None
    except ValueError as e:      # pooch: the downloaded file's hash differs
        raise DataUnavailable(f"the file downloaded for {key} from {url} does not match the registry's sha256 "
                              f"{sha[:12]}... ({e}): the server's copy changed; report it, and use a mirror that "
                              f"holds the right file (`{FETCH_COMMAND} {name} --from OTHER_MIRROR`, then set "
                              f"DIP_DATA_DIR)") from None
    except Exception as e:  # HTTP error (moved, rate-limited), ...
        raise DataUnavailable(f"could not download {key} from {url} ({type(e).__name__}: {_short(e)}): the server "
                              f"refused it; try again later, or copy it from a mirror with `{FETCH_COMMAND} "
                              f"{name} --from OTHER_MIRROR` and set DIP_DATA_DIR") from None


def image_set(name: str) -> list[str]:
    """The registry names of the images of a named set: Set5, Set14, CBM3D9 or Heide11."""
    if name not in SETS:
        close = difflib.get_close_matches(str(name), SETS, n=1, cutoff=0.5)
        raise UnknownName(f"unknown image set {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                          + f"; choose one of {', '.join(SETS)}")
    return sorted(p for p in _registry() if p.startswith(name + "/"))


# --- decoding: any source -> an HxWxC float array in [0, 1] ---------------------------------------

def _check_range(a: np.ndarray, what: str) -> np.ndarray:
    if a.size and not np.isfinite(a).all():
        raise ValueError(f"the {what} has NaN or infinite values: load a valid image")
    if a.size and (a.min() < -1e-6 or a.max() > 1 + 1e-6):
        hint = " (it looks like 0-255: divide by 255)" if a.max() > 1.5 else ""
        raise ValueError(f"{what} values must be in [0, 1], got [{a.min():.3g}, {a.max():.3g}]{hint}")
    return np.clip(a, 0, 1)


def _tensor_to_array(t: torch.Tensor) -> np.ndarray:
    t = t.detach().float().cpu()
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {t.shape[0]}: pass img[i:i+1]")
        t = t[0]
    if t.dim() == 3:
        t = t.permute(1, 2, 0)
    return _check_range(t.numpy(), "tensor image")


def _ndarray_to_array(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"cannot load an image from an array of {a.dtype}: use uint8, uint16 or float in [0, 1]")
    return _check_range(a.astype(np.float32), "float image")


def _open_file(path: Path, label: str):
    """A lazily opened PIL image, or a one-line error that says what is wrong with the file."""
    from PIL import Image, UnidentifiedImageError
    if path.is_dir():
        raise ValueError(f"{label} is a folder, not an image: pass one image file in it")
    if path.stat().st_size == 0:
        raise ValueError(f"{label} is an empty file (0 bytes): re-export or re-download the image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except Image.DecompressionBombError as e:
        raise ValueError(f"{label} is too large ({e}); images above {MAX_MEGAPIXELS} megapixels "
                         f"(dip_lib.core.data.MAX_MEGAPIXELS) are refused: downscale it first") from None
    except UnidentifiedImageError:
        with open(path, "rb") as f:
            head = f.read(8)
        raise ValueError(f"{label} is not an image file Pillow can read (it starts with {head!r}): pass a PNG, "
                         f"JPEG, TIFF, BMP or WebP image") from None
    except OSError as e:
        raise ValueError(f"{label} cannot be read ({e.strerror or e}): check the file and its permissions") from None


def _open_source(src):
    """``src`` -> (a lazily opened PIL image or an HxW[xC] float array, a label for messages,
    whether the PIL image was opened here)."""
    from PIL import Image
    if isinstance(src, torch.Tensor):
        return _tensor_to_array(src), "tensor image", False
    if isinstance(src, Image.Image):
        return src, "the PIL image", False
    if isinstance(src, np.ndarray):
        return _ndarray_to_array(src), "array", False
    if isinstance(src, (str, Path)):
        s = str(src)
        if not s.strip():
            raise ValueError("the image path is empty (''): give an image file, a URL or a registry name "
                             "such as F16 (dip.names() lists them)")
        if s.startswith(("http://", "https://")):
            return _open_file(_download_url(s), s), s, True
        path = Path(s).expanduser()
        if path.exists():
            return _open_file(path, str(path)), str(path), True
        if _resolve(s) is not None:
            return _open_file(fetch(s), s), s, True
        if s in SKIMAGE_IMAGES:
            import skimage.data
            return _ndarray_to_array(np.asarray(getattr(skimage.data, s)())), s, False
        if path.suffix.lower() in _IMAGE_SUFFIXES and not _did_you_mean(s):
            raise FileNotFoundError(f"no such file: {s!r} (relative to {Path.cwd()}): check the path and its "
                                    f"spelling, or pass a registry name such as F16 (dip.names() lists them)")
        raise FileNotFoundError(f"{s!r} is neither a file, a URL, a registry name (e.g. F16, zebra, kate, "
                                f"Set5/baby.png) nor a scikit-image image ({', '.join(SKIMAGE_IMAGES[:5])}, "
                                f"...){_did_you_mean(s)}")
    raise TypeError(f"cannot load an image from {type(src).__name__}: pass a path, URL, registry name, "
                    f"numpy array, PIL image or tensor")


def _download_url(url: str) -> Path:
    import pooch
    cache, what = _cache_dir()
    _check_writable(cache, what)
    try:
        return Path(pooch.retrieve(url, known_hash=None, path=str(cache), progressbar=False))
    except Exception as e:
        raise DataUnavailable(f"could not download {url} ({type(e).__name__}): check the URL and the network, "
                              f"or download the file and pass its path") from None


def _orientation(im) -> int:
    """The EXIF orientation (1..8; 1 = upright) of a PIL image, 1 when it has none."""
    try:
        o = int(im.getexif().get(_ORIENTATION, 1))
    except Exception:    # a broken EXIF block: show the pixels as stored
        return 1
    return o if 1 <= o <= 8 else 1


def _oriented_size(im) -> tuple[int, int]:
    """(height, width) as a viewer shows the image (orientations 5-8 swap the sides)."""
    w, h = im.size
    return (w, h) if _orientation(im) >= 5 else (h, w)


def _pil_to_array(im, label: str = "the image", target: tuple[int, int] | None = None,
                  draft: bool = True) -> np.ndarray:
    """Decode a PIL image as a viewer shows it -> HxW or HxWxC float32 array in [0, 1].

    ``target`` (H, W): the size it will be resized to; a large file is first shrunk in PIL (JPEG
    draft mode when ``draft``, integer box reduction) to no less than ``_REDUCING_GAP`` x the target.
    """
    from PIL import Image
    w, h = im.size
    if w * h > MAX_MEGAPIXELS * 1_000_000:
        raise ValueError(f"{label} is {w}x{h} = {w * h / 1e6:.0f} megapixels, above the cap of {MAX_MEGAPIXELS} "
                         f"MP (dip_lib.core.data.MAX_MEGAPIXELS): downscale it first (e.g. to 4000 px wide)")
    orientation = _orientation(im)
    shrink = target is not None and w * h > _SHRINK_IN_PIL_ABOVE
    if shrink:
        th, tw = target if orientation < 5 else target[::-1]       # in the file's own orientation
        want = (tw * _REDUCING_GAP, th * _REDUCING_GAP)
        if draft and im.format == "JPEG" and want[0] < w and want[1] < h:
            im.draft(im.mode, want)                               # decode at 1/2, 1/4 or 1/8 scale
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except Exception as e:      # truncated or corrupt data: OSError, SyntaxError, zlib errors, ...
        raise ValueError(f"{label} could not be decoded ({type(e).__name__}: {e}): the file is truncated or "
                         f"corrupt; re-download or re-export it") from None
    im, scale = _normalise_mode(im, label)
    if shrink:
        r = min(im.size[0] // want[0], im.size[1] // want[1])
        if r >= 2:
            im = im.reduce(r)
    if orientation != 1:
        im = im.transpose({2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                           6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                           8: Image.Transpose.ROTATE_90}[orientation])
    a = np.asarray(im, dtype=np.float32)
    return a / scale if scale != 1 else _check_range(a, label)


def _normalise_mode(im, label: str):
    """A PIL image in mode L, RGB, I or F (alpha composited over white) and the value of white."""
    from PIL import Image
    mode = im.mode
    if mode.startswith("I;16"):                  # 16-bit PNG / TIFF / PGM: scale by the 16-bit range
        return im.convert("I"), 65535.0
    if mode == "I":
        lo, hi = im.getextrema()
        if lo < 0:
            raise ValueError(f"{label} holds negative 32-bit values: save it as an 8- or 16-bit image")
        return im, 65535.0 if hi <= 65535 else float(2 ** 31 - 1)
    if mode == "F":
        return im, 1.0                           # checked to be in [0, 1] after decoding
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info):
        # composite transparent pixels over white, on purpose: DIP fits colours, not alpha
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, im).convert("RGB"), 255.0
    if mode == "1":
        return im.convert("L"), 255.0
    if mode not in ("L", "RGB"):
        return im.convert("RGB"), 255.0
    return im, 255.0


def _as_hwc(a: np.ndarray) -> np.ndarray:
    """HxW or HxWxC (C <= 4) -> HxWxC with C in (1, 3); alpha composited over white."""
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or 0 in a.shape:
        raise ValueError(f"cannot interpret an array of shape {a.shape} as an image (HxW or HxWxC with C<=4)")
    if a.shape[2] == 4:      # RGBA array: composite over white
        a = a[..., :3] * a[..., 3:] + (1 - a[..., 3:])
    elif a.shape[2] == 2:    # grey + alpha
        a = a[..., :1] * a[..., 1:] + (1 - a[..., 1:])
    return a


# --- sizes ------------------------------------------------------------------------------------------

def _positive_int(v, what: str, cap: int | None = None) -> int:
    import numbers
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{what} must be a whole number of pixels, got {v!r}")
    v = int(v)
    if v < 1:
        raise ValueError(f"{what} must be at least 1, got {v}")
    if cap is not None and v > cap:
        raise ValueError(f"{what} {v} is above the cap of {cap} px per side (dip_lib.core.data.MAX_SIZE): "
                         f"a fit at that size needs far more memory than a machine has; use {cap} or less")
    return v


def _check_size(size) -> int | tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(f"size must be the longer side (an int) or (height, width), got {size!r}")
        return (_positive_int(size[0], "size", MAX_SIZE), _positive_int(size[1], "size", MAX_SIZE))
    return _positive_int(size, "size", MAX_SIZE)


def _target_size(h: int, w: int, size, min_side: int | None, label: str, verbose: bool) -> tuple[int, int] | None:
    """The (H, W) an h x w image is resized to for ``size`` (longer side or (H, W)), or None.

    With an int ``size`` both sides are kept >= ``min_side`` (the network's smallest side): a
    long, thin image then gets a longer side above ``size`` rather than a side the network cannot take.
    """
    if size is None:
        return None
    if isinstance(size, int):
        s = size / max(h, w)
        th, tw = max(1, round(h * s)), max(1, round(w * s))
        if min_side and min(th, tw) < min_side:
            s = min_side / min(h, w)
            th, tw = (min_side, max(min_side, round(w * s))) if h <= w else (max(min_side, round(h * s)), min_side)
            if max(th, tw) > MAX_SIZE:
                raise ValueError(f"{label} is {h}x{w}: with its shorter side at {min_side} px (the network's "
                                 f"minimum) its longer side would be {max(th, tw)} px, above the cap of {MAX_SIZE}: "
                                 f"crop it to a less elongated region first")
            if verbose:
                print(f"resized {h}x{w} -> {th}x{tw} (not to a longer side of {size}: the network needs both "
                      f"sides >= {min_side})")
    else:
        th, tw = size
    up = max(th / h, tw / w)
    if up > _MAX_UPSCALE:
        raise ValueError(f"{label} is only {h}x{w} pixels: resizing it to {th}x{tw} would blow it up {up:.0f}x "
                         f"and invent the image; use an image with sides of at least "
                         f"{math.ceil(max(th, tw) / _MAX_UPSCALE)} px, or load it without size=")
    return th, tw


def crop_to_multiple(img: torch.Tensor, multiple: int, verbose: bool = True) -> torch.Tensor:
    """Centre-crop a 1xCxHxW tensor so that H and W are multiples of ``multiple``."""
    multiple = _positive_int(multiple, "multiple")
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
    size = _check_size(size)
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
               multiple: int | None = None, device=None, verbose: bool = True,
               min_side: int | None = None) -> torch.Tensor:
    """Load ``src`` as a float tensor 1xCxHxW in [0, 1], as an image viewer shows it.

    Args:
        src: a path, URL, registry name ('F16', 'zebra', 'Set5/baby.png'), scikit-image name
            ('astronaut', 'camera', ...), numpy array (HxW, HxWxC; uint8, uint16 or float in [0,1]),
            PIL image or tensor (values in [0, 1]).
        channels: 3 (grey images are replicated), 1 (colour is converted to luma) or None (as stored).
            Transparent images are composited over white; 16-bit images are scaled by 1/65535;
            the EXIF orientation is applied.
        size: resize so the longer side is ``size`` (or to an exact (H, W)); at most ``MAX_SIZE``.
            A large file is shrunk in PIL before it becomes floats.
        multiple: centre-crop to a multiple of this (the network's stride), with a message.
        min_side: with an int ``size``, keep both sides at least this long (default 2 x
            ``multiple``: the smallest side the kit's networks take, their coarsest scale keeps
            2x2 pixels), so a non-square image suits the network in every preset.
        device: where to put the tensor.
    """
    size = _check_size(size)
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None, not {channels!r}")
    multiple = _positive_int(multiple, "multiple") if multiple else None
    if min_side is None and multiple:
        min_side = 2 * multiple
    if min_side:
        min_side = _positive_int(min_side, "min_side")
        if multiple:
            min_side = -(-min_side // multiple) * multiple
    im, label, opened_here = _open_source(src)
    if isinstance(im, np.ndarray):
        a = _as_hwc(im)
        target = _target_size(a.shape[0], a.shape[1], size, min_side, label, verbose)
    else:
        try:
            h, w = _oriented_size(im)
            target = _target_size(h, w, size, min_side, label, verbose)
            a = _as_hwc(_pil_to_array(im, label, target, draft=opened_here))
        finally:
            if opened_here:
                im.close()
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]
    if channels == 3 and t.shape[1] == 1:
        t = t.repeat(1, 3, 1, 1)
    elif channels == 1 and t.shape[1] == 3:
        t = (0.299 * t[:, :1] + 0.587 * t[:, 1:2] + 0.114 * t[:, 2:3])
    if target is not None:
        t = resize(t, target)
    if multiple:
        t = crop_to_multiple(t, multiple, verbose)
    return t.to(device) if device is not None else t


def to_pil(img: torch.Tensor):
    """1xCxHxW tensor in [0, 1] -> PIL image."""
    from PIL import Image
    a = (img.detach().float().cpu().clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(a[..., 0] if a.shape[2] == 1 else a)


def save_image(img: torch.Tensor, path) -> Path:
    """Write a 1xCxHxW tensor as an 8-bit image file (format from the extension: .png, .jpg, ...).

    The file is written atomically (a temporary file in the same folder, then ``os.replace``):
    an error or Ctrl-C while writing leaves the old file, if any, as it was. An unknown
    extension raises a ValueError before anything is written.
    """
    from .outputs import atomic_write, image_format
    path = Path(path)
    fmt = image_format(path)
    pil = to_pil(img)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        pil.save(f, format=fmt)
    return path


def load_mask(src, size=None, multiple: int | None = None, threshold: float = 0.5) -> torch.Tensor:
    """Load an inpainting mask m (1 = known pixel, 0 = to fill) as a binary 1x1xHxW tensor.

    Give it the ``size``/``multiple`` of its image so both line up. Resizing blurs the mask;
    pixels whose resized value is below ``threshold`` become holes (0.99: every pixel that a
    letter touches, as when anti-aliased text is burnt into a small image).
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    m = (load_image(src, channels=1, size=size, multiple=multiple, verbose=False) >= threshold).float()
    if m.sum() == 0:
        what = src if isinstance(src, (str, Path)) else "the mask"
        raise ValueError(f"{what} has no known pixel at threshold {threshold:g} (white = known, black = to "
                         f"fill): is it inverted? use 1 - mask, or a lower threshold")
    return m
