"""Benchmark dip.fit against a plain fp32 eager Adam loop on the same network, in one run.

    python benchmarks/bench_fit.py --size 256 --steps 10 --rounds 5 [--restarts 1 2 4] [--device cuda]

prints one JSON line:
    {"device": "cpu", "device_name": "...", "size": 256, "precision": "bf16",
     "s_per_it": 0.41, "baseline_s_per_it": 0.82, "speedup": 2.0, "peak_mem_mb": ...,
     "restarts": {"1": ..., "2": ..., "4": ...}, "restarts_mode": {"1": "loop", "2": "threads", ...}, "restarts_over_one_fit": {...}, ...}

- ``s_per_it``: ``dip.fit`` as the kit runs it (``precision='auto'``: bf16 autocast on CPUs
  with native bf16, bf16 + channels_last on CUDA; loss kept on the device, EMA, σ_p);
- ``baseline_s_per_it``: the plain loop (fp32, eager, contiguous; the same network, code, σ_p,
  loss and optimiser);
- the two are timed interleaved (``--rounds`` blocks of ``--steps`` each, after a warm-up) and
  each reported as the median over rounds, so a busy machine slows both alike;
- ``full_fit`` (with ``--full-steps N``): the wall-clock seconds of one whole ``dip.fit`` of N
  steps from a fresh network (optimiser set-up, first step and the copy of the result included);
- ``restarts``: seconds per step of N runs fitted together (``dip.Restarts``), and their ratio
  to one run in ``restarts_ratio``;
- ``reference_step_s``: this machine's *reference step*, the unit of the kit's time budgets: one
  plain fp32 step (the loop above) of the default network at 256 px, measured in the same run
  (it is ``baseline_s_per_it`` when that is what was benchmarked; ``--no-reference`` skips it).
  A notebook's cost in reference steps is its seconds divided by this, the same on every machine
  to within the machines' different balance of convolutions and the rest.
Peak memory: the CUDA allocator's peak on a GPU, the process's max RSS on a CPU. Append
results to benchmarks/results/ to track speed over time.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time

import torch

import dip_lib as dip


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_step(net, z, y, opt, sigma_p=0.0):
    """One step of the reference loop: f(z + σ_p n), MSE against y, backward, Adam."""
    opt.zero_grad(set_to_none=True)
    x = net(z + sigma_p * torch.randn_like(z) if sigma_p else z)
    torch.nn.functional.mse_loss(x, y).backward()
    opt.step()


def plain_loop(net, z, y, steps, lr=0.01, sigma_p=1 / 30, opt=None):
    """The reference: fp32, eager, Adam, z + σ_p n, MSE, nothing else. Returns (s/step, optimiser)."""
    opt = opt or torch.optim.Adam(net.parameters(), lr=lr)
    _sync(z.device)
    t = time.perf_counter()
    for _ in range(steps):
        plain_step(net, z, y, opt, sigma_p)
    _sync(z.device)
    return (time.perf_counter() - t) / steps, opt


REFERENCE = dict(arch="default", width=None, size=256, sigma_p=1 / 30)


def reference_step(device="cpu", steps: int = 4, rounds: int = 3) -> float:
    """Seconds of one reference step on ``device`` (torch's current thread count): the plain fp32 eager
    Adam step of the default network (2.2 M parameters) on a 256 px image, median of ``rounds`` blocks
    after a warm-up."""
    device = dip.resolve_device(device)
    size = REFERENCE["size"]
    y = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    z = dip.noise(*dip.architecture("default").code_shape(size, size)[1:], seed=0, device=device)
    net = dip.build("default", seed=0).to(device).train()
    _, opt = plain_loop(net, z, y, 2, sigma_p=REFERENCE["sigma_p"])
    return statistics.median(plain_loop(net, z, y, steps, sigma_p=REFERENCE["sigma_p"], opt=opt)[0]
                             for _ in range(rounds))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256, help="image side (a multiple of the network's stride)")
    ap.add_argument("--steps", type=int, default=10, help="steps per timed block")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved blocks of each")
    ap.add_argument("--device", default=None, help="cpu | cuda | mps (default: automatic)")
    ap.add_argument("--arch", default="default")
    ap.add_argument("--width", type=int, default=None, help="filters per scale (default: the paper's 128)")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--sigma-p", type=float, default=1 / 30, help="σ_p, std of the perturbation of z")
    ap.add_argument("--restarts", type=int, nargs="*", default=[], help="also time N runs at once, e.g. 1 2 4")
    ap.add_argument("--restarts-mode", default="auto", choices=["auto", "vmap", "loop", "threads"])
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--full-steps", type=int, default=0,
                    help="also time one whole dip.fit of this many steps from a fresh network, start to end "
                         "(the H100 goal: 2000 steps at 512 px in <= 4 s)")
    ap.add_argument("--no-reference", action="store_true",
                    help="do not measure the reference step (the plain fp32 step of the default network at 256 px)")
    a = ap.parse_args(argv)
    try:
        spec = dip.architecture(a.arch, width=a.width)
        code_shape = spec.code_shape(a.size, a.size)
        device = dip.resolve_device(a.device)
        prec = dip.resolve_precision(a.precision, device)
    except ValueError as e:
        sys.exit(f"error: {e}")
    if a.threads:
        torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    y = torch.rand(1, 3, a.size, a.size, generator=g).to(device)
    z = dip.noise(*code_shape[1:], seed=0, device=device)
    energy = lambda x: dip.mse(x, y)  # noqa: E731  (the denoising energy, A = I)
    kw = dict(lr=0.01, sigma_p=a.sigma_p, ema=0.99, every=a.steps, precision=a.precision)

    net_kit = dip.build(a.arch, width=a.width, seed=0).to(device)
    net_ref = dip.build(a.arch, width=a.width, seed=0).to(device).train()
    dip.fit(net_kit, z, energy, steps=3, **kw)                  # warm-up (autotune, allocator, oneDNN)
    _, opt = plain_loop(net_ref, z, y, 3, sigma_p=a.sigma_p)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    kit, ref = [], []
    for _ in range(a.rounds):                                   # interleaved: same machine state for both
        kit.append(dip.fit(net_kit, z, energy, steps=a.steps, **kw).seconds_per_step)
        ref.append(plain_loop(net_ref, z, y, a.steps, sigma_p=a.sigma_p, opt=opt)[0])
    s_kit, s_ref = statistics.median(kit), statistics.median(ref)

    out = {"device": device.type, "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
           else cpu_name(), "arch": a.arch, "width": a.width, "params": dip.count_parameters(net_kit),
           "size": a.size, "steps": a.steps, "rounds": a.rounds, "sigma_p": round(a.sigma_p, 4),
           "precision": prec.describe(), "s_per_it": round(s_kit, 5), "baseline_s_per_it": round(s_ref, 5),
           "speedup": round(s_ref / s_kit, 2)}
    is_reference = (a.arch, a.width, a.size) == (REFERENCE["arch"], REFERENCE["width"], REFERENCE["size"]) \
        and abs(a.sigma_p - REFERENCE["sigma_p"]) < 1e-9
    if is_reference:
        out["reference_step_s"] = out["baseline_s_per_it"]
    elif not a.no_reference:
        out["reference_step_s"] = round(reference_step(device, steps=max(2, min(a.steps, 5)),
                                                       rounds=max(2, min(a.rounds, 3))), 5)
    if a.full_steps:
        # what a user waits for: a fresh network and optimiser, every step, the final copy to the host
        net = dip.build(a.arch, width=a.width, seed=1).to(device)
        _sync(device)
        t = time.perf_counter()
        dip.fit(net, z, energy, steps=a.full_steps, **{**kw, "every": a.full_steps})
        _sync(device)
        out["full_fit"] = {"steps": a.full_steps, "seconds": round(time.perf_counter() - t, 3)}
    if a.restarts:
        times, mode = {}, {}
        for n in a.restarts:
            r = dip.Restarts([dip.build(a.arch, width=a.width, seed=s) for s in range(n)], mode=a.restarts_mode,
                             device=device).to(device)
            mode[str(n)] = r.mode
            zn = torch.cat([dip.noise(*code_shape[1:], seed=s, device=device) for s in range(n)])
            dip.fit(r, zn, energy, steps=2, **kw)
            times[str(n)] = round(statistics.median(dip.fit(r, zn, energy, steps=a.steps, **kw).seconds_per_step
                                                    for _ in range(max(1, a.rounds // 2))), 5)
        out["restarts"], out["restarts_mode"] = times, mode
        if "1" in times:
            out["restarts_ratio"] = {k: round(v / times["1"], 2) for k, v in times.items()}
        out["restarts_over_one_fit"] = {k: round(v / s_kit, 2) for k, v in times.items()}  # vs the plain fit above
    peak = (torch.cuda.max_memory_allocated() / 2 ** 20 if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out.update(peak_mem_mb=round(peak, 1), threads=torch.get_num_threads(), torch=torch.__version__,
               date=time.strftime("%Y-%m-%d"))
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
