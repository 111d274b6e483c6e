"""Randomness without global state: every draw goes through a ``torch.Generator``.

Library calls never reseed torch's global RNG. Module constructors (``nn.Conv2d`` ...) draw
their initial weights from the global RNG, so :func:`seeded` runs them inside
``torch.random.fork_rng``: the global state is saved, seeded, used, and put back.
"""
from __future__ import annotations

import contextlib
import os

import torch

__all__ = ["generator", "seeded", "default_seed"]


def default_seed() -> int:
    """The kit's seed setting: ``DIP_SEED`` if set (a whole number >= 0), else 0.

    Every preset's ``seed`` and every ``dip.build``/``dip.make`` without a seed start from it, so
    ``DIP_SEED=1 make test`` reruns every notebook with other random θ, z, noise and masks.
    """
    text = os.environ.get("DIP_SEED", "").strip()
    if not text:
        return 0
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise ValueError(f"DIP_SEED={text!r} is not a seed: set it to a whole number >= 0 (or unset it for 0)")
    return seed


def generator(seed: int | None = 0, device="cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (None: a fresh random seed)."""
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g


@contextlib.contextmanager
def seeded(seed: int | None):
    """Run the body with the CPU global RNG seeded by ``seed`` (None: at random), then restore the caller's state.

    >>> with seeded(0):
    ...     net = torch.nn.Conv2d(3, 3, 3)   # same weights every time; global RNG untouched
    """
    with torch.random.fork_rng(devices=[]):
        if seed is None:
            torch.seed()            # a fresh random seed, still without touching the caller's state
        else:
            torch.manual_seed(int(seed))
        yield
