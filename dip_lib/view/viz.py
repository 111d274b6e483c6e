"""Pictures: image grids, PSNR/loss curves and the live view used while fitting."""
from __future__ import annotations

import time
from typing import Mapping, Sequence

import numpy as np
import torch

from ..core.callbacks import Callback
from ..core.fit import FitState
from ..core.metrics import to_numpy

__all__ = ["show", "image_grid", "plot_history", "LiveView", "save_figure", "gallery"]


def _img(x) -> np.ndarray:
    a = to_numpy(x).clip(0, 1)
    return a[..., 0] if a.shape[2] == 1 else a


def image_grid(images: Mapping[str, torch.Tensor] | Sequence, titles: Sequence[str] | None = None,
               ncols: int | None = None, size: float = 3.0, suptitle: str | None = None):
    """A matplotlib figure with one panel per image (a dict maps titles to images)."""
    import matplotlib.pyplot as plt
    if isinstance(images, Mapping):
        titles, images = list(images.keys()), list(images.values())
    images = list(images)
    n = len(images)
    if n == 0:
        raise ValueError("no images to show")
    ncols = ncols or min(n, 5)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, im in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(_img(im), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show(images, titles=None, ncols=None, size=3.0, suptitle=None):
    """Display an image grid now (in a notebook or a matplotlib window) and return the figure."""
    import matplotlib.pyplot as plt
    fig = image_grid(images, titles, ncols, size, suptitle)
    plt.show()
    return fig


def plot_history(histories: Mapping[str, dict] | dict, key: str = "psnr", ax=None, logx: bool = False,
                 reference: float | None = None, reference_label: str = "input"):
    """Plot ``key`` (psnr, psnr_ema, loss) against the step for one or several fit histories."""
    import matplotlib.pyplot as plt
    if "step" in histories:
        histories = {key: histories}
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, h in histories.items():
        if h.get(key):
            ax.plot(h["step"][:len(h[key])], h[key], label=label)
    if reference is not None:
        ax.axhline(reference, color="gray", ls="--", lw=1, label=reference_label)
    ax.set_xlabel("iteration")
    ax.set_ylabel({"psnr": "PSNR (dB)", "psnr_ema": "PSNR of the average (dB)", "loss": "loss"}.get(key, key))
    if logx:
        ax.set_xscale("log")
    if key == "loss":
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def save_figure(fig, path, dpi: int = 110):
    """Save a figure (creating folders) and return the path."""
    from pathlib import Path
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


class LiveView(Callback):
    """Redraw the current output (and its average) and the loss/PSNR curves during ``dip.fit``.

    In a notebook it updates one output area in place; elsewhere it does nothing unless
    ``force`` is set or ``image`` is given. Redraws at most every ``min_seconds`` so drawing never dominates.
    ``image``: an ``ipywidgets.Image`` to draw into (as PNG) instead of a display area, for
    views inside widget panels (display updates inside an ``ipywidgets.Output`` do not render
    in JupyterLab).
    """

    def __init__(self, min_seconds: float = 1.0, reference: torch.Tensor | None = None, title: str = "",
                 force: bool = False, image=None):
        self.min_seconds, self.reference, self.title, self.force = min_seconds, reference, title, force
        self.image = image
        self.handle, self.last = None, 0.0

    @staticmethod
    def _in_notebook() -> bool:
        try:
            from IPython import get_ipython
            ip = get_ipython()
            return ip is not None and "IPKernelApp" in ip.config
        except ImportError:
            return False

    def start(self, state: FitState):
        # an image widget is drawn into wherever it lives (a panel); a display area only in a notebook
        self.enabled = self.force or self.image is not None or self._in_notebook()

    def _draw(self, state: FitState):
        import matplotlib.pyplot as plt
        panels = [("input / reference", self.reference)] if self.reference is not None else []
        panels.append((f"output, step {state.step + 1}", state.output))
        if state.ema is not None:
            panels.append(("running average", state.ema))
        fig, axes = plt.subplots(1, len(panels) + 1, figsize=(3.2 * (len(panels) + 1), 3.2))
        for ax, (t, im) in zip(axes, panels):
            ax.imshow(_img(im), cmap="gray", vmin=0, vmax=1)
            ax.set_title(t, fontsize=9)
            ax.axis("off")
        h = state.history
        ax = axes[-1]
        if h["psnr"]:
            ax.plot(h["step"], h["psnr"], label="output")
            if h["psnr_ema"]:
                ax.plot(h["step"], h["psnr_ema"], label="average")
            ax.set_ylabel("PSNR (dB)")
            ax.legend(fontsize=8)
        else:
            ax.semilogy(h["step"], h["loss"])
            ax.set_ylabel("loss")
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        if self.title:
            fig.suptitle(self.title)
        fig.tight_layout()
        return fig

    def check(self, state: FitState):
        if not self.enabled or time.perf_counter() - self.last < self.min_seconds or not state.history["step"]:
            return
        import matplotlib.pyplot as plt
        from IPython.display import display
        fig = self._draw(state)
        if self.image is not None:
            import io
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=80)
            self.image.value = buf.getvalue()
        elif self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
        self.last = time.perf_counter()

    def end(self, state: FitState):
        if self.enabled and state.history["step"]:
            self.last = 0.0
            self.check(state)


def gallery(fig, name: str):
    """Save ``fig`` as ``$DIP_GALLERY/<name>.png`` when DIP_GALLERY is set (the README gallery,
    built by running the notebooks in the cpu or paper preset); otherwise do nothing."""
    import os
    folder = os.environ.get("DIP_GALLERY")
    return save_figure(fig, os.path.join(folder, f"{name}.png")) if folder else None
