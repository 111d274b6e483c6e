"""Numeric precision and memory layout of a fit, chosen per device (and measured: see
``benchmarks/bench_fit.py``).

- CPU with native bf16 (AVX-512 BF16 / AMX): bf16 autocast, about 2x faster per step at 256 px.
  channels_last is never used on a CPU: in fp32 it is ~5x slower there.
- CUDA: bf16 autocast (where the GPU supports it) + channels_last (tensor cores).
- anything else (MPS, CPUs without bf16): fp32.

``precision='fp32'`` forces plain fp32 everywhere; ``'bf16'`` forces bf16 autocast. The
parameters, Adam's state, the loss, the running average and every returned image stay fp32:
only the convolutions run in bf16.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import lru_cache

import torch

__all__ = ["Precision", "resolve_precision", "cpu_has_native_bf16", "PRECISIONS"]

PRECISIONS = ("auto", "fp32", "bf16")


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bf16 natively (oneDNN's check: AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


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
    if precision == "bf16" or cpu_has_native_bf16():
        return Precision("bf16", kind)
    return Precision("fp32", kind)
