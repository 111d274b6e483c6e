"""The GPU session in one prepared script: what to run when the `device` tool lends a GPU.

A lent GPU comes with about 15 minutes of device time for the whole session, start-up included,
and at most 10 minutes per command, so every GPU measurement the kit owes is run by this one
script, in one call, each step in a subprocess under what is left of ``--budget``:

1. ``bench_fit.py`` at 512 px (default network): the kit's loop against a plain fp32 eager
   loop, one whole 2000-step fit (the goal: <= 4 s on an H100) and N = 1, 2, 4 restarts
   batched with ``vmap``;
2. the same two runs fitted one after the other (``--restarts-mode loop``), to compare;
3. ``bench_fit.py`` at 256 px, the size the CPU numbers use;
4. ``reproduce denoising --preset paper`` on the 9 CBM3D images (two runs averaged);
5. ``reproduce sr4 --preset paper`` on Set5.

A reproduce step cut off by the budget keeps the jobs it finished (result files), and its table
is then built from them (``--report-only``). Everything lands in ``--out``: one JSON line per
step in ``device-check.jsonl`` (step, command, rc, seconds, and the benchmark's JSON or the
table's text), the tables as ``<table>.md``.

Here, before the call (the device machine reaches no network: the images travel with the tree):

    mkdir -p .device_data && cp -r ../shared/data/. .device_data/     # 15 MB; .device_data is git-ignored

On the device machine (``run`` with ``carry: [".device_data"]``, ``timeout_s`` 600):

    DIP_DATA_DIR=.device_data python3 benchmarks/device_check.py --out $OUT --budget 540

then commit ``device-check.jsonl`` under ``benchmarks/results/`` named after the device. The
machine's image has torch, scikit-image and scipy but not the optional ``bm3d``: the CBM3D column
stays empty (its jobs say so) unless a bm3d wheel travels too (see the device tool's README).
``--smoke`` runs every step tiny, on the CPU, in the ``test`` preset (the test suite does, so the
script cannot rot unnoticed between GPU sessions).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = str(ROOT / "benchmarks" / "bench_fit.py")
SET5 = ["baby", "bird", "butterfly", "head", "woman"]


def plan(smoke: bool, device: str) -> list[tuple[str, list[str]]]:
    """The steps: (name, argv after the Python interpreter)."""
    if smoke:
        b = ["--device", device, "--size", "64", "--width", "8", "--steps", "2", "--rounds", "2"]
        return [("bench 512", [BENCH, *b, "--full-steps", "5", "--restarts", "1", "2"]),
                ("bench 512 restarts loop", [BENCH, *b, "--restarts", "2", "--restarts-mode", "loop"]),
                ("bench 256", [BENCH, *b]),
                ("reproduce denoising", ["-m", "dip_lib", "reproduce", "denoising", "--preset", "test",
                                         "--images", "F16", "--device", device]),
                ("reproduce sr4", ["-m", "dip_lib", "reproduce", "sr4", "--preset", "test", "--images", "baby",
                                   "--device", device])]
    b = ["--device", device, "--steps", "25", "--rounds", "5"]
    return [("bench 512", [BENCH, *b, "--size", "512", "--full-steps", "2000", "--restarts", "1", "2", "4"]),
            ("bench 512 restarts loop", [BENCH, *b, "--size", "512", "--restarts", "2", "--restarts-mode", "loop"]),
            ("bench 256", [BENCH, *b, "--size", "256"]),
            ("reproduce denoising", ["-m", "dip_lib", "reproduce", "denoising", "--preset", "paper",
                                     "--device", device]),
            ("reproduce sr4", ["-m", "dip_lib", "reproduce", "sr4", "--preset", "paper", "--images", *SET5,
                               "--device", device])]


def run_step(name: str, argv: list[str], out: Path, left: float) -> dict:
    reproduce = "reproduce" in argv
    if reproduce:
        argv = [*argv, "--out", str(out / "reproduce"), "--quiet"]
    cmd = [sys.executable, *argv]
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=max(1.0, left), cwd=ROOT)
        rc, stdout, stderr = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc = "timeout"
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    rec = {"step": name, "command": " ".join(["python", *argv]), "rc": rc,
           "seconds": round(time.perf_counter() - t, 1)}
    if reproduce:
        if rc == "timeout":       # the finished jobs' result files stay: build the table from them
            p = subprocess.run([*cmd, "--report-only"], capture_output=True, text=True, timeout=120, cwd=ROOT)
            stdout = p.stdout if p.returncode == 0 else p.stderr     # no job finished: reproduce says so
        rec["table"] = stdout.strip()
        (out / f"{argv[argv.index('reproduce') + 1]}.md").write_text(stdout)
    else:
        lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
        rec["result"] = json.loads(lines[-1]) if lines else None
    if rc != 0:
        rec["stderr_tail"] = stderr.strip()[-1500:]
    return rec


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for device-check.jsonl and the tables")
    ap.add_argument("--budget", type=float, default=540, help="seconds for all steps together")
    ap.add_argument("--device", default=None, help="default: cuda, or cpu with --smoke")
    ap.add_argument("--smoke", action="store_true", help="every step tiny, on the CPU, test preset")
    a = ap.parse_args(argv)
    device = a.device or ("cpu" if a.smoke else "cuda")
    if device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            sys.exit("error: no CUDA GPU is visible here: run this on the lent GPU machine, or pass --smoke "
                     "to try the steps on the CPU")
    if not a.smoke and not os.environ.get("DIP_DATA_DIR"):
        sys.exit("error: set DIP_DATA_DIR to the data mirror that travelled with the tree (the device machine "
                 "reaches no network), e.g. DIP_DATA_DIR=.device_data")
    if os.environ.get("DIP_DATA_DIR"):       # the steps run from the repository root: make it absolute
        os.environ["DIP_DATA_DIR"] = str(Path(os.environ["DIP_DATA_DIR"]).resolve())
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "device-check.jsonl"
    end = time.perf_counter() + a.budget
    records = []
    for name, step in plan(a.smoke, device):
        left = end - time.perf_counter()
        if left < 5:
            rec = {"step": name, "rc": "skipped", "why": f"the budget of {a.budget:g} s is spent"}
        else:
            rec = run_step(name, step, out, left)
        rec["date"] = time.strftime("%Y-%m-%d")
        records.append(rec)
        with log.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        print(json.dumps({k: v for k, v in rec.items() if k != "table"}), flush=True)
    return records


if __name__ == "__main__":
    main()
