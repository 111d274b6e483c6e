"""THE fitting loop: θ* = argmin_θ E(f_θ(z + σ_p·n)), one function for every application.

Design rules (see DESIGN.md):
- the per-step path stays on the device: no ``.item()``, ``.cpu()`` or numpy; the loss of
  every step is written into a device tensor and read back only every ``every`` steps;
- the output average (EMA) is updated on the device;
- backtracking restores θ, Adam's moments, the running average and the last output from a
  device-side snapshot when the loss jumps (the reference code's snapshot was aliased and
  never restored the optimiser);
- callbacks (``dip_lib.core.callbacks``, the live view) run every ``every`` steps;
- backend flags (cuDNN autotuning) are set for the fit and restored after it; randomness
  (σ_p) comes from a ``torch.Generator``, never the global RNG;
- Ctrl-C ends the fit cleanly: the result so far comes back with ``interrupted=True``;
- precision and layout per device (``dip_lib.core.precision``): on a CPU the fastest of fp32,
  fp32 + channels_last and bf16 autocast as a one-off probe measured it; bf16 + channels_last on
  CUDA; θ, Adam, the loss, the average and the images stay fp32;
- optional stopping without ground truth (ES-WMV, ``dip_lib.core.early_stop``);
- a :class:`~dip_lib.core.restarts.Restarts` network fits N runs at once; the history, the
  average and early stopping then follow the mean of the N outputs (the paper's average).
"""
from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from .callbacks import Callback, Progress
from .early_stop import EarlyStop, VarianceTracker
from .metrics import psnr as _psnr
from .precision import LayoutTrial, resolve_precision
from .restarts import Restarts
from .rng import generator

__all__ = ["fit", "FitResult", "FitState"]


@dataclass
class FitState:
    """What callbacks see at each check (every ``every`` steps)."""
    step: int
    steps: int
    net: nn.Module
    optimizer: torch.optim.Optimizer
    output: torch.Tensor            # f_θ(z + σ_p n) at this step (on the device)
    ema: torch.Tensor | None        # running average of the outputs (on the device)
    history: dict
    target: torch.Tensor | None = None
    loss: float = float("nan")
    backtracked: bool = False
    stop: bool = False              # a callback sets this to end the fit early


@dataclass
class FitResult:
    """The outcome of :func:`fit`. Images are 1xCxHxW tensors on the CPU."""
    image: torch.Tensor                      # the last output f_θ(z)
    ema_image: torch.Tensor | None           # exponential average of outputs (None if ema=None)
    best_image: torch.Tensor | None          # output with the best PSNR vs target (oracle; None without target)
    best_step: int | None
    history: dict                            # lists: step, loss, psnr, psnr_ema, seconds
    losses: np.ndarray                       # the loss of every step
    backtracks: list = field(default_factory=list)  # steps at which θ was restored
    seconds: float = 0.0
    steps: int = 0
    net: nn.Module | None = None
    interrupted: bool = False                # Ctrl-C ended the fit: the images are those of the last step
    precision: str = "fp32"                  # what the forward pass ran in ('bf16 + channels_last', ...)
    stop_image: torch.Tensor | None = None   # early stopping (ES-WMV): the output at the variance minimum
    stop_ema_image: torch.Tensor | None = None  # ... and the running average when the rule fired (patience after)
    stop_ema_step: int | None = None         # 1-based step of stop_ema_image
    stop_step: int | None = None             # 1-based step of the variance minimum
    stopped_at: int | None = None            # step at which the rule stopped (or would have, stop=False)
    variance: np.ndarray | None = None       # the windowed variance of every step (NaN before W steps)
    runs: torch.Tensor | None = None         # restarts: the N last outputs (N x C x H x W); image is their mean
    runs_ema: torch.Tensor | None = None     # restarts: each run's running average; ema_image is their mean

    @property
    def output(self) -> torch.Tensor:
        """The image to use: the early-stopped one when early stopping stopped the fit, else the
        running average when there is one, else the last output."""
        if self.stop_image is not None and self.stopped_at is not None and self.stopped_at == self.steps:
            return self.stop_ema_image if self.stop_ema_image is not None else self.stop_image
        return self.ema_image if self.ema_image is not None else self.image

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(1, self.steps)

    @property
    def final_psnr(self) -> float | None:
        return self.history["psnr"][-1] if self.history["psnr"] else None

    @property
    def best_psnr(self) -> float | None:
        return max(self.history["psnr"]) if self.history["psnr"] else None


def _snapshot(net, opt, *images):
    """Device-side copies of θ (with BatchNorm statistics), the optimiser state and the given
    images (running averages, last output): everything backtracking must put back."""
    return ({k: v.detach().clone() for k, v in net.state_dict().items()}, copy.deepcopy(opt.state_dict()),
            [None if im is None else im.clone() for im in images])


def _restore(net, opt, snap):
    """Put θ and Adam's state back; return copies of the saved images."""
    net.load_state_dict(snap[0])
    opt.load_state_dict(copy.deepcopy(snap[1]))
    return [None if im is None else im.clone() for im in snap[2]]


def _saturated(out: torch.Tensor) -> bool:
    """More than 99% of the output's values exactly 0 or 1 (a sigmoid pushed to its ends)."""
    return bool(((out == 0) | (out == 1)).float().mean() > 0.99)


def _first_forward(net, z):
    """f_θ(z) once, turning torch's shape errors into one line that says what to change."""
    try:
        return net(z)
    except RuntimeError as e:
        if "size" not in str(e).lower() and "shape" not in str(e).lower() and "padding" not in str(e).lower():
            raise
        raise ValueError(f"the network cannot take a code z of shape {tuple(z.shape)} ({str(e).splitlines()[0]}): "
                         f"the image size must suit the network; dip.architecture(arch).check(H, W) says what "
                         f"it needs, and dip.solve checks it for you") from None


class _BackendFlags:
    """Set cuDNN autotuning for a fit on CUDA (fixed input size) and restore it afterwards."""

    def __init__(self, device: torch.device):
        self.device, self.saved = device, None

    def __enter__(self):
        if self.device.type == "cuda":
            self.saved = torch.backends.cudnn.benchmark
            torch.backends.cudnn.benchmark = True
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            torch.backends.cudnn.benchmark = self.saved
        return False


def fit(net: nn.Module, z: torch.Tensor, energy: Callable[[torch.Tensor], torch.Tensor], steps: int = 1800,
        lr: float = 0.01, sigma_p: float = 0.0, ema: float | None = 0.99, backtrack: bool = False,
        loss_jump: float = 10 ** 0.5, stop: Callable[[FitState], bool] | None = None, every: int = 50,
        target: torch.Tensor | None = None, metric: Callable = _psnr, callbacks: Iterable[Callback] = (),
        progress: bool | str = False, seed: int | None = 0, keep_best: bool = True, precision: str = "auto",
        early_stop: EarlyStop | bool | None = None) -> FitResult:
    """Fit f_θ(z) to the energy E with Adam and return a :class:`FitResult`.

    Most code calls :func:`dip_lib.solve`, which builds z and f_θ from settings and calls this.

    Args:
        net: the generator f_θ (any ``nn.Module``; its parameters are θ).
        z: the fixed code, a 4-D tensor on the device to run on (``net`` is moved there).
        energy: E(x) -> scalar tensor, the problem's data term (``problem.energy()``).
        steps: number of Adam steps; lr: its learning rate.
        sigma_p: σ_p, std of the Gaussian perturbation added to z at every step.
        ema: decay of the exponential average of outputs (0.99 in the paper), None for none.
        backtrack: restore θ, Adam's state and the average when the loss jumps by ``loss_jump``x
            (10^0.5: the authors' rule, a drop of more than 5 dB of PSNR against the observation)
            between checks (or is not finite).
        stop: optional ``stop(state) -> bool`` evaluated at each check.
        every: steps between checks (history, callbacks, backtracking; the only host syncs).
        target: the clean image, for the PSNR history only (never used by the fit itself).
        metric: ``metric(x, target) -> float`` recorded as 'psnr' (e.g. ``dip.psnr_sr``).
        callbacks: :class:`~dip_lib.core.callbacks.Callback` objects (``dip.LiveView()`` in notebooks).
        progress: show a tqdm progress bar (a string sets its description).
        seed: seeds the σ_p perturbations (θ is initialised by ``dip.build(..., seed=)``).
        precision: 'auto' (bf16 + channels_last on CUDA; on a CPU what a one-off probe measured
            fastest among fp32, fp32 + channels_last and bf16), 'fp32' (plain, contiguous) or
            'bf16' (see ``dip_lib.core.precision``).
        early_stop: ES-WMV without ground truth: True or a :class:`~dip_lib.core.early_stop.EarlyStop`
            (``stop=False`` only records where it would stop); when it stops, the result's ``output``
            is the running average at the stop (without one, the output at the variance minimum).
        ``net`` may be a :class:`~dip_lib.core.restarts.Restarts` (N runs in one batched pass, z
            stacked N x C x H x W): ``energy`` is then the one-image energy, applied to each run.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive whole number, got {steps!r}")
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    if z.dim() != 4:
        raise ValueError(f"z must be a 1xCxHxW tensor, got shape {tuple(z.shape)}")
    device = z.device
    net.to(device).train()
    prec = resolve_precision(precision, device)
    trial = None
    if prec.trial:             # a CPU in 'auto': measure the layout on this fit's first steps
        key = LayoutTrial.key_of(net, z, prec.name)
        if key in LayoutTrial.known:
            prec = prec.with_layout(LayoutTrial.known[key])
        elif steps >= LayoutTrial.MIN_STEPS:
            trial, prec = LayoutTrial(key), prec.with_layout(False)
        else:                  # too short to measure: the probe's guess
            prec = prec.with_layout(prec.channels_last)
    net, z = prec.prepare(net, z)
    runs = net.n if isinstance(net, Restarts) else None
    threaded = runs is not None and net.mode == "threads"
    if runs is not None:
        per_run, energy = energy, net.energy(energy)
    if early_stop is True:
        early_stop = EarlyStop()
    elif early_stop is False:
        early_stop = None
    if early_stop is not None and not isinstance(early_stop, EarlyStop):
        raise ValueError(f"early_stop must be True, False, None or dip.EarlyStop(...), got {early_stop!r}")
    es = ema_all = None
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the network has no trainable parameters")
    # fused Adam: one kernel for all parameters on CUDA (no per-parameter launches, no host sync)
    opt = torch.optim.Adam(params, lr=lr, fused=device.type == "cuda")
    gen = generator(seed, device)
    if target is not None:
        target = target.detach().to("cpu")
    callbacks = list(callbacks)
    if progress:
        callbacks.insert(0, Progress(progress if isinstance(progress, str) else "fit"))

    losses = torch.zeros(steps, device=device)
    history = {"step": [], "loss": [], "psnr": [], "psnr_ema": [], "seconds": []}
    state = FitState(0, steps, net, opt, z, None, history, target)
    ema_img = best_img = best_step = out = None
    best_val = -math.inf
    backtracks: list[int] = []
    snap, last_loss = None, None
    warned = False
    interrupted = False
    for cb in callbacks:
        cb.start(state)
    t0 = time.perf_counter()
    step = done = 0
    with _BackendFlags(device):
        try:
            for step in range(steps):
                if trial is not None:
                    t_step = time.perf_counter()
                z_in = z + sigma_p * torch.randn(z.shape, generator=gen, device=device, dtype=z.dtype) if sigma_p else z
                opt.zero_grad(set_to_none=True)
                if threaded and step > 0:      # each run's forward and backward in its own CPU thread
                    x, loss = net.backward_step(z_in, per_run, prec.autocast)
                else:
                    with prec.autocast():
                        x = _first_forward(net, z_in) if step == 0 else net(z_in)
                        x = x.float()
                        loss = energy(x)
                    if step == 0 and (not isinstance(loss, torch.Tensor) or loss.dim() != 0):
                        raise ValueError("energy(x) must return a scalar tensor (e.g. dip.mse(x, y)); got "
                                         f"{type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}")
                    loss.backward()
                opt.step()
                if trial is not None:         # a CPU: the step's work is done when the call returns
                    switch = trial.record(step, time.perf_counter() - t_step)
                    if switch is not None:
                        prec = prec.with_layout(switch)
                        net, z = prec.prepare(net, z, opt)
                        state.z = z
                    if step >= trial.END:
                        trial = None
                losses[step] = loss.detach()
                x = x.detach()
                if runs is not None:      # N runs: keep each run's average, score their mean
                    if ema is not None:
                        ema_all = x.clone() if ema_all is None else ema_all.mul_(ema).add_(x, alpha=1 - ema)
                        ema_img = ema_all.mean(0, keepdim=True)
                    out = x.mean(0, keepdim=True)
                else:
                    out = x
                    if ema is not None:
                        ema_img = out.clone() if ema_img is None else ema_img.mul_(ema).add_(out, alpha=1 - ema)
                if early_stop is not None:
                    if es is None:
                        es = VarianceTracker(early_stop, steps, out, ema is not None)
                    es.update(step, out, ema_img, loss)
                done = step + 1

                if (step + 1) % every and step != steps - 1:
                    continue
                # ---- check: the only place where the host waits for the device ----
                loss_val = float(losses[step])
                jumped = last_loss is not None and loss_val > loss_jump * last_loss
                if not math.isfinite(loss_val) or (backtrack and jumped):
                    if backtrack and snap is not None:
                        ema_img, out, ema_all = _restore(net, opt, snap)
                        backtracks.append(step + 1)
                        state.step, state.output, state.ema = step, out, ema_img
                        state.loss, state.backtracked = loss_val, True
                        for cb in callbacks:
                            cb.check(state)
                        continue
                    if not math.isfinite(loss_val):
                        raise FloatingPointError(
                            f"the loss became {loss_val} at step {step + 1}: lower the learning rate (lr={lr}) "
                            f"or pass backtrack=True to restore the last good parameters.")
                state.step, state.output, state.ema = step, out, ema_img
                state.loss, state.backtracked = loss_val, False
                if backtrack:
                    snap = _snapshot(net, opt, ema_img, out, ema_all)
                if not warned and last_loss is not None and abs(loss_val - last_loss) <= 0.02 * last_loss and _saturated(out):
                    warned = True
                    warnings.warn(f"dip.fit: at step {step + 1} the output is stuck at 0 or 1 and the loss has "
                                  f"not moved since the last check: the network saturated. Lower the learning "
                                  f"rate (lr={lr:g}; the paper uses 0.01 or 0.001).", RuntimeWarning, stacklevel=2)
                last_loss = loss_val
                history["step"].append(step + 1)
                history["loss"].append(loss_val)
                history["seconds"].append(time.perf_counter() - t0)
                if target is not None:
                    cpu_out = out.float().cpu()
                    history["psnr"].append(metric(cpu_out, target))
                    if ema_img is not None:
                        history["psnr_ema"].append(metric(ema_img.float().cpu(), target))
                    if keep_best and history["psnr"][-1] > best_val:
                        best_val, best_img, best_step = history["psnr"][-1], cpu_out, step + 1
                for cb in callbacks:
                    cb.check(state)
                if state.stop or (stop is not None and stop(state)):
                    break
                if es is not None and es.should_stop(step):
                    break
        except KeyboardInterrupt:
            interrupted = True
            if out is None:
                raise
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    for cb in callbacks:
        cb.end(state)
    extra = {}
    if es is not None:
        kept = es.min_step and es.best_ema is not None
        extra = dict(stop_image=es.best_out.cpu() if es.min_step else None,
                     stop_ema_image=es.best_ema.cpu() if kept else None,
                     stop_ema_step=es.kept_step(done) if kept else None,
                     stop_step=es.min_step, stopped_at=es.stop_step, variance=es.var[:done].cpu().numpy())
    return FitResult(image=out.float().cpu().contiguous(),
                     ema_image=None if ema_img is None else ema_img.float().cpu().contiguous(),
                     best_image=best_img, best_step=best_step, history=history,
                     losses=losses[:done].cpu().numpy(), backtracks=backtracks, seconds=seconds,
                     steps=done, net=net, interrupted=interrupted, precision=prec.describe(),
                     runs=x.float().cpu() if runs is not None else None,
                     runs_ema=ema_all.float().cpu() if ema_all is not None else None, **extra)
