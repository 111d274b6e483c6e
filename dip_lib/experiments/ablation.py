"""Architecture ablations: which parts of f_θ make the prior? (notebook 11, the exercises).

One ablation = one hourglass configuration (:class:`Ablation`) fitted to one problem
(:func:`ablation_problem`: denoising or inpainting, a ``dip.Problem``) with ``dip.solve``. :func:`sweep` runs a grid
of configurations without widgets and returns a :class:`Table` (rows of plain dicts with a
markdown rendering, plus each run's history for PSNR-vs-iteration plots). Runs are cached
per (problem fingerprint, configuration, code depth, check interval), so asking again for a
configuration is instant; the widget panel in ``dip_lib.view.widgets`` shares the same cache.

The knobs and how they map onto :class:`~dip_lib.nets.SkipConfig` (``depth`` scales):

============  ==========================================================================
depth         number of scales: ``n_down = n_up = [width] * depth`` (1-6)
skip='none'   ``n_skip = [0] * depth``: a plain encoder-decoder (hourglass)
skip='1x1'    ``n_skip = [skip_width] * depth``, ``k_skip = 1``: the paper's default
              (skip_width = 4 at width 128), a thin 1x1 "bypass" at every scale
skip='full'   "U-Net-like": ``n_skip = [width] * depth``, ``k_skip = 3``: every scale
              passes as many 3x3 features across as it sends down (as wide as the
              encoder), so fine detail can bypass the bottleneck entirely
upsample      'nearest' or 'bilinear' (the ``nn.Upsample`` mode of every scale)
width         filters per scale (the paper: 128)
input         the code z: 'noise' (``input_depth`` channels of U(0, 1/10)) or 'meshgrid'
lr, sigma_p   Adam's learning rate and σ_p, the std of the perturbation of z at each step
steps         number of Adam steps
network       'hourglass' (the knobs above) or 'deep_decoder': the Deep Decoder of Heckel & Hand
              (ICLR 2019, ``dip.build("deep_decoder")``): 6 layers of 1x1 convolutions, bilinear
              upsampling and channel normalisation, ``width`` channels (their default: 64), a
              fixed noise code and no perturbation of z (σ_p = 0, as they fit it). depth, skip,
              skip_width and upsample do not apply to it and are set to fixed values.
============  ==========================================================================
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace, fields
from typing import Iterable, Sequence

import torch

from ..core.data import load_image
from ..core.nets import SkipConfig, build, count_parameters
from ..core.operators import bernoulli_mask
from ..problems.problem import Problem, denoising, inpainting
from ..problems.run import solve
from ..problems.settings import Settings

__all__ = ["Ablation", "ablation_problem", "input_psnr", "peak_drop", "Run", "run_ablation", "sweep", "grid", "Table",
           "Cache", "CACHE", "SKIP_MODES", "TASKS", "NETWORKS"]

SKIP_MODES = ("none", "1x1", "full")
TASKS = ("denoising", "inpainting")
NETWORKS = ("hourglass", "deep_decoder")
DEEP_DECODER_LAYERS = 6   # dip.DeepDecoder's default: 5 bilinear x2 upsamplings


@dataclass(frozen=True)
class Ablation:
    """One network configuration plus its optimisation settings (hashable: a cache key).

    ``network='deep_decoder'`` fits the Deep Decoder with ``width`` channels instead of the
    hourglass; its configuration is stored with σ_p = 0 (Heckel & Hand do not perturb z) and
    the hourglass-only knobs at fixed values, so the label, the table row and the cache key
    say what was fitted.
    """
    depth: int = 5
    skip: str = "1x1"
    skip_width: int = 4
    upsample: str = "bilinear"
    width: int = 16
    input: str = "noise"
    lr: float = 0.01
    sigma_p: float = 1 / 30
    steps: int = 300
    seed: int = 0
    network: str = "hourglass"

    def __post_init__(self):
        if self.network not in NETWORKS:
            raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not {self.network!r}")
        if self.network == "deep_decoder":
            if self.input != "noise":
                raise ValueError(f"the Deep Decoder starts from a noise code z (width x H/32 x W/32), "
                                 f"not input={self.input!r}")
            # knobs the Deep Decoder does not have: fixed, so equal fits are equal configurations
            for name, value in dict(depth=DEEP_DECODER_LAYERS - 1, skip="none", skip_width=4,
                                    upsample="bilinear", sigma_p=0.0).items():
                object.__setattr__(self, name, value)
        if not 1 <= self.depth <= 8:
            raise ValueError(f"depth must be between 1 and 8 scales, got {self.depth}")
        if self.skip not in SKIP_MODES:
            raise ValueError(f"skip must be one of {', '.join(SKIP_MODES)}, not {self.skip!r}")
        if self.upsample not in ("nearest", "bilinear"):
            raise ValueError(f"upsample must be 'nearest' or 'bilinear', not {self.upsample!r}")
        if self.input not in ("noise", "meshgrid"):
            raise ValueError(f"input must be 'noise' or 'meshgrid', not {self.input!r}")
        if self.width < 1 or self.skip_width < 1 or self.steps < 1:
            raise ValueError("width, skip_width and steps must be positive")
        if not (self.lr > 0) or not (self.sigma_p >= 0):
            raise ValueError(f"lr must be positive and sigma_p >= 0, got lr={self.lr!r}, sigma_p={self.sigma_p!r}")

    @classmethod
    def from_preset(cls, p: Settings, **changes) -> "Ablation":
        """Width, lr, σ_p, steps and seed from a preset (``dip.preset('ablation')``); ``changes`` on top.

        With ``network='deep_decoder'`` the width defaults to the Deep Decoder's 64 channels.
        """
        dd = changes.get("network") == "deep_decoder"
        kw = dict(width=64 if dd else (p.width or 128), lr=p.lr, sigma_p=p.sigma_p, steps=p.steps, seed=p.seed)
        kw.update(changes)
        return cls(**kw)

    def replace(self, **changes) -> "Ablation":
        return replace(self, **changes)

    @property
    def label(self) -> str:
        """A short unique name for legends: 'd3 1x1·4 bilinear w16 noise lr0.02 σp0.033 300it'."""
        sk = {"none": "no skip", "1x1": f"1x1·{self.skip_width}", "full": "full skip"}[self.skip]
        seed = f" seed{self.seed}" if self.seed else ""
        if self.network == "deep_decoder":
            return (f"deep decoder {DEEP_DECODER_LAYERS}x{self.width} {self.input} lr{self.lr:g} "
                    f"σp{self.sigma_p:.2g} {self.steps}it{seed}")
        return (f"d{self.depth} {sk} {self.upsample} w{self.width} {self.input} lr{self.lr:g} "
                f"σp{self.sigma_p:.2g} {self.steps}it{seed}")

    @property
    def min_size(self) -> int:
        """Smallest image side this network accepts: the bottleneck (the Deep Decoder's code)
        must keep 2x2 pixels (BatchNorm needs more than one value per channel)."""
        return 2 ** (self.depth + 1)

    def skip_config(self, in_channels: int, out_channels: int = 3) -> SkipConfig:
        """The :class:`SkipConfig` of this ablation (see the module docstring for the mapping)."""
        if self.network != "hourglass":
            raise ValueError(f"the {self.network} is not an hourglass: it has no SkipConfig (use .arch())")
        n, d = self.width, self.depth
        n_skip, k_skip = {"none": (0, 1), "1x1": (self.skip_width, 1), "full": (n, 3)}[self.skip]
        return SkipConfig(in_channels=in_channels, out_channels=out_channels, n_down=[n] * d, n_up=[n] * d,
                          n_skip=[n_skip] * d, k_skip=k_skip, upsample=self.upsample)

    def arch(self, in_channels: int, out_channels: int = 3) -> SkipConfig | str:
        """What ``dip.solve`` builds: the hourglass's :class:`SkipConfig` or 'deep_decoder'."""
        if self.network == "deep_decoder":
            return "deep_decoder"
        return self.skip_config(in_channels, out_channels)

    def build(self, in_channels: int = 32, out_channels: int = 3, seed: int = 0):
        """The network f_θ itself (for counting parameters; ``in_channels``: the code depth of
        the hourglass, ignored by the Deep Decoder, whose code has ``width`` channels)."""
        width = self.width if self.network == "deep_decoder" else None
        return build(self.arch(in_channels, out_channels), in_channels=None if width else in_channels,
                     out_channels=out_channels, width=width, seed=seed)

    def settings(self, base: Settings) -> Settings:
        """``base`` with this configuration's code z, lr, σ_p and steps (EMA 0.99; for the Deep
        Decoder also its channel count, which ``dip.solve`` reads from ``width``)."""
        s = base.replace(input=self.input, lr=self.lr, sigma_p=self.sigma_p, steps=self.steps, ema=0.99)
        return s.replace(width=self.width) if self.network == "deep_decoder" else s


def ablation_problem(task: str = "denoising", image: str = "F16", size: int | None = 64, sigma: float = 25,
                     keep: float = 0.5, seed: int = 0, multiple: int = 32) -> Problem:
    """Load ``image`` and make the problem every configuration is fitted to.

    denoising: y = x0 + n, n ~ N(0, σ²) with ``sigma`` on the 0-255 scale;
    inpainting: y = x0 ⊙ m, a Bernoulli mask m keeping a fraction ``keep`` of the pixels.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    clean = load_image(image, size=size, multiple=multiple, verbose=False)
    if task == "denoising":
        return denoising(clean, sigma=sigma, seed=seed)
    return inpainting(clean, bernoulli_mask(clean, keep=keep, seed=seed))


def peak_drop(history: dict, key: str = "psnr_ema") -> float:
    """How far (dB) a fit's ``key`` curve (default: the PSNR of the running average) ends below its
    own peak: 0 when it is still at its best at the last check, more the more it has fitted noise.
    The running average is used by default because a raw output without σ_p jitters by tenths
    of a dB from check to check, which decides a comparison of last values by chance."""
    curve = history.get(key) or []
    if not curve:
        raise ValueError(f"the history has no {key!r} curve (a fit without a running average has only 'psnr')")
    return float(max(curve) - curve[-1])


def input_psnr(problem: Problem) -> float:
    """PSNR of the observation y against x0: the baseline every fit should beat."""
    return problem.score(problem.observation)


@dataclass
class Run:
    """One finished configuration: its table row, PSNR history and images."""
    config: Ablation
    row: dict
    history: dict
    image: torch.Tensor
    ema_image: torch.Tensor | None


class Cache:
    """Finished runs keyed by what the fit really used: the problem's fingerprint (its operator,
    y and x0), the configuration, the code depth and the check interval."""

    def __init__(self):
        self._runs: dict = {}

    @staticmethod
    def key(problem: Problem, cfg: Ablation, base: Settings, every: int) -> tuple:
        return (problem.fingerprint(), cfg, base.input_depth, int(every))

    def get(self, key: tuple) -> Run | None:
        return self._runs.get(key)

    def put(self, key: tuple, run: Run) -> None:
        self._runs[key] = run

    def clear(self) -> None:
        self._runs.clear()

    def __len__(self):
        return len(self._runs)

    def __contains__(self, key):
        return key in self._runs


CACHE = Cache()  # shared by dip.sweep and the widget panel unless a cache is passed


def run_ablation(cfg: Ablation, problem: Problem, callbacks: Iterable = (), cache: Cache | None = CACHE,
                 device=None, every: int | None = None, progress: bool | str = False,
                 base: Settings | None = None) -> Run:
    """Fit configuration ``cfg`` to ``problem`` with ``dip.solve`` (or return the cached run).

    ``base`` gives what the configuration does not set (the code depth; default: ``Settings()``);
    ``every``: steps between PSNR checks (default ``base.every``, 25 without a ``base``).
    """
    if every is None:
        every = base.every if base is not None else 25
    base = base if base is not None else Settings()
    every = min(every, cfg.steps)
    key = Cache.key(problem, cfg, base, every)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return Run(hit.config, dict(hit.row, cached=True), hit.history, hit.image, hit.ema_image)
    h, w = problem.size
    if cfg.network == "deep_decoder" and min(h, w) < cfg.min_size:
        raise ValueError(f"the Deep Decoder upsamples its code {cfg.depth} times and needs at least "
                         f"{cfg.min_size}x{cfg.min_size} pixels; the image is {h}x{w}")
    if min(h, w) < cfg.min_size:
        raise ValueError(f"depth {cfg.depth} halves the image {cfg.depth} times and needs at least "
                         f"{cfg.min_size}x{cfg.min_size} pixels (2x2 at the bottleneck); the image is {h}x{w}: "
                         f"use depth <= {int(math.log2(min(h, w))) - 1} or a larger image.")
    arch = cfg.arch(base.input_depth if cfg.input == "noise" else 2, problem.channels)
    res = solve(problem, cfg.settings(base), arch=arch, seed=cfg.seed, device=device, callbacks=callbacks,
                progress=progress, every=every)
    hist = res.history
    gain = res.final_psnr - input_psnr(problem)
    hourglass = cfg.network == "hourglass"
    row = dict(task=problem.name, network="hourglass" if hourglass else "deep decoder",
               depth=cfg.depth if hourglass else None,
               skip=(cfg.skip if cfg.skip != "1x1" else f"1x1·{cfg.skip_width}") if hourglass else None,
               upsample=cfg.upsample, width=cfg.width, input=cfg.input, lr=cfg.lr, sigma_p=round(cfg.sigma_p, 4),
               steps=cfg.steps, params=count_parameters(res.net), loss=hist["loss"][-1], psnr=res.final_psnr,
               psnr_ema=hist["psnr_ema"][-1] if hist["psnr_ema"] else None, best_psnr=res.best_psnr,
               best_step=res.best_step, gain=gain, seconds=round(res.seconds, 1), cached=False)
    run = Run(cfg, row, {k: list(v) for k, v in hist.items()}, res.image, res.ema_image)
    if cache is not None:
        cache.put(key, run)
    return run


def grid(base: Ablation, **axes: Sequence) -> list[Ablation]:
    """The cartesian product of ``axes`` (field -> values) applied to ``base``, in order.

    >>> grid(Ablation(), depth=[1, 3], skip=["none", "1x1"])  # 4 configurations
    """
    names = {f.name for f in fields(Ablation)}
    bad = set(axes) - names
    if bad:
        raise ValueError(f"unknown ablation field(s) {', '.join(sorted(bad))}; use {', '.join(sorted(names))}")
    keys = list(axes)
    values = [v if isinstance(v, (list, tuple)) else [v] for v in axes.values()]
    return [replace(base, **dict(zip(keys, combo))) for combo in itertools.product(*values)]


def sweep(problem: Problem, configs: Sequence[Ablation] | Ablation | None = None, *, cache: Cache | None = CACHE,
          device=None, progress: bool = False, verbose: bool = False, base: Settings | None = None,
          **axes) -> "Table":
    """Run a grid of configurations on ``problem`` without widgets and return a :class:`Table`.

    Either pass ``configs`` (a list of :class:`Ablation`) or a base configuration and the axes
    to vary: ``dip.sweep(task, base, depth=[1, 3, 5], skip=["none", "1x1"])``. Finished runs are
    cached (``cache=None`` to always refit).
    """
    if configs is None:
        configs = Ablation()
    if isinstance(configs, Ablation):
        configs = grid(configs, **axes) if axes else [configs]
    elif axes:
        raise ValueError("give either a list of configurations or a base configuration with axes, not both")
    table = Table()
    for cfg in configs:
        run = run_ablation(cfg, problem, cache=cache, device=device, base=base,
                           progress=cfg.label if progress else False)
        table.add(run)
        if verbose:
            r = run.row
            took = "(cached)" if r["cached"] else f"{r['seconds']:.1f} s"
            print(f"{cfg.label:<40} PSNR {r['psnr']:.2f} dB  loss {r['loss']:.5f}  {took}")
    return table


_FORMATS = {"loss": ".5f", "lr": "g", "sigma_p": ".3f", "seconds": ".1f"}


def _fmt(v, floatfmt):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, float):
        if floatfmt == ".2f" and v != 0 and abs(v) < 0.01:
            return f"{v:.2g}"
        return format(v, floatfmt)
    return str(v)


class Table:
    """A small results table: a list of row dicts (no pandas), with markdown/HTML rendering.

    ``table.rows`` are dicts; ``table.runs`` the matching :class:`Run` objects (histories,
    images); ``table.histories()`` maps labels to histories for ``dip.plot_history``.
    """
    DEFAULT_COLUMNS = ("task", "network", "depth", "skip", "upsample", "width", "input", "lr", "sigma_p", "steps", "params",
                       "loss", "psnr", "psnr_ema", "best_psnr", "best_step", "seconds")

    def __init__(self, runs: Iterable[Run] = ()):
        self.runs: list[Run] = []
        for r in runs:
            self.add(r)

    def add(self, run: Run) -> None:
        self.runs.append(run)

    @property
    def rows(self) -> list[dict]:
        return [r.row for r in self.runs]

    def __len__(self):
        return len(self.runs)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    def column(self, name: str) -> list:
        return [r.get(name) for r in self.rows]

    def where(self, **match) -> "Table":
        """The rows whose configuration matches ``match`` (fields of :class:`Ablation`)."""
        return Table(r for r in self.runs if all(getattr(r.config, k) == v for k, v in match.items()))

    def one(self, **match) -> dict:
        """The single row matching ``match`` (raises if none or several)."""
        t = self.where(**match)
        if len(t) != 1:
            raise KeyError(f"{len(t)} rows match {match}, expected exactly one")
        return t[0]

    def best(self, key: str = "psnr") -> dict:
        """The row with the highest ``key`` (lowest for 'loss' and 'seconds')."""
        if not self.runs:
            raise ValueError("the table is empty")
        sign = -1 if key in ("loss", "seconds") else 1
        return max(self.rows, key=lambda r: sign * (r.get(key) if r.get(key) is not None else -math.inf))

    def histories(self, label: str = "label") -> dict:
        """label -> history, for ``dip.plot_history(table.histories())``."""
        several = len({r.row["task"] for r in self.runs}) > 1
        out = {}
        for r in self.runs:
            name = r.config.label if label == "label" else str(r.row[label])
            out[f"{r.row['task']}: {name}" if several else name] = r.history
        return out

    def _columns(self, columns):
        cols = list(columns or self.DEFAULT_COLUMNS)
        if columns is None and all(r.config.network == "hourglass" for r in self.runs):
            cols.remove("network")   # only hourglasses: the column says nothing
        present = set().union(*(r.keys() for r in self.rows)) if self.runs else set()
        return [c for c in cols if c in present]

    def to_markdown(self, columns: Sequence[str] | None = None, floatfmt: str = ".2f") -> str:
        cols = self._columns(columns)
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in self.rows:
            lines.append("| " + " | ".join(_fmt(r.get(c), _FORMATS.get(c, floatfmt)) for c in cols) + " |")
        return "\n".join(lines)

    def to_html(self, columns: Sequence[str] | None = None, floatfmt: str = ".2f") -> str:
        import html
        cols = self._columns(columns)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c), _FORMATS.get(c, floatfmt)))}</td>" for c in cols) + "</tr>"
                       for r in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def _repr_markdown_(self):
        return self.to_markdown()

    def __repr__(self):
        return self.to_markdown()

    def plot(self, key: str = "psnr", ax=None, reference: float | None = None):
        """PSNR (or loss, psnr_ema) against the iteration, one curve per configuration."""
        from ..view.viz import plot_history
        return plot_history(self.histories(), key=key, ax=ax, reference=reference)
