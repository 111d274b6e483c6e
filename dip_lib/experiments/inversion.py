"""Network inversion with the deep image prior (paper Sec. 4.4, Figs. 11, 13-14).

Two problems (``dip.preimage``, ``dip.activation_maximization``), each one ``dip.solve`` of the paper's inversion network (``dip.build("inversion")``:
depth 6, kernels 7,7,5,5,3,3, zero padding, so the image side must be a multiple of 64 and at
least 128 — the BatchNorm of the deepest scale needs more than one pixel):

- natural pre-image: θ* = argmin_θ ||Φ(f_θ(z)) − Φ(x0)||² / ||Φ(x0)||²  (what does layer Φ keep of x0?)
- activation maximisation: θ* = argmin_θ −Φ_c(f_θ(z)), Φ_c the fc8 score of class c (pre-softmax).

Φ comes from :func:`dip_lib.core.features.feature_net`. The TV-regularised pixel baseline
(Mahendran & Vedaldi) is ``dip.baselines.tv_pixels`` on the same problem.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..core.losses import feature_loss
from ..core.operators import ClassScore
from ..core.rng import generator
from ..problems.problem import Problem, activation_maximization, preimage
from ..problems.run import solve
from ..problems.settings import Settings

__all__ = ["activation_scale", "activation_problem", "fit_preimage", "fit_activation", "feature_error",
           "class_score", "class_index", "browse", "comparison_figure"]


def activation_scale(phi: Callable, shape, layer: str = "fc8", seed: int = 0) -> float:
    """The spread (std over units) of Φ_layer on a seeded U(0, 1) noise image of ``shape`` (H, W).

    Dividing the class score by it makes the TV weight λ mean the same for random and for
    trained weights (whose scores are orders of magnitude larger).
    """
    dev = next(iter(phi.parameters())).device
    x = torch.rand((1, 3, *tuple(shape)[-2:]), generator=generator(seed)).to(dev)
    with torch.no_grad():
        return float(phi(x, layer).std().clamp_min(1e-12))


def feature_error(phi: Callable, x: torch.Tensor, image: torch.Tensor, layer: str | None = None) -> float:
    """The normalised feature distance ||Φ(x) − Φ(x0)||² / ||Φ(x0)||² as a float (for tables)."""
    dev = next(iter(phi.parameters())).device if hasattr(phi, "parameters") else x.device
    with torch.no_grad():
        return float(feature_loss(phi(x.to(dev), layer), phi(image.to(dev), layer)))


def class_score(phi: Callable, x: torch.Tensor, unit: int, layer: str = "fc8") -> float:
    """Φ_c(x), the (pre-softmax) score of class ``unit``, as a float."""
    with torch.no_grad():
        dev = next(iter(phi.parameters())).device
        return float(ClassScore(phi, unit, layer)(x.to(dev)))


def _check_size(shape) -> None:
    h, w = shape[-2:]
    if h % 64 or w % 64 or min(h, w) < 128:
        raise ValueError(f"the inversion net (depth 6) needs sides that are multiples of 64 and at least 128 "
                         f"(its deepest BatchNorm needs more than one pixel); got {h}x{w}: load the image "
                         f"with dip.load_image(..., size=128, multiple=64)")


def activation_problem(phi, unit: int, shape, layer: str = "fc8") -> Problem:
    """``dip.activation_maximization`` with the score divided by :func:`activation_scale`, so that a
    TV weight means the same for random and for trained weights."""
    return activation_maximization(phi, unit, shape, layer, scale=activation_scale(phi, shape, layer))


def fit_preimage(phi, image: torch.Tensor, p: Settings, layer: str | None = None, seed: int | None = None, device=None,
                 **changes):
    """DIP pre-image of ``image`` at ``layer`` of Φ with the inversion net (settings from ``p``).

    Returns the :class:`~dip_lib.fit.FitResult`; ``result.losses[0]`` is the initial feature
    loss and ``result.losses[-1]`` the last one.
    """
    _check_size(image.shape)
    return solve(preimage(phi, image, layer), p, seed=seed, device=device, **changes)


def fit_activation(phi, unit: int, p: Settings, shape=None, layer: str = "fc8", seed: int | None = None, device=None,
                   **changes):
    """DIP activation maximisation: an image f_θ*(z) that makes unit ``unit`` of ``layer`` large.

    The energy is −Φ_c(x)/s (s = :func:`activation_scale`), so ``result.losses`` are minus the
    score in units of s; use :func:`class_score` for the raw score.
    """
    shape = shape or (p.size, p.size)
    _check_size(shape)
    return solve(activation_problem(phi, unit, shape, layer), p, seed=seed, device=device, **changes)


def class_index(name: str, classes: dict[int, str]) -> int:
    """The index of the first ImageNet class whose name list contains ``name`` (e.g. 'black swan')."""
    name = name.lower()
    for i, v in classes.items():
        if name in [s.strip().lower() for s in v.split(",")]:
            return i
    for i, v in classes.items():
        if name in v.lower():
            return i
    raise KeyError(f"no ImageNet class is called {name!r}")


def browse(options, render: Callable, description: str = "choose", value=None):
    """A dropdown over ``options`` that calls ``render(option)`` (results cached by the caller).

    ``options`` is a list of values or of (label, value) pairs. Returns the function that
    ``ipywidgets.interact`` wraps (the widget shows in a notebook).
    """
    import ipywidgets as W
    options = list(options)
    if value is None:
        value = options[0][1] if isinstance(options[0], tuple) else options[0]
    return W.interact(render, option=W.Dropdown(options=options, value=value, description=description))


def comparison_figure(rows: dict[str, dict[str, torch.Tensor]], image: torch.Tensor | None = None,
                      image_title: str = "image", size: float = 2.2, suptitle: str | None = None):
    """The paper's layout (Figs. 11, 13): one row per method, one column per layer or class.

    ``rows`` maps a method ('Deep image prior', 'TV prior') to {column title: image}; ``image``
    (the original x0), if given, is drawn in an extra first column.
    """
    import matplotlib.pyplot as plt
    from ..view.viz import _img
    cols = list(next(iter(rows.values())))
    extra = image is not None
    fig, axes = plt.subplots(len(rows), len(cols) + extra, squeeze=False,
                             figsize=(size * (len(cols) + extra), size * len(rows) + 0.4))
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
        for sp in ax.spines.values():
            sp.set_visible(False)
    for r, (label, ims) in enumerate(rows.items()):
        if extra:
            if r == 0:
                axes[r, 0].imshow(_img(image))
                axes[r, 0].set_title(image_title, fontsize=10)
        for c, col in enumerate(cols):
            ax = axes[r, c + extra]
            ax.imshow(_img(ims[col]))
            if r == 0:
                ax.set_title(col, fontsize=10)
        axes[r, int(extra)].set_ylabel(label, fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
