"""Numeric precision and memory layout of a fit, chosen per device (and measured: see
``benchmarks/bench_fit.py``).

- CPU with native bf16 (AVX-512 BF16 / AMX): bf16 autocast **if it is measurably faster here**.
  The instruction set does not say: on one 2-core Zen 4 bf16 halved a step at 256 px, on a
  2-core Xeon with the same flags it was 15% slower. So the first 'auto' fit on a CPU times a
  small probe (a 64-filter network at 128 px, a few steps in each precision, ~2 s) and keeps the
  answer per machine and torch version in ``DIP_CACHE_DIR`` (``precision-probe.json``): bf16
  only when it takes < 0.85x the fp32 time. channels_last is never used on a CPU (in fp32 it is
  ~5x slower there).
- CUDA: bf16 autocast (where the GPU supports it) + channels_last (tensor cores).
- anything else (MPS, CPUs without bf16): fp32.

``precision='fp32'`` forces plain fp32 everywhere; ``'bf16'`` forces bf16 autocast. The
parameters, Adam's state, the loss, the running average and every returned image stay fp32:
only the convolutions run in bf16.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

__all__ = ["Precision", "resolve_precision", "cpu_has_native_bf16", "cpu_bf16_is_faster", "PRECISIONS"]

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


def _time_steps(bf16: bool, steps: int = 3) -> float:
    from .nets import build                      # here: nets imports nothing from this module
    net = build("default", width=64, seed=0).train()
    g = torch.Generator().manual_seed(0)
    z, y = torch.rand(1, 32, 128, 128, generator=g), torch.rand(1, 3, 128, 128, generator=g)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    times = []
    for _ in range(steps + 1):                   # the first step builds oneDNN's kernels: not timed
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.mse_loss(net(z).float(), y)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return min(times[1:])


@lru_cache(maxsize=1)
def cpu_bf16_is_faster() -> bool:
    """Whether bf16 autocast makes a fit step on this CPU at least 15% faster (measured once per
    machine and torch version, cached on disk; False without native bf16)."""
    if not cpu_has_native_bf16():
        return False
    key, path = _machine_key(), _probe_file()
    try:
        cached = json.loads(path.read_text())
        if key in cached:
            return bool(cached[key]["bf16_faster"])
    except (OSError, ValueError, KeyError, TypeError):
        cached = {}
    fp32, bf16 = _time_steps(False), _time_steps(True)
    faster = bf16 < 0.85 * fp32
    cached = cached if isinstance(cached, dict) else {}
    cached[key] = {"fp32_s": round(fp32, 4), "bf16_s": round(bf16, 4), "bf16_faster": faster,
                   "date": time.strftime("%Y-%m-%d")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cached, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass                                     # an unwritable cache: probe again next time
    return faster


@dataclass(frozen=True)
class Precision:
    """How a fit runs on one device: ``dtype`` of the autocast region (None: fp32) and layout."""
    name: str                      # 'fp32' or 'bf16'
    device_type: str
    channels_last: bool = False

    @property
    def dtype(self):
        return torch.bfloat16 if self.name == "bf16" else None

    def autocast(self):
        """The context the forward pass and the energy run in."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def prepare(self, net: torch.nn.Module, z: torch.Tensor):
        """Move ``net`` and ``z`` to the layout this precision uses (a no-op for contiguous)."""
        if self.channels_last:
            net.to(memory_format=torch.channels_last)
            z = z.contiguous(memory_format=torch.channels_last)
        return net, z

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
    if precision == "bf16" or cpu_bf16_is_faster():
        return Precision("bf16", kind)
    return Precision("fp32", kind)
