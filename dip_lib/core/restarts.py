"""Batched restarts: N independent fits (own θ, own z) in one batched forward pass.

The paper averages the outputs of two runs for denoising. :class:`Restarts` fits the N runs
in ONE loop (one optimiser, one history, one running average of their mean), in two modes:

- ``'vmap'``: the N networks' parameters are stacked (``torch.func.stack_module_state``) and one
  ``vmap``-ed forward evaluates all of them (the convolutions become grouped convolutions): on
  a GPU that a single 512 px fit leaves partly idle, N runs cost much less than N x;
- ``'loop'``: the N networks run one after the other inside each step. On a 2-core CPU
  oneDNN's grouped convolutions are slow (vmap: 3.1x one run for two), so this is faster there
  (``benchmarks/bench_fit.py --restarts 1 2 4`` measures both);
- ``'threads'``: on a CPU, each run's forward, energy and backward in a thread of its own, each
  with an equal share of the intra-op threads (one each for two runs on two cores): small
  convolutions keep two cores busier side by side than one after the other. Two runs at 256 px
  (width 32) cost 1.64x one run against 2.01x in 'loop' (``benchmarks/cpu_options.py``).

``'auto'`` picks 'vmap' on CUDA, 'threads' on a CPU with at least N intra-op threads, else 'loop'.

The N fits stay independent: the energy is the sum of the per-run energies (no gradient
crosses runs), and Adam works element by element. BatchNorm runs on batch statistics (it
always does in a fit, which trains), so the running-statistics buffers are removed.
"""
from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, replace_all_batch_norm_modules_, stack_module_state, vmap

__all__ = ["Restarts"]

_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}   # (runs, intra-op threads each) -> worker threads


def _one_thread_count(each: int) -> None:
    torch.set_num_threads(each)
    torch.get_num_threads()          # torch reads the count once per thread: fix it for this worker now


def _pool(n: int, each: int) -> ThreadPoolExecutor:
    """N worker threads with ``each`` intra-op threads apiece. torch.set_num_threads also sets the
    count new threads start with, so the caller's count is put back once all N have started."""
    if (n, each) not in _POOLS:
        main = torch.get_num_threads()
        pool = ThreadPoolExecutor(n, thread_name_prefix="dip-restart", initializer=_one_thread_count,
                                  initargs=(each,))
        started = threading.Barrier(n)
        list(pool.map(lambda _: started.wait(), range(n)))      # one task per thread: all N start
        torch.set_num_threads(main)
        _POOLS[(n, each)] = pool
    return _POOLS[(n, each)]


class Restarts(nn.Module):
    """N copies of one architecture with their own parameters, run in one batched call.

    ``forward(z)`` takes the N codes stacked as ``N x C x H x W`` (``torch.cat`` of the 1xCxHxW
    codes) and returns the N outputs as ``N x C' x H' x W'``. ``energy(per_run)`` turns a
    one-image energy into the energy of the batch.
    """

    def __init__(self, nets: Sequence[nn.Module], mode: str = "auto", device=None):
        super().__init__()
        if len(nets) < 1:
            raise ValueError("Restarts needs at least one network")
        if mode not in ("auto", "vmap", "loop", "threads"):
            raise ValueError(f"mode must be 'auto', 'vmap', 'loop' or 'threads', not {mode!r}")
        kind = torch.device(device).type if device is not None else next(nets[0].parameters()).device.type
        if mode == "auto":
            mode = "vmap" if kind == "cuda" else ("threads" if 2 <= len(nets) <= torch.get_num_threads() else "loop")
        if mode == "threads" and kind != "cpu":
            raise ValueError("mode='threads' runs the restarts in CPU threads; on a GPU use 'vmap' or 'loop'")
        self.mode, self.n = mode, len(nets)
        if mode in ("loop", "threads"):
            self.nets = nn.ModuleList(nets)
            return
        nets = [replace_all_batch_norm_modules_(copy.deepcopy(n)) for n in nets]
        names = {tuple(n.state_dict()) for n in nets}
        if len(names) != 1:
            raise ValueError("all restarts must be the same architecture")
        params, _ = stack_module_state(nets)        # no buffers: BatchNorm keeps no running statistics here
        self._names = list(params)
        # dotted names are not allowed as parameter names: store them flat, keep the map
        self.stacked = nn.ParameterList([nn.Parameter(params[k].detach().clone()) for k in self._names])
        base = copy.deepcopy(nets[0]).to("meta")
        self._base = [base]                                   # a list: not a registered submodule

    def _one(self, params, z):
        return functional_call(self._base[0], params, (z.unsqueeze(0),)).squeeze(0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[0] != self.n:
            raise ValueError(f"Restarts of {self.n} networks needs {self.n} codes stacked, got {z.shape[0]}")
        if self.mode in ("loop", "threads"):
            return torch.cat([net(z[i:i + 1]) for i, net in enumerate(self.nets)])
        params = {k: p for k, p in zip(self._names, self.stacked)}
        return vmap(self._one, in_dims=(0, 0), randomness="different")(params, z)

    def backward_step(self, z: torch.Tensor, per_run: Callable[[torch.Tensor], torch.Tensor],
                      context: Callable) -> tuple[torch.Tensor, torch.Tensor]:
        """'threads' mode: f_θi(z_i), E(x_i) and its backward for every run, each run in its own
        thread (``context()``: the precision's autocast, entered in each thread, since autocast
        is per thread). Returns the N outputs (detached) and Σ_i E(x_i) (detached)."""
        def one(i):
            with context():
                x = self.nets[i](z[i:i + 1]).float()
                loss = per_run(x)
            loss.backward()
            return x.detach(), loss.detach()
        each = max(1, torch.get_num_threads() // self.n)
        xs, losses = zip(*_pool(self.n, each).map(one, range(self.n)))
        return torch.cat(xs), torch.stack(losses).sum()

    def energy(self, per_run: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
        """E(x_1..x_N) = Σ_i E(x_i): each run sees only its own output."""
        def batched(x: torch.Tensor) -> torch.Tensor:
            return sum(per_run(x[i:i + 1]) for i in range(x.shape[0]))
        return batched
