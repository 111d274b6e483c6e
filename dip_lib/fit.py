"""THE fitting loop: θ* = argmin_θ E(f_θ(z + σ_p·n)), one function for every application.

Design rules (see DESIGN.md):
- the per-step path stays on the device: no ``.item()``, ``.cpu()`` or numpy; the loss of
  every step is written into a device tensor and read back only every ``every`` steps;
- the output average (EMA) is updated on the device;
- backtracking restores parameters AND Adam's moments from a device-side snapshot when the
  loss jumps (the reference code's snapshot was aliased and never restored the optimiser);
- callbacks (progress bar, live view, early stopping, checkpoints) run every ``every`` steps.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from .metrics import psnr as _psnr
from .nets import check_input_size

__all__ = ["fit", "FitResult", "FitState", "Callback", "Progress", "EarlyStopping", "Checkpoint"]


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


class Callback:
    """Override any of the three hooks; each receives the :class:`FitState`."""

    def start(self, state: FitState) -> None: ...

    def check(self, state: FitState) -> None: ...

    def end(self, state: FitState) -> None: ...


class Progress(Callback):
    """A tqdm.auto progress bar with the loss and PSNR as postfix."""

    def __init__(self, desc: str = "fit"):
        self.desc, self.bar, self.last = desc, None, 0

    def start(self, state):
        from tqdm.auto import tqdm
        self.bar = tqdm(total=state.steps, desc=self.desc, leave=False)

    def check(self, state):
        self.bar.update(state.step + 1 - self.last)
        self.last = state.step + 1
        post = {"loss": f"{state.loss:.4g}"}
        if state.history["psnr"]:
            post["psnr"] = f"{state.history['psnr'][-1]:.2f}"
        self.bar.set_postfix(post, refresh=False)

    def end(self, state):
        self.bar.close()


class EarlyStopping(Callback):
    """Stop when the monitored history key has not improved for ``patience`` checks.

    Monitoring 'psnr' needs a target (an oracle, fine for teaching); 'loss' works always.
    """

    def __init__(self, key: str = "loss", patience: int = 5, mode: str | None = None):
        self.key, self.patience = key, patience
        self.mode = mode or ("min" if key == "loss" else "max")
        self.best, self.bad = None, 0

    def check(self, state):
        v = state.history[self.key][-1] if state.history.get(self.key) else None
        if v is None:
            return
        better = self.best is None or (v < self.best if self.mode == "min" else v > self.best)
        self.best, self.bad = (v, 0) if better else (self.best, self.bad + 1)
        if self.bad >= self.patience:
            state.stop = True


class Checkpoint(Callback):
    """Save θ and the optimiser state to ``path`` at every check (resume with ``torch.load``)."""

    def __init__(self, path):
        self.path = path

    def check(self, state):
        torch.save({"step": state.step, "net": state.net.state_dict(),
                    "optimizer": state.optimizer.state_dict()}, self.path)


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

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(1, self.steps)

    @property
    def final_psnr(self) -> float | None:
        return self.history["psnr"][-1] if self.history["psnr"] else None

    @property
    def best_psnr(self) -> float | None:
        return max(self.history["psnr"]) if self.history["psnr"] else None


def _snapshot(net, opt):
    """Device-side deep copies of θ (with BatchNorm statistics) and of the optimiser state."""
    return ({k: v.detach().clone() for k, v in net.state_dict().items()},
            copy.deepcopy(opt.state_dict()))


def _restore(net, opt, snap):
    net.load_state_dict(snap[0])
    opt.load_state_dict(copy.deepcopy(snap[1]))


def fit(net: nn.Module, z: torch.Tensor, energy: Callable[[torch.Tensor], torch.Tensor], steps: int = 1800,
        lr: float = 0.01, reg_noise: float = 0.0, ema: float | None = 0.99, backtrack: bool = False,
        loss_jump: float = 3.0, stop: Callable[[FitState], bool] | None = None, every: int = 50,
        target: torch.Tensor | None = None, metric: Callable = _psnr, callbacks: Iterable[Callback] = (),
        progress: bool | str = False, seed: int | None = 0, keep_best: bool = True) -> FitResult:
    """Fit f_θ(z) to the energy E with Adam and return a :class:`FitResult`.

    Args:
        net: the generator f_θ (any ``nn.Module``; its parameters are θ).
        z: the fixed code, 1xCxHxW, on the device to run on (``net`` is moved there).
        energy: E(x) -> scalar tensor, the task's data term (see ``dip.data_term``).
        steps: number of Adam steps; lr: its learning rate.
        reg_noise: σ_p, std of the Gaussian perturbation added to z at every step.
        ema: decay of the exponential average of outputs (0.99 in the paper), None for none.
        backtrack: restore θ and the optimiser when the loss jumps by ``loss_jump``x (or is NaN).
        stop: optional ``stop(state) -> bool`` evaluated at each check.
        every: steps between checks (history, callbacks, backtracking; the only host syncs).
        target: the clean image, for the PSNR history only (never used by the fit itself).
        metric: ``metric(x, target) -> float`` recorded as 'psnr' (e.g. ``dip.psnr_sr``).
        callbacks: :class:`Callback` objects (``dip.LiveView()`` in notebooks).
        progress: show a tqdm progress bar (a string sets its description).
        seed: seeds the σ_p perturbations (initialise θ with ``dip.build(..., seed=)``).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    if z.dim() != 4:
        raise ValueError(f"z must be a 1xCxHxW tensor, got shape {tuple(z.shape)}")
    check_input_size(net, *z.shape[-2:])
    device = z.device
    net.to(device).train()
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the network has no trainable parameters")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True   # fixed input size: let cuDNN pick the fastest kernels
    # fused Adam: one kernel for all parameters on CUDA (no per-parameter launches, no host sync)
    opt = torch.optim.Adam(params, lr=lr, fused=device.type == "cuda")
    gen = torch.Generator(device=device)
    gen.manual_seed(seed) if seed is not None else gen.seed()
    if target is not None:
        target = target.detach().to("cpu")
    callbacks = list(callbacks)
    if progress:
        callbacks.insert(0, Progress(progress if isinstance(progress, str) else "fit"))

    losses = torch.zeros(steps, device=device)
    history = {"step": [], "loss": [], "psnr": [], "psnr_ema": [], "seconds": []}
    state = FitState(0, steps, net, opt, z, None, history, target)
    ema_img = best_img = best_step = None
    best_val = -math.inf
    backtracks: list[int] = []
    snap, last_loss = None, None
    for cb in callbacks:
        cb.start(state)
    t0 = time.perf_counter()
    step = -1
    for step in range(steps):
        z_in = z + reg_noise * torch.randn(z.shape, generator=gen, device=device, dtype=z.dtype) if reg_noise else z
        opt.zero_grad(set_to_none=True)
        out = net(z_in)
        loss = energy(out)
        if step == 0 and (not isinstance(loss, torch.Tensor) or loss.dim() != 0):
            raise ValueError("energy(x) must return a scalar tensor (e.g. dip.mse(x, y)); got "
                             f"{type(loss).__name__} {tuple(getattr(loss, 'shape', ()))}")
        loss.backward()
        opt.step()
        losses[step] = loss.detach()
        out = out.detach()
        if ema is not None:
            ema_img = out.clone() if ema_img is None else ema_img.mul_(ema).add_(out, alpha=1 - ema)

        if (step + 1) % every and step != steps - 1:
            continue
        # ---- check: the only place where the host waits for the device ----
        state.step, state.output, state.ema = step, out, ema_img
        loss_val = float(losses[step])
        state.loss, state.backtracked = loss_val, False
        jumped = last_loss is not None and loss_val > loss_jump * last_loss
        if not math.isfinite(loss_val) or (backtrack and jumped):
            if backtrack and snap is not None:
                _restore(net, opt, snap)
                backtracks.append(step)
                state.backtracked = True
                for cb in callbacks:
                    cb.check(state)
                continue
            if not math.isfinite(loss_val):
                raise FloatingPointError(
                    f"the loss became {loss_val} at step {step}: lower the learning rate (lr={lr}) "
                    f"or pass backtrack=True to restore the last good parameters.")
        if backtrack:
            snap = _snapshot(net, opt)
        last_loss = loss_val
        history["step"].append(step + 1)
        history["loss"].append(loss_val)
        history["seconds"].append(time.perf_counter() - t0)
        if target is not None:
            cpu_out = out.cpu()
            history["psnr"].append(metric(cpu_out, target))
            if ema_img is not None:
                history["psnr_ema"].append(metric(ema_img.cpu(), target))
            if keep_best and history["psnr"][-1] > best_val:
                best_val, best_img, best_step = history["psnr"][-1], cpu_out, step + 1
        for cb in callbacks:
            cb.check(state)
        if state.stop or (stop is not None and stop(state)):
            break
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    for cb in callbacks:
        cb.end(state)
    n = step + 1
    return FitResult(image=out.cpu(), ema_image=None if ema_img is None else ema_img.cpu(),
                     best_image=best_img, best_step=best_step, history=history,
                     losses=losses[:n].cpu().numpy(), backtracks=backtracks, seconds=seconds,
                     steps=n, net=net)
