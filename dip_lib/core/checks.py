"""A notebook's checks as measured claims: each states a lesson, its value, its threshold and its margin.

``dip.check("DIP beats the noisy input (dB)", gain, ">", 1.5)`` asserts ``gain > 1.5``, prints
the claim with its value and margin, and, when ``DIP_CHECKS`` names a file, appends one JSON line
to it (the claim, value, threshold, margin, the notebook, preset, seed, threads and the CPU kernels
in use). ``tools/test_matrix.py`` runs the notebooks in numerically different environments and
reads these lines to measure how far each check sits from failing.

The margin is in the claim's own unit: ``value - threshold`` for ``>``/``>=``, ``threshold - value``
for ``<``/``<=``; a check passes when its margin is positive (or zero, for ``>=``/``<=``).
``DIP_CHECKS_SOFT=1`` records a failing check and goes on instead of raising, so that one run
collects every margin; the matrix then reports the failure.
"""
from __future__ import annotations

import json
import os

__all__ = ["check", "margin", "CheckFailed", "environment"]

_OPS = (">", ">=", "<", "<=")


class CheckFailed(AssertionError):
    """A notebook check whose claim does not hold (the message gives the value, threshold and margin)."""


def margin(value: float, op: str, threshold: float) -> float:
    """How far ``value op threshold`` is from failing, in the value's unit (negative: it fails)."""
    if op not in _OPS:
        raise ValueError(f"op must be one of {', '.join(_OPS)}, not {op!r}")
    return float(value) - float(threshold) if op in (">", ">=") else float(threshold) - float(value)


def _passes(m: float, op: str) -> bool:
    return m >= 0 if op in (">=", "<=") else m > 0


def environment() -> dict:
    """What changes a fit's floating-point path: threads, the ATen and oneDNN kernels, the seed."""
    env = {"threads": None, "aten": os.environ.get("ATEN_CPU_CAPABILITY") or None,
           "onednn": os.environ.get("ONEDNN_MAX_CPU_ISA") or None, "seed": os.environ.get("DIP_SEED") or "0"}
    try:
        import torch
        env["threads"] = torch.get_num_threads()
        env["aten"] = torch.backends.cpu.get_cpu_capability()
    except Exception:   # noqa: BLE001 - a record without the kernel names is still a record
        pass
    return env


def check(claim: str, value, op: str, threshold, *, unit: str = "", quiet: bool = False) -> float:
    """Assert ``value op threshold``; print and record it with its margin; return the margin.

    >>> dip.check("DIP gains over the noisy input (dB)", 3.2, ">", 1.5)   # prints "✓ ... margin +1.70"
    """
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError("a check needs a claim: one line saying what the lesson is")
    try:
        value, threshold = float(value), float(threshold)
    except (TypeError, ValueError):
        raise TypeError(f"check {claim!r}: value and threshold must be numbers, got {value!r} and {threshold!r}") \
            from None
    m = margin(value, op, threshold)
    ok = _passes(m, op)     # NaN never passes; an infinite margin (a run that never got there) may
    u = f" {unit}" if unit else ""
    line = f"{'✓' if ok else '✗'} {claim}: {value:.4g}{u} {op} {threshold:.4g}{u} (margin {m:+.3g})"
    if not quiet or not ok:
        print(line)
    path = os.environ.get("DIP_CHECKS")
    if path:
        record = {"notebook": os.environ.get("DIP_CHECKS_NOTEBOOK", ""), "claim": claim, "value": value, "op": op,
                  "threshold": threshold, "margin": m, "passed": ok,
                  "preset": os.environ.get("DIP_PRESET", ""), **environment()}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    if not ok and os.environ.get("DIP_CHECKS_SOFT") != "1":
        raise CheckFailed(line)
    return m
