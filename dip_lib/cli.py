"""Command line: ``python -m dip_lib COMMAND``.

One verb per application; each restores IMAGE (or every image of a folder) with the deep image
prior, prints the settings, time, steps, device and PSNR (when a reference is known), and writes
the result:

    python -m dip_lib denoise [IMAGE] -o out.png      add σ=25 noise and remove it (--real: IMAGE is noisy)
    python -m dip_lib sr LOWRES --factor 4 -o out.png super-resolve: the result is 4x (or 8x) larger
    python -m dip_lib inpaint IMAGE --mask MASK       fill the holes of MASK (white = known pixel)
    python -m dip_lib jpeg IMAGE -o out.png           remove JPEG artefacts from a compressed image
    python -m dip_lib deblur IMAGE --kernel gaussian:2 (or motion:9,30) -o out.png
    python -m dip_lib flash FLASH NOFLASH -o out.png  denoise the no-flash photo guided by the flash one
    python -m dip_lib enhance IMAGE -o out.png        boost the fine details (x_e = x0 + k(x0 - x_c))
    python -m dip_lib reproduce TABLE [options]       the paper's tables (denoising, sr4, sr8, inpainting)
    python -m dip_lib data fetch|verify ...           an offline mirror of the data registry
    python -m dip_lib info                            device, preset, data mirror

Common options of the application verbs: -o/--output, --preset test|cpu|paper, --steps N,
--size N (longer side of the result), --device, --seed, --force (overwrite an existing output),
--clean REF (print the PSNR against a reference image). A folder as IMAGE restores every image
in it into the folder -o (one line per image, a summary at the end). Ctrl-C saves the result so
far and exits with code 130. A bad input is one line ``error: ...`` on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

__all__ = ["main", "CLIError", "MAX_STEPS", "MAX_SIZE", "VERBS"]

# the library's caps, one value each: steps (settings) and the longer side of an image (data)
from .core.data import MAX_SIZE  # noqa: E402
from .problems.settings import MAX_STEPS  # noqa: E402

MAX_BOOST = 10.0


class CLIError(Exception):
    """A bad input at the command line: printed as one line ``error: ...``, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block) and exit code 2 through ``main``."""

    def error(self, message):
        m = re.match(r"argument ([^:]+): (.*)", message)
        if m and m.group(2).startswith(m.group(1).split("/")[-1]):    # our own message names the flag
            message = m.group(2)
        raise CLIError(f"{message} (see {self.prog} --help)")


def _one_line(e) -> str:
    s = str(e) if str(e) else type(e).__name__
    if isinstance(e, KeyError) and s.startswith(("'", '"')):   # KeyError quotes its message
        s = s[1:-1]
    return " ".join(s.split())


# --- argument types: every number checked before any work --------------------------------------

def _whole(name: str, lo: int, hi: int, what: str):
    def parse(s: str) -> int:
        try:
            v = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {s!r}") from None
        if not math.isfinite(v) or v != int(v):
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {s!r}")
        v = int(v)
        if v < lo:
            raise argparse.ArgumentTypeError(f"{name} must be at least {lo}, got {v}")
        if v > hi:
            raise argparse.ArgumentTypeError(f"{name} {v:,} is more than the maximum {hi:,} {what}")
        return v
    parse.__name__ = name.lstrip("-")
    return parse


_steps = _whole("--steps", 1, MAX_STEPS, "(the paper's longest run has 50,000 steps)")
_size = _whole("--size", 16, MAX_SIZE, "pixels (a fit that large needs tens of GB of memory)")
_seed = _whole("--seed", 0, 2 ** 63 - 1, "")


def _sigma(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sigma must be a number, got {s!r}") from None
    if not (math.isfinite(v) and 0 < v <= 255):
        raise argparse.ArgumentTypeError(f"--sigma is the noise std on the 0-255 scale and must be in (0, 255] "
                                         f"(25 is the paper's), got {s}")
    return v


def _factor(s: str) -> int:
    if s.strip() not in ("2", "4", "8"):
        raise argparse.ArgumentTypeError(f"--factor must be 4 or 8 (the paper's; 2 also works), got {s!r}")
    return int(s)


def _boost(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--boost must be a number, got {s!r}") from None
    if not (math.isfinite(v) and 0 <= v <= MAX_BOOST):
        raise argparse.ArgumentTypeError(f"--boost k must be in [0, {MAX_BOOST:g}] (1 is the paper's), got {s}")
    return v


def _kernel(s: str) -> str:
    """'gaussian:SIGMA' (0 < σ <= 20 px) or 'motion:LENGTH[,ANGLE]' (1..101 px, any finite angle)."""
    kind, _, args = s.strip().partition(":")
    usage = "use gaussian:SIGMA (e.g. gaussian:2) or motion:LENGTH,ANGLE (e.g. motion:9,30)"
    try:
        if kind == "gaussian":
            sigma = float(args)
            if not (math.isfinite(sigma) and 0 < sigma <= 20):
                raise argparse.ArgumentTypeError(f"bad kernel {s!r}: the Gaussian sigma must be in (0, 20] pixels")
            return f"gaussian:{sigma:g}"
        if kind == "motion":
            length, _, angle = args.partition(",")
            n, a = float(length), float(angle or 0)
            if not (math.isfinite(n) and n == int(n) and 1 <= n <= 101):
                raise argparse.ArgumentTypeError(f"bad kernel {s!r}: the motion length must be a whole number "
                                                 f"of pixels in [1, 101]")
            if not math.isfinite(a):
                raise argparse.ArgumentTypeError(f"bad kernel {s!r}: the angle must be a finite number of degrees")
            return f"motion:{int(n)},{a:g}"
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad kernel {s!r}: {usage}") from None
    raise argparse.ArgumentTypeError(f"bad kernel {s!r}: {usage}")


# --- inputs -----------------------------------------------------------------------------------

def _readable_extensions() -> set[str]:
    from PIL import Image
    Image.init()
    return {e.lower() for e, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def _check_source(src, what: str) -> None:
    """Refuse, in one line, a path that cannot be an image: '', a folder, an empty file."""
    s = "" if src is None else str(src)
    if not s.strip():
        raise CLIError(f"the {what} path is empty: give an image file, a registry name (F16, Set5/baby.png) "
                       f"or a scikit-image name (coffee)")
    p = Path(s).expanduser()
    if p.is_dir():
        raise CLIError(f"the {what} {s!r} is a folder, not an image file")
    if p.is_file() and p.stat().st_size == 0:
        raise CLIError(f"the {what} {s!r} is an empty file (0 bytes): not an image")


def _native_size(src) -> tuple[int, int] | None:
    """(height, width) of an image file from its header (nothing decoded); None for names/URLs."""
    p = Path(str(src)).expanduser()
    if not p.is_file():
        return None
    from PIL import Image
    try:
        with Image.open(p) as im:
            return im.size[1], im.size[0]
    except Image.DecompressionBombError as e:
        raise CLIError(f"{str(src)!r} is too large to open safely ({_one_line(e)}): downscale it first") from None
    except Exception as e:   # noqa: BLE001 - any decoder failure is a bad input here
        raise CLIError(f"cannot read {str(src)!r}: it is not an image file PIL can read ({_one_line(e)})") from None


def _native_side(src) -> int | None:
    """The longer side of an image file from its header (nothing decoded); None for names/URLs."""
    size = _native_size(src)
    return None if size is None else max(size)


@dataclass
class _Ctx:
    """What a verb knows while it runs: the kit, its settings, the network's size constraints."""
    dip: object
    a: argparse.Namespace
    p: object
    device: object
    stride: int
    min_side: int
    log: Callable = print

    def load(self, src, what: str, side: int | None, multiple: int, channels=3, crop_note=False):
        _check_source(src, what)
        try:
            return self.dip.load_image(src, channels=channels, size=side, multiple=multiple, verbose=crop_note)
        except KeyboardInterrupt:
            raise
        except Exception as e:   # noqa: BLE001 - whatever the decoder says, it is this input's fault
            msg = _one_line(e)
            raise CLIError(msg if str(src) in msg else f"cannot read the {what} {str(src)!r}: {msg}") from None

    def side(self, src, scale: int = 1, preset_size: bool = True) -> int | None:
        """The longer side to load ``src`` at: --size (else the preset's unless ``preset_size`` is
        False), divided by ``scale`` (the result is ``scale`` times larger than the input), never
        larger than the file itself (no silent upscaling)."""
        target = self.a.size if self.a.size is not None else self.p.size if preset_size else None
        target = None if target is None else max(1, target // scale)
        native = _native_side(src)
        if native is not None and native * scale > MAX_SIZE and target is None:
            raise CLIError(f"{str(src)!r} is {native} px across, so the result would be {native * scale} px, more "
                           f"than the {MAX_SIZE} px a fit can take: give --size (e.g. --size 512)")
        if target is None:
            return native
        return target if native is None else min(target, native)

    def check_min(self, img, what: str, scale: int = 1):
        h, w = (int(s) * scale for s in img.shape[-2:])
        if min(h, w) < self.min_side:
            raise CLIError(f"the {what} gives a {h}x{w} result, but the network needs at least "
                           f"{self.min_side}x{self.min_side}: use a larger image or a larger --size")
        return img

    def reference(self, src, like_shape, side, multiple, what="reference (--clean)"):
        ref = self.load(src, what, side, multiple)
        if tuple(ref.shape[-2:]) != tuple(like_shape[-2:]):
            raise CLIError(f"the {what} {str(src)!r} is {ref.shape[-2]}x{ref.shape[-1]} after resizing and "
                           f"cropping like the input, but the result is {like_shape[-2]}x{like_shape[-1]}: it "
                           f"must show the same picture (same aspect ratio)")
        return ref


@dataclass
class _Job:
    """One restoration: the inputs by role, where the result goes, a display name."""
    name: str
    sources: dict
    output: Path


@dataclass
class _Prepared:
    problem: object
    truth: object = None          # the reference the result is scored against (None: no PSNR)
    before: str | None = None     # a line about the degraded input (e.g. its PSNR)
    extra: dict = field(default_factory=dict)


# --- the verbs ---------------------------------------------------------------------------------

@dataclass
class Verb:
    """An application at the command line: how to parse, load, build the problem and finish."""
    name: str
    application: str
    summary: str
    roles: tuple                       # positional inputs, e.g. ('image',) or ('flash', 'noflash')
    default_output: str
    add_args: Callable
    prepare: Callable                  # (ctx, sources) -> _Prepared
    finish: Callable = None            # (ctx, result, prepared) -> image tensor
    blind: Callable = lambda a: False  # True: no reference, stop early automatically (ES-WMV)


def _output(r):
    """The image a fit gives: the early-stopped one when ES-WMV stopped it, else the running
    average, else the last output (``FitResult.output``)."""
    out = getattr(r, "output", None)
    return out if out is not None else (r.ema_image if r.ema_image is not None else r.image)


def _default_finish(ctx, r, prep):
    return _output(r)


# denoise

def _denoise_args(ap):
    ap.add_argument("--sigma", type=_sigma, default=None,
                    help="std of the Gaussian noise added, 0-255 scale (default 25); ignored with --real")
    ap.add_argument("--real", action="store_true",
                    help="IMAGE is already noisy: no noise is added (blind; PSNR only with --clean)")


def _denoise_prepare(ctx, src):
    dip, a = ctx.dip, ctx.a
    image = src["image"]
    if image is None:            # no image named: F16, or the offline image if F16 is unavailable
        try:
            img = ctx.load("F16", "image", ctx.side("F16"), ctx.stride)
        except CLIError as e:
            ctx.log(f"note: F16 is unavailable ({e})")
            ctx.log("note: no image was given, so the offline scikit-image 'coffee' is used instead")
            img = ctx.load("coffee", "image", ctx.side("coffee"), ctx.stride)
    else:
        img = ctx.load(image, "image", ctx.side(image), ctx.stride, crop_note=True)
    ctx.check_min(img, "image")
    real = a.real or a.clean is not None
    if not real:
        sigma = 25.0 if a.sigma is None else a.sigma
        problem = dip.denoising(img, sigma=sigma, seed=a.seed)
        return _Prepared(problem, img, f"noisy input: PSNR {dip.psnr(problem.observation, img):.2f} dB "
                                       f"(sigma={sigma:g})")
    if a.sigma is not None:
        ctx.log("note: --sigma is ignored: the image is already noisy (--real or --clean), no noise is added")
    problem = dip.denoising(noisy=img)
    if a.clean is None:
        return _Prepared(problem)
    ref = ctx.reference(a.clean, img.shape, ctx.side(image or "F16"), ctx.stride)
    return _Prepared(problem, ref, f"noisy input: PSNR {dip.psnr(img, ref):.2f} dB")


# super-resolution

def _sr_args(ap):
    ap.add_argument("--factor", type=_factor, default=4,
                    help="upscaling factor: 4 or 8 (default 4); the result is FACTOR x the input's size "
                         "(the preset's image size does not apply: the input is used as given unless --size)")


def _sr_prepare(ctx, src):
    dip, f = ctx.dip, ctx.a.factor
    if ctx.stride % f:
        raise CLIError(f"--factor {f} does not divide the network's stride {ctx.stride}")
    image = src["image"]
    side = ctx.side(image, scale=f, preset_size=False)   # the low-resolution image as given, unless --size
    low = ctx.check_min(ctx.load(image, "low-resolution image", side, ctx.stride // f, crop_note=True),
                        "low-resolution image", scale=f)
    problem = dip.super_resolution(low=low, factor=f)
    if ctx.a.clean is None:
        return _Prepared(problem)
    ref = ctx.reference(ctx.a.clean, problem.x_shape, None if side is None else side * f, ctx.stride,
                        what="high-resolution reference (--clean)")
    problem = replace(problem, truth=ref)
    bic = dip.baselines.bicubic(low, f)
    return _Prepared(problem, ref, f"bicubic x{f}: PSNR {problem.metric(bic, ref):.2f} dB (Y channel, SR protocol)")


# inpainting

def _inpaint_args(ap):
    ap.add_argument("--mask", required=True,
                    help="the mask image, same size as IMAGE (or a folder of masks named like the images)")
    ap.add_argument("--mask-white", choices=["known", "hole"], default="known",
                    help="what white pixels of the mask mean: 'known' (default: white = keep, black = fill) or "
                         "'hole' (white = fill)")
    ap.add_argument("--resize-mask", action="store_true",
                    help="accept a mask of another size than the image (same aspect ratio) and resize it; "
                         "without it such a mask is refused")


def _inpaint_prepare(ctx, src):
    dip, a = ctx.dip, ctx.a
    image, mask_src = src["image"], src["mask"]
    img_size, mask_size = _native_size(image), _native_size(mask_src)
    if img_size is not None and mask_size is not None and img_size != mask_size:
        if not a.resize_mask:
            raise CLIError(f"the mask {str(mask_src)!r} is {mask_size[0]}x{mask_size[1]} but the image {str(image)!r} "
                           f"is {img_size[0]}x{img_size[1]}: give a mask of the image's size, or pass --resize-mask "
                           f"to resize it")
        ctx.log(f"note: resizing the mask {str(mask_src)!r} from {mask_size[0]}x{mask_size[1]} to the image's "
                f"{img_size[0]}x{img_size[1]} (--resize-mask)")
    side = ctx.side(image)
    img = ctx.check_min(ctx.load(image, "image", side, ctx.stride, crop_note=True), "image")
    m = ctx.load(mask_src, "mask (--mask)", side, ctx.stride, channels=1)
    if tuple(m.shape[-2:]) != tuple(img.shape[-2:]):
        raise CLIError(f"the mask {str(mask_src)!r} is {m.shape[-2]}x{m.shape[-1]} after resizing and cropping "
                       f"like the image, which is {img.shape[-2]}x{img.shape[-1]}: give a mask of the image's size")
    # resizing blurs the mask's edges: a pixel is known only where the mask says so clearly
    m = (m >= 0.9).float() if a.mask_white == "known" else (m <= 0.1).float()
    known = float(m.mean())
    if known == 0:
        other = "hole" if a.mask_white == "known" else "known"
        raise CLIError(f"the mask {str(mask_src)!r} has no known pixel (white = {a.mask_white}): nothing to fit; "
                       f"if white marks the {other} pixels, pass --mask-white {other}")
    if known == 1:
        ctx.log(f"note: the mask {str(mask_src)!r} has no hole: nothing to fill")
    truth = None
    if a.clean is not None:
        truth = ctx.reference(a.clean, img.shape, side, ctx.stride)
    problem = dip.inpainting(img, m, truth=truth)
    if truth is None:
        problem = replace(problem, truth=None)
    before = f"known pixels: {known:.0%}" + (f"; input: PSNR {dip.psnr(problem.observation, truth):.2f} dB"
                                             if truth is not None else "")
    return _Prepared(problem, truth, before)


# JPEG

def _jpeg_prepare(ctx, src):
    dip, image = ctx.dip, src["image"]
    side = ctx.side(image, preset_size=False)     # resizing would blur the 8x8 blocks: as given unless --size
    img = ctx.check_min(ctx.load(image, "JPEG image", side, ctx.stride, crop_note=True), "JPEG image")
    problem = dip.jpeg_artifacts(jpeg_image=img)
    if ctx.a.clean is None:
        return _Prepared(problem)
    ref = ctx.reference(ctx.a.clean, img.shape, side, ctx.stride)
    return _Prepared(replace(problem, truth=ref), ref, f"JPEG input: PSNR {dip.psnr(img, ref):.2f} dB")


# deblurring

def _deblur_args(ap):
    ap.add_argument("--kernel", type=_kernel, required=True,
                    help="the blur: gaussian:SIGMA (pixels, e.g. gaussian:2) or motion:LENGTH,ANGLE "
                         "(pixels, degrees; e.g. motion:9,30), in the pixels of IMAGE: it is used at its own "
                         "size unless --size, which scales the kernel too")


def _scaled_kernel(spec: str, s: float) -> str:
    """The kernel ``spec`` for an image resized by ``s`` (σ and the motion length scale with it)."""
    kind, _, args = spec.partition(":")
    if kind == "gaussian":
        return f"gaussian:{float(args) * s:.3g}"
    length, _, angle = args.partition(",")
    return f"motion:{max(1, round(int(length) * s))},{angle or 0}"


def _deblur_prepare(ctx, src):
    dip, a, image = ctx.dip, ctx.a, src["image"]
    # the kernel is in the pixels of the image as given: no preset resizing, and --size scales the kernel
    side = ctx.side(image, preset_size=False)
    full = ctx.load(image, "blurred image", None, None)
    native, spec = max(full.shape[-2:]), a.kernel
    if side and side < native:
        full = dip.resize(full, side)
        spec = _scaled_kernel(a.kernel, max(full.shape[-2:]) / native)
        ctx.log(f"note: the image was resized from {native} to {max(full.shape[-2:])} px, so the kernel "
                f"{a.kernel} becomes {spec}")
    img = ctx.check_min(dip.crop_to_multiple(full, ctx.stride), "blurred image")
    k = dip.blur_kernel(spec)
    if max(k.shape) >= min(img.shape[-2:]):
        raise CLIError(f"the kernel {a.kernel} is {k.shape[-1]} px wide, as large as the {img.shape[-2]}x"
                       f"{img.shape[-1]} image: use a smaller kernel or a larger image")
    problem = dip.deblurring(kernel=k, blurred=img)
    if a.clean is None:
        return _Prepared(problem)
    ref = ctx.reference(a.clean, img.shape, side, ctx.stride)
    return _Prepared(replace(problem, truth=ref), ref, f"blurred input: PSNR {dip.psnr(img, ref):.2f} dB")


# flash / no-flash

def _flash_prepare(ctx, src):
    dip = ctx.dip
    fl, nf = src["flash"], src["noflash"]
    side = ctx.side(fl)
    f = ctx.check_min(ctx.load(fl, "flash image", side, ctx.stride, crop_note=True), "flash image")
    n = ctx.load(nf, "no-flash image", side, ctx.stride)
    if f.shape != n.shape:
        raise CLIError(f"the flash image is {f.shape[-2]}x{f.shape[-1]} but the no-flash image "
                       f"{n.shape[-2]}x{n.shape[-1]} (after resizing and cropping alike): they must be the same "
                       f"scene at the same size")
    problem = dip.flash_no_flash(f, n)
    if ctx.a.clean is None:
        return _Prepared(problem)
    ref = ctx.reference(ctx.a.clean, n.shape, side, ctx.stride)
    return _Prepared(replace(problem, truth=ref), ref, f"no-flash input: PSNR {dip.psnr(n, ref):.2f} dB")


# detail enhancement

def _enhance_args(ap):
    ap.add_argument("--boost", type=_boost, default=1.0,
                    help="k in x_e = x0 + k(x0 - x_c): how much the fine details are amplified (default 1)")


def _enhance_prepare(ctx, src):
    image = src["image"]
    img = ctx.check_min(ctx.load(image, "image", ctx.side(image), ctx.stride, crop_note=True), "image")
    prep = _Prepared(ctx.dip.enhancement(img), extra={"x0": img})
    if ctx.a.clean is not None:
        prep.truth = ctx.reference(ctx.a.clean, img.shape, ctx.side(image), ctx.stride)
    prep.problem = replace(prep.problem, truth=prep.truth)
    return prep


def _enhance_finish(ctx, r, prep):
    from .experiments.enhance import decompose
    x0 = prep.extra["x0"]
    coarse = _output(r)
    ctx.log(f"coarse layer x_c: PSNR(x_c, x0) {ctx.dip.psnr(coarse, x0):.2f} dB; details boosted by k={ctx.a.boost:g}")
    return decompose(x0, [coarse], k=ctx.a.boost)[0].enhanced


VERBS: dict[str, Verb] = {v.name: v for v in [
    Verb("denoise", "denoising", "Denoise an image (σ=25 noise is added first unless --real) and print the PSNR.",
         ("image",), "denoised.png", _denoise_args, _denoise_prepare,
         blind=lambda a: a.real or a.clean is not None),
    Verb("sr", "sr", "Super-resolve a low-resolution image: the result is --factor times larger.",
         ("image",), "super_resolved.png", _sr_args, _sr_prepare),
    Verb("inpaint", "inpainting", "Fill the holes of an image given by a mask (white = known pixels).",
         ("image",), "inpainted.png", _inpaint_args, _inpaint_prepare),
    Verb("jpeg", "jpeg", "Remove the blocking and ringing artefacts of a JPEG-compressed image "
         "(used at its own size unless --size: resizing would blur the 8x8 blocks).",
         ("image",), "dejpeg.png", lambda ap: None, _jpeg_prepare, blind=lambda a: True),
    Verb("deblur", "deblurring", "Deblur an image blurred by a known kernel (Gaussian or motion).",
         ("image",), "deblurred.png", _deblur_args, _deblur_prepare),
    Verb("flash", "flash", "Denoise a no-flash photograph guided by a flash photograph of the same scene.",
         ("flash", "noflash"), "flash_no_flash.png", lambda ap: None, _flash_prepare),
    Verb("enhance", "enhancement", "Enhance the fine details of an image (coarse x_c from an early stop).",
         ("image",), "enhanced.png", _enhance_args, _enhance_prepare, finish=_enhance_finish),
]}

_ROLE_HELP = {
    "image": "an image file, a folder of images, a registry name (F16, Set5/baby.png) or a scikit-image name",
    "flash": "the flash photograph (file, folder or registry name, e.g. flash)",
    "noflash": "the no-flash photograph of the same scene (file, or a folder with the same file names)",
}


def _parser(verb: Verb) -> _Parser:
    ap = _Parser(prog=f"python -m dip_lib {verb.name}", description=verb.summary)
    for role in verb.roles:
        if verb.name == "denoise":
            ap.add_argument(role, nargs="?", default=None,
                            help=_ROLE_HELP[role] + "; default F16 (the offline image 'coffee' if F16 is "
                                 "unavailable and no image is named)")
        else:
            what = {"sr": "the low-resolution image: ", "jpeg": "the JPEG-compressed image: ",
                    "deblur": "the blurred image: ", "inpaint": "the image with holes (their pixels are ignored): ",
                    "enhance": "the image to enhance: "}.get(verb.name, "")
            ap.add_argument(role, help=what + _ROLE_HELP[role])
    verb.add_args(ap)
    ap.add_argument("-o", "--output", default=None,
                    help=f"where to write the result (default {verb.default_output}; a folder when the input is "
                         f"a folder)")
    ap.add_argument("--clean", default=None, metavar="REF",
                    help="a reference (clean) image: print the PSNR of the input and of the result against it "
                         "(a folder of references named like the inputs for a folder)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing output")
    ap.add_argument("--preset", choices=["test", "cpu", "paper"],
                    help="settings preset (default: DIP_PRESET, else paper on a GPU, cpu otherwise)")
    ap.add_argument("--steps", type=_steps, help=f"override the preset's iteration count (1..{MAX_STEPS:,})")
    ap.add_argument("--size", type=_size, help=f"longer side of the result in pixels (default: the preset's; "
                                                f"at most {MAX_SIZE}; images are never upscaled)")
    ap.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: DIP_DEVICE or automatic)")
    ap.add_argument("--seed", type=_seed, default=0, help="seed of θ, z and the simulated noise (default 0)")
    if verb.name in ("denoise", "jpeg"):
        ap.add_argument("--no-early-stop", action="store_true",
                        help="run all --steps even without a reference (by default a blind fit stops "
                             "automatically when the output stops changing: ES-WMV)")
    ap.add_argument("--fp32", action="store_true", help="compute in float32 (default: automatic precision)")
    return ap


# --- jobs: one image, or a folder of images -----------------------------------------------------

def _images_in(folder: Path) -> list[Path]:
    exts = _readable_extensions()
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in exts)


def _match(folder: Path, stem: str, what: str):
    hits = [p for p in _images_in(folder) if p.stem == stem]
    if len(hits) != 1:
        raise CLIError(f"no {what} named {stem}.* in {str(folder)!r}" if not hits else
                       f"several {what}s named {stem}.* in {str(folder)!r}")
    return str(hits[0])


def _jobs(verb: Verb, a) -> tuple[list[_Job], bool]:
    """The jobs to run and whether the input was a folder; every output is checked first."""
    from .core.outputs import check_folder_writable, check_output, same_file
    main_role = verb.roles[0]
    first = getattr(a, main_role)
    folder = first is not None and str(first).strip() != "" and Path(str(first)).expanduser().is_dir()
    extra_roles = {"mask": getattr(a, "mask", None), "clean": a.clean}
    if not folder:
        sources = {r: getattr(a, r) for r in verb.roles}
        if "mask" in vars(a):
            sources["mask"] = a.mask
        inputs = [s for s in [*sources.values(), a.clean] if s is not None]
        names = {**{r: r for r in verb.roles}, "image": "image", "mask": "mask (--mask)"}
        for role, s in [*sources.items(), ("clean", a.clean)]:
            if s is not None or (role in verb.roles and verb.name != "denoise"):
                _check_source(s, names.get(role, "reference (--clean)"))
        try:
            out = check_output(verb.default_output if a.output is None else a.output, inputs=inputs,
                               force=a.force)
        except (ValueError, FileExistsError) as e:
            raise CLIError(_one_line(e)) from None
        return [_Job(Path(str(first)).name if first else "F16", sources, out)], False

    src_dir = Path(str(first)).expanduser()
    if not a.output:
        raise CLIError(f"{str(first)!r} is a folder: give an output folder with -o (one result per image)")
    out_dir = Path(a.output).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"the input is a folder, so the output must be one too, but {a.output!r} is a file")
    try:
        check_folder_writable(out_dir if out_dir.exists() else out_dir.parent)
    except ValueError as e:
        raise CLIError(_one_line(e)) from None
    images = _images_in(src_dir)
    if not images:
        raise CLIError(f"the folder {str(first)!r} has no image files")
    for role in verb.roles[1:]:
        other = getattr(a, role)
        if not Path(str(other)).expanduser().is_dir():
            raise CLIError(f"the {role} must be a folder too when the {main_role} is a folder, got {other!r}")
    jobs, seen, existing = [], {}, []
    for img in images:
        out = out_dir / (img.stem + ".png")
        if img.stem in seen:
            raise CLIError(f"{seen[img.stem].name} and {img.name} would both be written to {str(out)!r}: "
                           f"rename one of them")
        seen[img.stem] = img
        sources = {main_role: str(img)}
        for role in verb.roles[1:]:
            sources[role] = _Lazy(Path(str(getattr(a, role))).expanduser(), img.stem, role)
        for role, val in extra_roles.items():
            if val is not None and (role != "mask" or "mask" in vars(a)):
                v = Path(str(val)).expanduser()
                sources[role] = _Lazy(v, img.stem, role) if v.is_dir() else str(val)
        if any(same_file(out, s) for s in [img, *[s for s in sources.values() if isinstance(s, str)]]):
            raise CLIError(f"the output {str(out)!r} would replace the input {img.name}: choose another -o folder")
        if out.exists() and not a.force:
            existing.append(out.name)
        jobs.append(_Job(img.name, sources, out))
    if existing:
        raise CLIError(f"{len(existing)} output(s) exist in {a.output!r} ({', '.join(existing[:3])}"
                       f"{', ...' if len(existing) > 3 else ''}): pass --force to overwrite them")
    out_dir.mkdir(exist_ok=True)
    return jobs, True


@dataclass
class _Lazy:
    """The file of a companion folder (masks, references, no-flash) matching an image's name."""
    folder: Path
    stem: str
    role: str

    def resolve(self) -> str:
        return _match(self.folder, self.stem, self.role)


def _resolve_sources(job: _Job, a) -> dict:
    out = {k: (v.resolve() if isinstance(v, _Lazy) else v) for k, v in job.sources.items()}
    if "clean" in out:
        a.clean = out.pop("clean")
    if "mask" in out:
        a.mask = out["mask"]
    return out


# --- running a verb --------------------------------------------------------------------------------

def _run(verb: Verb, argv) -> int:
    import dip_lib as dip
    a = _parser(verb).parse_args(argv)
    over = {k: v for k, v in dict(steps=a.steps, size=a.size).items() if v is not None}
    blind = verb.blind(a)
    if blind and not getattr(a, "no_early_stop", False):
        over["early_stop"] = True
    if a.fp32:
        over["precision"] = "fp32"
    try:
        device = dip.resolve_device(a.device)      # checked first: a bad device fails before any work
        p = dip.preset(verb.application, a.preset, **over)
        if p.early_stop == "stop" and a.steps is None and getattr(p, "real_steps", None):
            p = p.replace(steps=p.real_steps)      # a blind fit: ES-WMV decides, within the blind budget
        spec = dip.architecture(p.arch, in_channels=p.input_depth, width=p.width)
    except (ValueError, TypeError) as e:
        raise CLIError(_one_line(e)) from None
    min_out = spec.min_side
    if a.size is not None and a.size < min_out:
        raise CLIError(f"--size {a.size} is smaller than the network allows ({min_out} px at least)")
    jobs, folder = _jobs(verb, a)                  # outputs checked before anything is loaded or fitted
    ctx = _Ctx(dip, a, p, device, spec.stride, spec.min_side)
    print(p.describe())
    if getattr(p, "early_stop", "off") == "stop":
        print(f"early stopping without a reference (ES-WMV: window {p.es_window}, patience {p.es_patience} steps); "
              f"--no-early-stop runs all {p.steps} steps")
    print(f"device: {device}" + (f"; {len(jobs)} images from {getattr(a, verb.roles[0])!r} into {a.output!r}"
                                 if folder else ""))
    done, failed, scores, t_all = 0, [], [], time.perf_counter()
    for job in jobs:
        try:
            prep = verb.prepare(ctx, _resolve_sources(job, a))
        except CLIError as e:
            if not folder:
                raise
            print(f"error: {job.name}: {e}", file=sys.stderr)
            failed.append(job.name)
            continue
        except ValueError as e:            # a problem constructor refused the data
            if not folder:
                raise CLIError(_one_line(e)) from None
            print(f"error: {job.name}: {_one_line(e)}", file=sys.stderr)
            failed.append(job.name)
            continue
        if prep.before and not folder:
            print(prep.before)
        t = time.perf_counter()
        try:
            r = dip.solve(prep.problem, p, device=device, seed=a.seed,
                          progress=f"{verb.name} {job.name}" if folder else verb.name)
        except ValueError as e:            # e.g. an image the network cannot take
            if not folder:
                raise CLIError(_one_line(e)) from None
            print(f"error: {job.name}: {_one_line(e)}", file=sys.stderr)
            failed.append(job.name)
            continue
        except KeyboardInterrupt:          # before the first step: nothing of this image to save
            if folder and done:
                raise _Interrupted(f"interrupted: {done} of {len(jobs)} images were written to {a.output}") from None
            raise
        out = (verb.finish or _default_finish)(ctx, r, prep)
        secs = time.perf_counter() - t
        _save(dip, out, job.output)
        done += 1
        score = None if prep.truth is None else prep.problem.metric(out, prep.truth)
        if score is not None:
            scores.append(score)
        stopped = ""
        if not r.interrupted and r.steps < p.steps:
            at = getattr(r, "stop_step", None)
            kept = getattr(r, "stop_ema_step", None)      # the running average when the rule fired
            if at and kept:
                stopped = (f", stopped early (ES-WMV): the running average of step {kept}"
                           f" (the variance's minimum: step {at})")
            else:
                stopped = ", stopped early (ES-WMV)" + (f": the output of step {at}" if at else "")
        if folder:
            line = f"{job.name}: {r.steps} steps, {secs:.1f}s" + (f", PSNR {score:.2f} dB" if score is not None
                                                                  else "") + f" -> {job.output}"
        else:
            prec = getattr(r, "precision", "fp32")
            prec = "" if prec == "fp32" else f", {prec}"
            line = f"restored in {secs:.1f}s ({r.steps} steps on {device}{prec}{stopped})"
            if score is not None:
                last = prep.problem.metric(r.image, prep.truth)
                line += f": PSNR {score:.2f} dB (last iterate {last:.2f} dB)"
        print(line)
        if r.interrupted:
            print(f"interrupted at step {r.steps} of {p.steps}: saved the result so far to {job.output}",
                  file=sys.stderr)
            return 130
        if not folder:
            print(f"wrote {job.output}")
    if folder:
        mean = f", mean PSNR {sum(scores) / len(scores):.2f} dB" if scores else ""
        fails = f"; {len(failed)} failed ({', '.join(failed)})" if failed else ""
        print(f"restored {done} of {len(jobs)} images in {time.perf_counter() - t_all:.1f}s{mean} into "
              f"{a.output}{fails}")
        return 2 if failed else 0
    return 0


def _save(dip, img, path: Path):
    """Write atomically; a Ctrl-C while writing leaves any old file intact and says so."""
    try:
        dip.save_image(img, path)
    except KeyboardInterrupt:
        raise _Interrupted(f"interrupted while writing {path}: nothing was written (any old file is intact)")
    except OSError as e:
        raise CLIError(f"could not write {str(path)!r}: {e.strerror or _one_line(e)}") from None


class _Interrupted(Exception):
    pass


# --- info, data, dispatch ---------------------------------------------------------------------------

def _info(argv):
    import torch
    import dip_lib as dip
    if argv and argv[0] not in ("-h", "--help"):
        raise CLIError(f"info takes no arguments, got {' '.join(argv)}")
    if argv:
        print("python -m dip_lib info: the version, the device and preset that would be used, the data mirror")
        return 0
    print(f"dip_lib {dip.__version__}, torch {torch.__version__}")
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    print(f"CUDA: {n} GPU(s) ({torch.cuda.get_device_name(0)})" if n else
          "CUDA: not available (no GPU, or a CPU-only build of torch)")
    try:
        print(f"device: {dip.default_device()}  preset: {dip.active_preset()}")
    except ValueError as e:          # a bad DIP_DEVICE / DIP_PRESET: one line, no traceback
        raise CLIError(_one_line(e)) from None
    print(f"data mirror (DIP_DATA_DIR): {os.environ.get('DIP_DATA_DIR') or 'not set: files are downloaded'}")
    return 0


def _data(argv):
    try:
        from .core.mirror import main as mirror_main
    except ImportError:
        raise CLIError("the data command needs dip_lib.core.mirror, which this installation lacks") from None
    return mirror_main(argv) or 0


def _reproduce(argv):
    from .paper.reproduce import main as reproduce_main
    return reproduce_main(argv) or 0


def main(argv=None) -> int:
    """``python -m dip_lib COMMAND ...``; returns the exit code (2: bad input, 130: Ctrl-C)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {**{name: (lambda v: lambda rest: _run(v, rest))(verb) for name, verb in VERBS.items()},
                "info": _info, "data": _data, "reproduce": _reproduce}
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd not in commands:
        print(f"error: unknown command {cmd!r}; use one of: {', '.join(commands)} (python -m dip_lib --help)",
              file=sys.stderr)
        return 2
    try:
        return commands[cmd](rest)
    except CLIError as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    except _Interrupted as e:
        print(str(e), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    except SystemExit as e:      # --help, or a sub-command's own exit
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code if str(e.code).startswith("error") else f"error: {e.code}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory: use a smaller --size (or the cpu/test preset)", file=sys.stderr)
        return 1
    except Exception as e:       # noqa: BLE001 - a failure inside the fit: one line, the traceback on request
        if os.environ.get("DIP_DEBUG"):
            raise
        print(f"error: {type(e).__name__}: {_one_line(e)} (DIP_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
