"""The blind command line on photos nobody tuned the kit to: time, size and PSNR of
``python -m dip_lib denoise NOISY --real --preset cpu --size 256`` against scikit-image's
non-local means given the true σ.

    python benchmarks/blind_denoise.py [--images chelsea coffee astronaut] [--sigma 25]

For each image: a 256 px crop of the photo, σ=25 Gaussian noise added and saved as an 8-bit
PNG (what a user would have), the CLI run as a subprocess (wall-clock time, whether it stopped
early), then PSNRs of its output and of NLM against the clean crop. One JSON line per image and
a summary line. The machine's reference step (``bench_fit.reference_step``: the plain fp32 step of
the default network at 256 px, same threads) is measured first, so each time is also given in
reference steps (``ref_steps``), the unit of the kit's budgets (goal: <= 200 per photo).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dip_lib as dip
from dip_lib.problems import baselines

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fit import cpu_name, reference_step  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", nargs="*", default=["chelsea", "coffee", "astronaut"])
    ap.add_argument("--sigma", type=float, default=25)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--preset", default="cpu")
    a = ap.parse_args(argv)
    import torch
    ref = reference_step("cpu")
    print(json.dumps(dict(reference_step_s=round(ref, 4), machine=cpu_name(), threads=torch.get_num_threads())),
          flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, name in enumerate(a.images):
            clean = dip.load_image(name, size=a.size, multiple=32, verbose=False)
            noisy = dip.denoising(clean, sigma=a.sigma, seed=k).observation
            src, out = Path(tmp) / f"{name}_noisy.png", Path(tmp) / f"{name}_dip.png"
            dip.save_image(noisy, src)
            noisy8 = dip.load_image(src, verbose=False)                 # what the user has: 8-bit
            t = time.perf_counter()
            run = subprocess.run([sys.executable, "-m", "dip_lib", "denoise", str(src), "--real", "--preset", a.preset,
                                  "--size", str(a.size), "-o", str(out)], capture_output=True, text=True)
            seconds = time.perf_counter() - t
            if run.returncode:
                print(run.stdout, run.stderr, file=sys.stderr)
                raise SystemExit(f"error: the CLI failed on {name}")
            restored = dip.load_image(out, verbose=False)
            m = re.search(r"\((\d+) steps", run.stdout)
            row = dict(image=name, size=list(clean.shape[-2:]), out_size=list(restored.shape[-2:]),
                       seconds=round(seconds, 1), steps=int(m.group(1)) if m else None,
                       stopped_early="stopped early (ES-WMV)" in run.stdout,
                       noisy=round(dip.psnr(noisy8, clean), 2), dip=round(dip.psnr(restored, clean), 2),
                       nlm=round(dip.psnr(baselines.nlm(noisy8, a.sigma / 255), clean), 2))
            row["dip_minus_nlm"] = round(row["dip"] - row["nlm"], 2)
            row["ref_steps"] = round(seconds / ref)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(json.dumps(dict(summary=True, images=len(rows), preset=a.preset, sigma=a.sigma,
                          dip=round(statistics.mean(r["dip"] for r in rows), 2),
                          nlm=round(statistics.mean(r["nlm"] for r in rows), 2),
                          dip_minus_nlm=round(statistics.mean(r["dip_minus_nlm"] for r in rows), 2),
                          max_seconds=max(r["seconds"] for r in rows), reference_step_s=round(ref, 4),
                          max_ref_steps=max(r["ref_steps"] for r in rows), machine=cpu_name(),
                          threads=torch.get_num_threads())))


if __name__ == "__main__":
    main()
