"""Benchmark dip.fit: seconds per iteration and peak memory for the paper's default network.

    python benchmarks/bench_fit.py --size 512 --device cuda --steps 200 [--sigma-p 0.0333]
prints one JSON line, e.g.
    {"device": "cuda", "device_name": "NVIDIA H100 80GB HBM3", "size": 512, "steps": 200,
     "sigma_p": 0.0333, "s_per_it": 0.0123, "it_per_s": 81.3, "peak_mem_mb": 1234.5, ...}
Warm-up steps are excluded. Peak memory is the CUDA allocator's peak on GPU and the process's
max RSS on CPU. Append results to benchmarks/results/ to track speed over time.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time

import torch

import dip_lib as dip


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256, help="image side (a multiple of the network's stride)")
    ap.add_argument("--steps", type=int, default=50, help="timed iterations")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--device", default=None, help="cpu | cuda | mps (default: automatic)")
    ap.add_argument("--arch", default="default")
    ap.add_argument("--width", type=int, default=None, help="filters per scale (default: the paper's 128)")
    ap.add_argument("--sigma-p", type=float, default=1 / 30, help="σ_p, std of the perturbation of z")
    ap.add_argument("--ema", type=float, default=0.99)
    ap.add_argument("--every", type=int, default=100, help="steps between checks (host syncs)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    a = ap.parse_args(argv)
    try:
        code_shape = dip.architecture(a.arch, width=a.width).code_shape(a.size, a.size)
    except ValueError as e:
        sys.exit(f"--size {a.size}: {e}")
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device) if a.device else dip.default_device()
    y = torch.rand(1, 3, a.size, a.size, device=device)
    net = dip.build(a.arch, width=a.width, seed=0)
    z = dip.noise(*code_shape[1:], seed=0, device=device)
    energy = lambda x: dip.mse(x, y)  # noqa: E731  (the denoising energy, A = I)
    kw = dict(lr=0.01, sigma_p=a.sigma_p, ema=a.ema, every=a.every)
    dip.fit(net, z, energy, steps=a.warmup, **kw)            # warm-up (cuDNN autotune, allocator)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    r = dip.fit(net, z, energy, steps=a.steps, **kw)         # fit() synchronises before timing ends
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2 ** 20
        name = torch.cuda.get_device_name(device)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        name = platform.processor() or platform.machine()
    out = {"device": device.type, "device_name": name, "arch": a.arch, "params": dip.count_parameters(net),
           "size": a.size, "steps": r.steps, "sigma_p": a.sigma_p, "s_per_it": round(r.seconds_per_step, 5),
           "it_per_s": round(1 / r.seconds_per_step, 2), "peak_mem_mb": round(peak, 1),
           "threads": torch.get_num_threads(), "torch": torch.__version__,
           "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
