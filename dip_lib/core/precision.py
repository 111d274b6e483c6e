"""Numeric precision and memory layout of a fit, chosen per device (and measured: see
``benchmarks/bench_fit.py`` and ``benchmarks/cpu_options.py``).

- CPU: fp32 or, where the CPU computes bf16 natively (AVX-512 BF16 / AMX), bf16 autocast, and
  contiguous or channels_last, **as measured on this machine**. The flags do not say: on one
  2-core Zen 4 bf16 halved a step at 256 px and channels_last in fp32 made it 5x slower; on a
  2-core Xeon with the same flags bf16 was 15% slower and channels_last 1.12-1.23x faster on
  the default network, but slower on the JPEG network and for threaded restarts.
  * the precision: the first 'auto' fit on a CPU times a small probe (a 32-filter network at
    256 px, a few steps in each of fp32 / bf16 x contiguous / channels_last, 3-6 s) and keeps
    the answer per machine and torch version in ``DIP_CACHE_DIR`` (``precision-probe.json``):
    plain fp32 unless a candidate takes < 0.93x its time;
  * the layout: measured on each fit's own first steps (:class:`LayoutTrial`, fits of 100
    steps or more; shorter ones take the probe's layout), kept per network and code shape.
- CUDA: bf16 autocast (where the GPU supports it) + channels_last (tensor cores).
- anything else (MPS): fp32.

``precision='fp32'`` forces plain fp32 (contiguous) everywhere; ``'bf16'`` forces bf16 autocast.
The parameters, Adam's state, the loss, the running average and every returned image stay fp32:
only the convolutions run in bf16. A layout changes no arithmetic, only the order of the sums
inside a convolution: fits in the two layouts agree to rounding, which a long fit amplifies
like any other rounding (compare quality over images and seeds, not one run).
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import torch

__all__ = ["Precision", "LayoutTrial", "resolve_precision", "cpu_has_native_bf16", "cpu_choice", "PRECISIONS"]

PRECISIONS = ("auto", "fp32", "bf16")


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bf16 natively (oneDNN's check: AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _machine_key() -> str:
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), name)
    except OSError:
        pass
    return f"{name} | {os.cpu_count()} cpus | {torch.get_num_threads()} threads | torch {torch.__version__}"


def _probe_file() -> Path:
    base = os.environ.get("DIP_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "dip_lib")
    return Path(base) / "precision-probe.json"


def _probe(candidates: list[tuple[str, bool]], rounds: int = 4) -> dict[tuple[str, bool], float]:
    """Seconds of one fit step of the probe network in each candidate ('fp32'/'bf16',
    channels_last): each built and warmed up (the first step builds oneDNN's kernels), then timed
    one step at a time in interleaved rounds, so a busy moment slows all alike; the best round."""
    from .nets import build                      # here: nets imports nothing from this module
    g = torch.Generator().manual_seed(0)
    z0, y = torch.rand(1, 32, 256, 256, generator=g), torch.rand(1, 3, 256, 256, generator=g)
    runs = {}
    for name, last in candidates:
        net, z = Precision(name, "cpu", last).prepare(build("default", width=32, seed=0).train(), z0)
        runs[(name, last)] = (net, z, torch.optim.Adam(net.parameters(), lr=0.01))

    def step(c):
        net, z, opt = runs[c]
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=c[0] == "bf16"):
            loss = torch.nn.functional.mse_loss(net(z).float(), y)
        loss.backward()
        opt.step()
        return time.perf_counter() - t

    for c in candidates:
        step(c)
    times = {c: [] for c in candidates}
    for _ in range(rounds):
        for c in candidates:
            times[c].append(step(c))
    return {c: min(v) for c, v in times.items()}


FASTER = 0.93       # a candidate replaces plain fp32 when it takes less than this share of its time


@lru_cache(maxsize=1)
def cpu_choice() -> tuple[str, bool]:
    """('fp32' or 'bf16', channels_last): the fastest fit step on this CPU among plain fp32,
    fp32 + channels_last and (with native bf16) bf16 autocast in either layout; plain fp32
    unless a candidate takes < 0.93x its time. Measured once per machine and torch version and
    cached on disk."""
    key, path = _machine_key(), _probe_file()
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        cached = {}
    cached = cached if isinstance(cached, dict) else {}
    entry = cached.get(key)
    if isinstance(entry, dict) and entry.get("choice") in ("fp32", "bf16"):   # older files: probe again
        return entry["choice"], bool(entry.get("channels_last"))
    candidates = [("fp32", False), ("fp32", True)]
    if cpu_has_native_bf16():
        candidates += [("bf16", False), ("bf16", True)]
    seconds = _probe(candidates)
    best = min(seconds, key=seconds.get)
    choice = best if seconds[best] < FASTER * seconds[("fp32", False)] else ("fp32", False)
    cached[key] = {"seconds": {Precision(n, "cpu", cl).describe(): round(t, 4) for (n, cl), t in seconds.items()},
                   "choice": choice[0], "channels_last": choice[1], "date": time.strftime("%Y-%m-%d")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cached, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass                                     # an unwritable cache: probe again next time
    return choice


class LayoutTrial:
    """Which memory layout runs *this* fit faster on a CPU, measured on its own first steps.

    The probe's network says little about another one: on the 2-core Xeon channels_last runs
    the default network 1.12-1.23x faster but slows the JPEG network (8 and 16 channels at full
    resolution) and threaded restarts. So a CPU fit with ``precision='auto'`` of at least
    ``MIN_STEPS`` steps times steps 1-3 contiguous (step 0 builds oneDNN's kernels), switches to
    channels_last, times steps 5-7 (step 4 builds its kernels) and keeps channels_last only if it
    took < ``FASTER`` x the contiguous time. Nothing is lost: every step is a step of the fit,
    and a layout changes no arithmetic. The answer is kept for this process per network shape,
    code shape, restart mode and thread count, so the next such fit starts in it."""
    MIN_STEPS = 100
    CONTIGUOUS, OTHER, END = (1, 2, 3), (5, 6, 7), 7
    known: dict[tuple, bool] = {}

    def __init__(self, key: tuple):
        self.key = key
        self.seconds: dict[bool, list[float]] = {False: [], True: []}

    @staticmethod
    def key_of(net: torch.nn.Module, z: torch.Tensor, name: str) -> tuple:
        return (type(net).__name__, getattr(net, "mode", None), name, tuple(z.shape), torch.get_num_threads(),
                tuple(tuple(p.shape) for p in net.parameters()))

    def record(self, step: int, seconds: float) -> bool | None:
        """Note step ``step``'s time; returns the layout to switch to after it (True:
        channels_last), or None to stay. After step ``END`` the choice is made and kept."""
        if step in self.CONTIGUOUS:
            self.seconds[False].append(seconds)
        elif step in self.OTHER:
            self.seconds[True].append(seconds)
        if step == self.CONTIGUOUS[-1]:
            return True
        if step == self.END:
            last = min(self.seconds[True]) < FASTER * min(self.seconds[False])
            LayoutTrial.known[self.key] = last
            return last
        return None


@dataclass(frozen=True)
class Precision:
    """How a fit runs on one device: ``dtype`` of the autocast region (None: fp32) and layout.
    ``trial``: the layout is to be measured on the fit's own first steps (:class:`LayoutTrial`);
    ``channels_last`` is then the probe's guess, used by fits too short for a trial."""
    name: str                      # 'fp32' or 'bf16'
    device_type: str
    channels_last: bool = False
    trial: bool = False

    def with_layout(self, channels_last: bool) -> "Precision":
        return replace(self, channels_last=channels_last, trial=False)

    @property
    def dtype(self):
        return torch.bfloat16 if self.name == "bf16" else None

    def autocast(self):
        """The context the forward pass and the energy run in."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def prepare(self, net: torch.nn.Module, z: torch.Tensor, opt: torch.optim.Optimizer | None = None):
        """Put ``net``, ``z`` (and the optimiser's state) in the layout this precision uses, in
        place for the tensors of ``net`` and ``opt``; returns ``(net, z)``. Only 4-D tensors
        change: batched restarts stack their weights in 5-D (N x out x in x k x k), which
        Module.to(memory_format=...) refuses."""
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        state = [t for st in (opt.state.values() if opt is not None else ()) for t in st.values()
                 if isinstance(t, torch.Tensor)]
        for t in (*net.parameters(), *net.buffers(), *state):
            if t.dim() == 4 and not t.is_contiguous(memory_format=fmt):
                t.data = t.data.contiguous(memory_format=fmt)
        return net, z.contiguous(memory_format=fmt)

    def describe(self) -> str:
        return self.name + (" + channels_last" if self.channels_last else "")


def resolve_precision(precision: str, device: torch.device) -> Precision:
    """The :class:`Precision` for ``precision`` ('auto', 'fp32', 'bf16') on ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    kind = device.type
    if precision == "fp32" or kind not in ("cpu", "cuda"):
        if precision == "bf16" and kind not in ("cpu", "cuda"):
            raise ValueError(f"precision='bf16' needs a CPU or a CUDA GPU, not {kind}; use 'auto' or 'fp32'")
        return Precision("fp32", kind)
    if kind == "cuda":
        ok = torch.cuda.is_bf16_supported()
        if precision == "bf16" and not ok:
            raise ValueError("this GPU has no bf16: use precision='auto' or 'fp32'")
        return Precision("bf16" if ok else "fp32", kind, channels_last=True)
    if precision == "bf16":
        return Precision("bf16", kind)
    name, last = cpu_choice()
    return Precision(name, kind, channels_last=last, trial=True)
