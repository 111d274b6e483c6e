"""The fitting loop: known answers for the best image and the running average, deterministic,
σ_p perturbs z, the target never steers the fit, backtracking restores θ, Adam's state AND the
average, NaN is a clear error, Ctrl-C returns the result so far, global state is left alone and
the per-step path never waits for the device."""
import copy
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import dip_lib as dip
from dip_lib.core.fit import _BackendFlags

ROOT = Path(__file__).resolve().parents[1]


def _tiny(seed=0, side=16):
    """A two-scale hourglass (a few hundred parameters) and its code z: a fit step is ~5 ms."""
    net = dip.build(dip.SkipConfig(in_channels=4, n_down=[4, 4], n_up=[4, 4], n_skip=[2, 2]), seed=seed)
    z = dip.noise(4, side, side, seed=seed)
    y = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(123))
    return net, z, y


def _energy(y):
    return lambda x: dip.mse(x, y)


class Record(dip.Callback):
    """Keep a copy of the output, the running average and the loss at every check."""

    def __init__(self):
        self.steps, self.outputs, self.emas, self.backtracked = [], [], [], []

    def check(self, state):
        self.steps.append(state.step + 1)
        self.outputs.append(state.output.detach().clone())
        self.emas.append(None if state.ema is None else state.ema.detach().clone())
        self.backtracked.append(state.backtracked)


class Scripted(nn.Module):
    """A "network" whose k-th output is images[k] (the parameter only carries the gradient):
    it lets the test know the answer of every check in advance."""

    def __init__(self, images):
        super().__init__()
        self.images, self.k = images, 0
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, z):
        x = self.images[min(self.k, len(self.images) - 1)] + 0 * self.w
        self.k += 1
        return x


# --- known answers -----------------------------------------------------------------------------

def test_best_image_is_the_output_with_the_highest_psnr():
    target = torch.full((1, 3, 8, 8), 0.5)
    errors = [0.2, 0.1, 0.01, 0.05, 0.3]                 # best (PSNR 40 dB) at step 3 of 5
    images = [target + e for e in errors]
    r = dip.fit(Scripted(images), torch.zeros(1, 1, 8, 8), _energy(target), steps=5, every=1,
                target=target, ema=None)
    assert r.best_step == 3
    assert torch.equal(r.best_image, images[2])
    assert r.best_psnr == pytest.approx(40.0, abs=1e-4)
    assert r.final_psnr == pytest.approx(-20 * np.log10(0.3), abs=1e-4)
    assert r.history["psnr"] == pytest.approx([-20 * np.log10(e) for e in errors], abs=1e-4)
    assert r.history["step"] == [1, 2, 3, 4, 5]
    assert r.losses == pytest.approx([e * e for e in errors], rel=1e-4)
    assert torch.equal(r.image, images[-1])


def test_ema_is_the_exponential_average_of_the_outputs():
    net, z, y = _tiny()
    rec = Record()
    r = dip.fit(net, z, _energy(y), steps=12, every=1, lr=0.05, ema=0.5, callbacks=[rec])
    assert rec.steps == list(range(1, 13))
    ema = rec.outputs[0]
    for out in rec.outputs[1:]:
        ema = 0.5 * ema + 0.5 * out
    assert torch.allclose(r.ema_image, ema, atol=1e-6, rtol=0)
    # the average is not just the last output (the test would not tell them apart otherwise)
    assert (r.ema_image - r.image).abs().max() > 1e-3
    assert torch.equal(r.image, rec.outputs[-1])


def test_ema_none_gives_no_average():
    net, z, y = _tiny()
    r = dip.fit(net, z, _energy(y), steps=3, every=1, ema=None)
    assert r.ema_image is None and r.history["psnr_ema"] == []


# --- determinism, σ_p, the target --------------------------------------------------------------

def _run(sigma_p=0.0, seed=0, target=None, steps=15):
    net, z, y = _tiny()
    return dip.fit(net, z, _energy(y), steps=steps, every=5, lr=0.02, sigma_p=sigma_p, seed=seed, target=target)


def test_fit_is_deterministic_on_cpu():
    a, b = _run(sigma_p=1 / 30, seed=5), _run(sigma_p=1 / 30, seed=5)
    assert torch.equal(a.image, b.image) and torch.equal(a.ema_image, b.ema_image)
    assert np.array_equal(a.losses, b.losses)


def test_sigma_p_perturbs_the_code():
    plain_a, plain_b = _run(sigma_p=0.0), _run(sigma_p=0.0)
    assert np.array_equal(plain_a.losses, plain_b.losses) and torch.equal(plain_a.image, plain_b.image)
    noisy = _run(sigma_p=0.05)
    assert not np.allclose(noisy.losses[1:], plain_a.losses[1:], rtol=1e-6, atol=0)
    # the perturbation comes from the seed: another seed, other losses
    assert not np.array_equal(_run(sigma_p=0.05, seed=1).losses, noisy.losses)


def test_the_target_never_influences_the_fit():
    _, _, y = _tiny()
    target = torch.rand(1, 3, 16, 16)
    blind, scored = _run(sigma_p=0.03), _run(sigma_p=0.03, target=target)
    assert np.array_equal(blind.losses, scored.losses)
    assert torch.equal(blind.image, scored.image) and torch.equal(blind.ema_image, scored.ema_image)
    assert blind.history["psnr"] == [] and len(scored.history["psnr"]) == 3


# --- backtracking ------------------------------------------------------------------------------

class Corrupt(dip.Callback):
    """At check ``at``: remember θ, Adam's state and the running average, then wreck θ and
    Adam's moments (the loss of the next check jumps)."""

    def __init__(self, at=20):
        self.at = at
        self.saved = self.after_restore = None

    def check(self, state):
        if state.step + 1 == self.at and not state.backtracked:
            self.saved = ({k: v.clone() for k, v in state.net.state_dict().items()},
                          copy.deepcopy(state.optimizer.state_dict()), state.ema.clone())
            with torch.no_grad():
                for p in state.net.parameters():
                    p.mul_(1e3).add_(torch.sign(p) * 10)
            for st in state.optimizer.state.values():
                st["exp_avg"].fill_(123.0)
        elif state.backtracked and self.after_restore is None:
            self.after_restore = ({k: v.clone() for k, v in state.net.state_dict().items()},
                                  copy.deepcopy(state.optimizer.state_dict()), state.ema.clone(),
                                  state.step + 1)


def test_backtracking_restores_parameters_optimizer_and_average():
    net, z, y = _tiny()
    cb = Corrupt(at=20)
    r = dip.fit(net, z, _energy(y), steps=40, every=10, lr=0.02, ema=0.9, backtrack=True, callbacks=[cb])
    assert r.backtracks == [30], "the loss jump after the corruption must trigger exactly one restore"
    params, opt, ema, step = cb.after_restore
    assert step == 30
    assert all(torch.equal(params[k], v) for k, v in cb.saved[0].items())
    for k, st in cb.saved[1]["state"].items():
        assert torch.equal(opt["state"][k]["exp_avg"], st["exp_avg"])
        assert torch.equal(opt["state"][k]["exp_avg_sq"], st["exp_avg_sq"])
    assert torch.equal(ema, cb.saved[2]), "the running average must be the snapshot of the last good check"
    # after the restore the fit goes on as if steps 21-30 had never happened: its final average is
    # the average of a clean 30-step run, with nothing left of the diverged outputs
    net, z, y = _tiny()
    clean = dip.fit(net, z, _energy(y), steps=30, every=10, lr=0.02, ema=0.9, backtrack=True)
    assert torch.allclose(r.ema_image, clean.ema_image, atol=1e-6, rtol=0)
    assert torch.allclose(r.image, clean.image, atol=1e-6, rtol=0)
    assert r.history["step"] == [10, 20, 40]


def test_without_backtracking_the_divergence_stays():
    net, z, y = _tiny()
    r = dip.fit(net, z, _energy(y), steps=30, every=10, lr=0.02, backtrack=False, callbacks=[Corrupt(at=20)])
    assert r.backtracks == [] and r.history["loss"][-1] > 3 * r.history["loss"][1]


def test_nan_loss_is_a_clear_error():
    net, z, y = _tiny()
    with pytest.raises(FloatingPointError, match="lower the learning rate.*backtrack=True"):
        dip.fit(net, z, lambda x: dip.mse(x, y) * float("nan"), steps=4, every=2)


def test_energy_must_be_scalar():
    net, z, y = _tiny()
    with pytest.raises(ValueError, match="scalar tensor"):
        dip.fit(net, z, lambda x: (x - y) ** 2, steps=2)


@pytest.mark.parametrize("steps", [0, -3, 2.5, True])
def test_steps_must_be_a_positive_whole_number(steps):
    net, z, y = _tiny()
    with pytest.raises(ValueError, match="steps must be a positive whole number"):
        dip.fit(net, z, _energy(y), steps=steps)


def test_solve_rejects_an_image_the_network_cannot_take():
    problem = dip.enhancement(torch.rand(1, 3, 80, 64))
    with pytest.raises(ValueError, match="not a multiple of 32.*crop_to_multiple"):
        dip.solve(problem, dip.preset("tour", "test"), arch="default", width=4, steps=1, device="cpu")


# --- Ctrl-C, global state ----------------------------------------------------------------------

class Interrupt(dip.Callback):
    def __init__(self, at):
        self.at = at

    def check(self, state):
        if state.step + 1 == self.at:
            raise KeyboardInterrupt


def test_ctrl_c_returns_the_result_so_far():
    net, z, y = _tiny()
    rec = Record()
    r = dip.fit(net, z, _energy(y), steps=40, every=5, callbacks=[rec, Interrupt(at=10)])
    assert r.interrupted and r.steps == 10 < 40
    assert len(r.losses) == 10 and r.history["step"] == [5, 10]
    assert torch.equal(r.image, rec.outputs[-1]) and r.ema_image is not None
    assert not _run(steps=5).interrupted


def test_global_rng_is_untouched():
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    dip.build("default", seed=0)
    p = dip.preset("denoising", "test")
    problem = dip.denoising(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)), sigma=25)
    dip.solve(problem, p, width=4, steps=2, every=1, device="cpu")
    dip.gaussian_noise(torch.zeros(1, 3, 8, 8), 0.1, seed=0)
    dip.noise(4, 8, 8, seed=0)
    dip.noise(4, 8, 8, seed=None)
    assert torch.equal(torch.get_rng_state(), before)
    a = torch.rand(3)
    torch.manual_seed(1234)
    assert torch.equal(a, torch.rand(3)), "the caller's random stream goes on as if dip_lib had not run"


@pytest.mark.parametrize("value", [False, True])
def test_backend_flags_are_restored(value):
    saved = torch.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.benchmark = value
        net, z, y = _tiny()
        dip.fit(net, z, _energy(y), steps=2, every=1)
        assert torch.backends.cudnn.benchmark is value
        # the CUDA path (runs without a GPU: only the flag is touched), also when the fit fails
        with pytest.raises(RuntimeError):
            with _BackendFlags(torch.device("cuda")):
                assert torch.backends.cudnn.benchmark is True
                raise RuntimeError("the fit failed")
        assert torch.backends.cudnn.benchmark is value
    finally:
        torch.backends.cudnn.benchmark = saved


# --- the host syncs, stopping, callbacks -------------------------------------------------------

def test_per_step_path_does_not_synchronise(monkeypatch):
    """Host reads (.item(), float(), .cpu(), .tolist(), .numpy()) made by dip_lib's code
    depend on the number of checks only, not on the number of steps."""
    import sys
    counts = {}

    def count(name, orig):
        def wrapper(self, *a, **k):
            if "dip_lib" in sys._getframe(1).f_code.co_filename:
                counts[name] = counts.get(name, 0) + 1
            return orig(self, *a, **k)
        return wrapper

    def reads(steps):
        counts.clear()
        net, z, y = _tiny()
        with monkeypatch.context() as m:
            for name in ("item", "cpu", "tolist", "numpy", "__float__", "__bool__"):
                m.setattr(torch.Tensor, name, count(name, getattr(torch.Tensor, name)))
            dip.fit(net, z, _energy(y), steps=steps, every=steps, sigma_p=0.03, ema=0.99)
        return sum(counts.values())

    few, many = reads(5), reads(25)
    assert few == many and few > 0


def test_early_stopping_and_stop_callable():
    net, z, y = _tiny()
    r = dip.fit(net, z, _energy(y), steps=100, every=5, stop=lambda s: s.step >= 19)
    assert r.steps == 20 and not r.interrupted
    net, z, y = _tiny()
    r = dip.fit(net, z, _energy(y), steps=200, every=5, lr=1.0, callbacks=[dip.EarlyStopping("loss", patience=2)])
    assert r.steps < 200


def test_checkpoint_and_progress(tmp_path):
    net, z, y = _tiny()
    path = tmp_path / "ckpt.pt"
    dip.fit(net, z, _energy(y), steps=10, every=5, progress=True, callbacks=[dip.Checkpoint(path)])
    ck = torch.load(path, weights_only=True)
    assert ck["step"] == 9 and set(ck["net"]) == set(net.state_dict())


def test_pixel_baseline_and_super_resolution_sizes():
    hr = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    problem = dip.super_resolution(hr, 4)
    assert problem.observation.shape == (1, 3, 16, 16)
    r = dip.solve(problem, dip.preset("sr", "test"), width=4, steps=5, every=5, device="cpu")
    assert r.image.shape == hr.shape and len(r.history["psnr"]) == 1
    pix = dip.PixelImage(hr.shape)
    r = dip.fit(pix, torch.zeros(1, 1, 64, 64), _energy(hr), steps=30, lr=0.1, ema=None, every=10)
    assert r.history["loss"][-1] < 0.5 * r.history["loss"][0]


def test_benchmark_prints_one_json_line(capsys):
    spec = importlib.util.spec_from_file_location("bench_fit", ROOT / "benchmarks" / "bench_fit.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = bench.main(["--size", "64", "--steps", "2", "--rounds", "2", "--width", "4", "--device", "cpu",
                      "--sigma-p", "0.05", "--precision", "fp32", "--restarts", "1", "2", "--full-steps", "3"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0]) == out
    assert out["steps"] == 2 and out["sigma_p"] == 0.05 and out["s_per_it"] > 0 and out["baseline_s_per_it"] > 0
    assert out["precision"] == "fp32" and abs(out["speedup"] - out["baseline_s_per_it"] / out["s_per_it"]) < 0.02
    assert set(out["restarts"]) == {"1", "2"} and out["peak_mem_mb"] > 0
    assert out["full_fit"]["steps"] == 3 and out["full_fit"]["seconds"] > 0
    # auto: one run alone in a loop; two in threads where torch has 2+ intra-op threads
    assert out["restarts_mode"] == {"1": "loop", "2": "threads" if out["threads"] >= 2 else "loop"}
    assert abs(out["restarts_over_one_fit"]["2"] - out["restarts"]["2"] / out["s_per_it"]) < 0.02


def test_cpu_options_benchmark_times_every_variant(capsys):
    spec = importlib.util.spec_from_file_location("cpu_options", ROOT / "benchmarks" / "cpu_options.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = bench.main(["--size", "64", "--width", "4", "--rounds", "1", "--steps", "1", "--no-compile"])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == out
    assert set(out["s_per_step"]) == {"one run", "one run, bf16 autocast", "one run, channels_last",
                                      "two runs, one after the other", "two runs, two threads"}
    one = out["s_per_step"]["one run"]
    assert abs(out["channels_last_speedup"] - one / out["s_per_step"]["one run, channels_last"]) < 0.02
    assert "compile_speedup" not in out
