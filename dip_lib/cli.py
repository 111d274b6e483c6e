"""Command line: ``python -m dip_lib COMMAND``.

    python -m dip_lib denoise [IMAGE] -o out.png      restore a noisy image (σ=25 added unless --real)
    python -m dip_lib reproduce TABLE [options]       the paper's tables (denoising, sr4, sr8, inpainting)
    python -m dip_lib info                            device, preset, data mirror
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def _denoise(argv):
    ap = argparse.ArgumentParser(prog="python -m dip_lib denoise",
                                 description="Denoise an image with the deep image prior and print the PSNR.")
    ap.add_argument("image", nargs="?", default="F16",
                    help="path, URL, registry name (F16, kate, Set5/baby.png) or scikit-image name "
                         "(astronaut, coffee, ...); default F16 (falls back to 'coffee' offline)")
    ap.add_argument("-o", "--output", default="denoised.png", help="where to write the restored image")
    ap.add_argument("--sigma", type=float, default=25, help="std of the Gaussian noise added, 0-255 scale (25)")
    ap.add_argument("--real", action="store_true",
                    help="the image is already noisy: no noise is added and no PSNR against a clean image")
    ap.add_argument("--preset", choices=["test", "cpu", "paper"], help="settings preset (default: DIP_PRESET, "
                    "else paper on a GPU, cpu otherwise)")
    ap.add_argument("--steps", type=int, help="override the preset's iteration count")
    ap.add_argument("--size", type=int, help="resize so the longer side is SIZE (default: the preset's)")
    ap.add_argument("--device", help="cpu, cuda, mps (default: DIP_DEVICE or automatic)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    import dip_lib as dip
    over = {k: v for k, v in dict(steps=a.steps, size=a.size).items() if v is not None}
    try:
        device = dip.resolve_device(a.device)       # checked first: a bad device fails before any work
        p = dip.preset("denoising", a.preset, **over)
    except ValueError as e:
        raise SystemExit(f"error: {e}")
    print(p.describe())
    src = a.image
    try:
        img = dip.load_image(src, size=p.size, multiple=32)
    except dip.DataUnavailable as e:
        if src != "F16":
            raise SystemExit(f"error: {e}")
        print(f"note: {e}\nnote: using the offline image 'coffee' instead")
        img = dip.load_image("coffee", size=p.size, multiple=32)
    except (FileNotFoundError, KeyError, ValueError, TypeError) as e:
        raise SystemExit(f"error: {e}")
    try:
        problem = dip.denoising(noisy=img) if a.real else dip.denoising(img, sigma=a.sigma, seed=a.seed)
    except ValueError as e:
        raise SystemExit(f"error: {e}")
    clean = problem.truth
    if clean is not None:
        print(f"noisy input: PSNR {dip.psnr(problem.observation, clean):.2f} dB (sigma={a.sigma:g})")
    t = time.perf_counter()
    r = dip.solve(problem, p, device=device, seed=a.seed, progress="denoise")
    out = r.ema_image if r.ema_image is not None else r.image
    dip.save_image(out, a.output)
    msg = f"restored in {time.perf_counter() - t:.1f}s ({r.steps} steps on {device})"
    if clean is not None:
        msg += f": PSNR {dip.psnr(out, clean):.2f} dB (last iterate {dip.psnr(r.image, clean):.2f} dB)"
    print(msg)
    print(f"wrote {a.output}")
    return 0


def _info(argv):
    import torch
    import dip_lib as dip
    print(f"dip_lib {dip.__version__}, torch {torch.__version__}")
    try:
        print(f"device: {dip.default_device()}  preset: {dip.active_preset()}")
    except ValueError as e:          # a bad DIP_DEVICE / DIP_PRESET: one line, no traceback
        raise SystemExit(f"error: {e}")
    print(f"data mirror (DIP_DATA_DIR): {os.environ.get('DIP_DATA_DIR') or 'not set: files are downloaded'}")
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"denoise": _denoise, "info": _info}
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "reproduce":
        from .paper.reproduce import main as reproduce_main
        return reproduce_main(rest) or 0
    if cmd not in commands:
        print(f"unknown command {cmd!r}; use one of: denoise, reproduce, info", file=sys.stderr)
        return 2
    return commands[cmd](rest)


if __name__ == "__main__":
    sys.exit(main())
