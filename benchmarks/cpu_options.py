"""CPU speed-ups measured side by side with the plain fp32 step, in one run: bf16 autocast and
the channels_last layout (what ``precision='auto'`` chooses between), ``torch.compile`` of the
network (inductor), and two restarts run in two Python threads with one intra-op thread each
instead of one after the other (what ``dip.Restarts`` does on a CPU).

    python benchmarks/cpu_options.py [--size 256] [--width 32] [--rounds 3] [--steps 4] [--no-compile]

One fit step = forward, MSE, backward, Adam step of the default hourglass (``width`` filters) at
``size`` px. Prints one JSON line: the median s/step of each variant (rounds interleaved) and the
ratios (``*_speedup``: the plain step's time over the variant's). On the 2-core Xeon of
benchmarks/results/cpu-2core-xeon-2026-11-27.jsonl, at 256 px: bf16 0.8-0.95x, channels_last
0.9x (width 32) to 1.1x (width 128), compile 0.86-0.98x; two threaded runs cost 1.64x one run
against 2.01x sequential.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

import dip_lib as dip

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fit import cpu_name, plain_step  # noqa: E402  (the reference step of bench_fit.py)


def _run(size, width, seed, y, channels_last=False):
    net = dip.build("default", width=width, seed=seed)
    z = torch.rand(1, 32, size, size, generator=torch.Generator().manual_seed(seed)) * 0.1
    net, z = dip.resolve_precision("fp32", torch.device("cpu")).with_layout(channels_last).prepare(net, z)
    return net, z, y, torch.optim.Adam(net.parameters(), lr=0.01)


def _step(run):
    plain_step(*run)


def _bf16_step(run):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        plain_step(*run)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--width", type=int, default=32, help="filters per scale (0: the paper's 128)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=4, help="steps per variant and round")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile (it takes minutes to compile)")
    a = ap.parse_args(argv)
    threads = torch.get_num_threads()
    a.width = a.width or None
    y = torch.rand(1, 3, a.size, a.size, generator=torch.Generator().manual_seed(99))
    runs = [_run(a.size, a.width, s, y) for s in (0, 1)]
    local = threading.local()

    def one_thread_step(run):           # each worker thread: one intra-op thread of its own
        if not getattr(local, "ready", False):
            torch.set_num_threads(1)
            local.ready = True
        _step(run)

    pool = ThreadPoolExecutor(2)
    bf16, last = _run(a.size, a.width, 0, y), _run(a.size, a.width, 0, y, channels_last=True)
    variants = {"one run": lambda: _step(runs[0]),
                "one run, bf16 autocast": lambda: _bf16_step(bf16),
                "one run, channels_last": lambda: _step(last),
                "two runs, one after the other": lambda: (_step(runs[0]), _step(runs[1])),
                "two runs, two threads": lambda: list(pool.map(one_thread_step, runs))}
    out = dict(size=a.size, width=a.width, threads=threads, device_name=cpu_name(),
               torch=torch.__version__)
    if not a.no_compile:
        compiled = _run(a.size, a.width, 0, y)
        t = time.perf_counter()
        compiled = (torch.compile(compiled[0]),) + compiled[1:]
        _step(compiled)
        _step(compiled)
        out["compile_seconds"] = round(time.perf_counter() - t, 1)
        variants["one run, torch.compile"] = lambda: _step(compiled)
    for f in variants.values():        # warm-up
        f()
    times = {k: [] for k in variants}
    for _ in range(a.rounds):
        for k, f in variants.items():
            t = time.perf_counter()
            for _ in range(a.steps):
                f()
            times[k].append((time.perf_counter() - t) / a.steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    out["s_per_step"] = {k: round(v, 4) for k, v in med.items()}
    one = med["one run"]
    out["two_runs_sequential_over_one"] = round(med["two runs, one after the other"] / one, 2)
    out["two_runs_threads_over_one"] = round(med["two runs, two threads"] / one, 2)
    out["bf16_speedup"] = round(one / med["one run, bf16 autocast"], 2)
    out["channels_last_speedup"] = round(one / med["one run, channels_last"], 2)
    if "one run, torch.compile" in med:
        out["compile_speedup"] = round(one / med["one run, torch.compile"], 2)
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
