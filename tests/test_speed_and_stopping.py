"""Precision per device, batched restarts and stopping without ground truth (ES-WMV)."""
import contextlib
import json
import threading

import numpy as np
import pytest
import torch

import dip_lib as dip
from dip_lib.core.early_stop import EarlyStop, VarianceTracker
from dip_lib.core import precision as prec_mod
from dip_lib.core.precision import cpu_choice, resolve_precision


# ---- precision -------------------------------------------------------------------------------

def test_precision_per_device():
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == prec_mod.Precision("fp32", "cpu")     # forced: plain, contiguous
    assert resolve_precision("bf16", cpu).name == "bf16"
    name, last = cpu_choice()
    assert resolve_precision("auto", cpu) == prec_mod.Precision(name, "cpu", channels_last=last, trial=True)
    assert resolve_precision("auto", torch.device("mps")).name == "fp32"
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16", cpu)
    with pytest.raises(ValueError, match="precision must be"):
        dip.preset("denoising", "test", precision="half")


@pytest.mark.parametrize("native, seconds, choice", [
    (True, {"fp32": 1.0, "fp32 + channels_last": 0.95, "bf16": 0.5, "bf16 + channels_last": 0.6}, ("bf16", False)),
    (True, {"fp32": 1.0, "fp32 + channels_last": 0.85, "bf16": 1.2, "bf16 + channels_last": 1.1}, ("fp32", True)),
    (True, {"fp32": 1.0, "fp32 + channels_last": 0.95, "bf16": 0.94, "bf16 + channels_last": 1.1}, ("fp32", False)),
    (False, {"fp32": 1.0, "fp32 + channels_last": 5.0}, ("fp32", False)),           # Zen 4's channels_last
    (False, {"fp32": 1.0, "fp32 + channels_last": 0.8}, ("fp32", True)),
])
def test_auto_takes_the_candidate_the_probe_measured_faster(tmp_path, monkeypatch, native, seconds, choice):
    monkeypatch.setenv("DIP_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(prec_mod, "cpu_has_native_bf16", lambda: native)
    calls = []

    def timed(candidates):
        names = {c: prec_mod.Precision(c[0], "cpu", c[1]).describe() for c in candidates}
        calls.extend(names.values())
        return {c: seconds[n] for c, n in names.items()}
    monkeypatch.setattr(prec_mod, "_probe", timed)
    (tmp_path / "precision-probe.json").write_text(json.dumps({prec_mod._machine_key(): {"bf16_faster": True}}))
    prec_mod.cpu_choice.cache_clear()
    try:        # an older file (no 'choice') is probed again; then every candidate was timed once
        assert prec_mod.cpu_choice() == choice and sorted(calls) == sorted(seconds)
        want = prec_mod.Precision(choice[0], "cpu", channels_last=choice[1], trial=True)   # the layout: a guess
        assert resolve_precision("auto", torch.device("cpu")) == want
        prec_mod.cpu_choice.cache_clear()                # a new process: the answer comes from the file
        assert prec_mod.cpu_choice() == choice and len(calls) == len(seconds)
        saved = json.loads((tmp_path / "precision-probe.json").read_text())[prec_mod._machine_key()]
        assert saved["seconds"] == seconds and saved["choice"] == choice[0]
    finally:
        prec_mod.cpu_choice.cache_clear()


def test_channels_last_prepares_batched_restarts_and_changes_no_arithmetic(monkeypatch):
    nets = [dip.build("default", width=8, seed=s) for s in (0, 1)]
    z = torch.rand(2, 32, 64, 64, generator=torch.Generator().manual_seed(0))
    last = prec_mod.Precision("fp32", "cpu", channels_last=True)
    for mode in ("vmap", "loop"):
        r = dip.Restarts(nets, mode=mode)
        want = r(z)
        r, zl = last.prepare(r, z)      # vmap's stacked 5-D weights stay as they are, 4-D ones change
        assert zl.is_contiguous(memory_format=torch.channels_last)
        assert any(p.dim() == 5 for p in r.parameters()) == (mode == "vmap")
        assert all(p.is_contiguous(memory_format=torch.channels_last) for p in r.parameters() if p.dim() == 4)
        assert torch.allclose(r(zl), want, atol=1e-5)          # the same function, to rounding
    import dip_lib.core.fit as fit_mod
    img = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    fits = {}
    for cl in (False, True):
        monkeypatch.setattr(fit_mod, "resolve_precision", lambda p, d, cl=cl: prec_mod.Precision("fp32", "cpu", cl))
        fits[cl] = dip.fit(dip.build("default", width=8, seed=0), z[:1], lambda x: dip.mse(x, img), steps=40,
                           every=40)
    assert fits[True].precision == "fp32 + channels_last" and fits[False].precision == "fp32"
    assert fits[True].image.is_contiguous()          # what a fit returns is contiguous either way
    # not bit-equal: the gradient of a bias just before a BatchNorm is rounding noise (~1e-9), which
    # Adam's first steps (lr·sign(g)) turn into ±lr; the fits agree like two thread counts do
    assert (fits[True].ema_image - fits[False].ema_image).abs().mean() < 0.05
    assert 0.8 < fits[True].history["loss"][-1] / fits[False].history["loss"][-1] < 1.25


@pytest.mark.parametrize("other_s, last", [(0.5, True), (0.95, False), (2.0, False)])
def test_layout_trial_switches_after_step_3_and_keeps_the_faster_after_step_7(monkeypatch, other_s, last):
    monkeypatch.setattr(prec_mod.LayoutTrial, "known", {})
    trial = prec_mod.LayoutTrial(("key",))
    said = {step: trial.record(step, {0: 9.0, 4: 9.0}.get(step, 1.0 if step < 4 else other_s)) for step in range(8)}
    assert said == {0: None, 1: None, 2: None, 3: True, 4: None, 5: None, 6: None, 7: last}
    assert prec_mod.LayoutTrial.known == {("key",): last}          # the warm-up steps 0 and 4 are not counted


def _fit_auto(steps, seed=0, width=8, precision="auto"):
    img = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    z = torch.rand(1, 32, 64, 64, generator=torch.Generator().manual_seed(2))
    return dip.fit(dip.build("default", width=width, seed=seed), z, lambda x: dip.mse(x, img), steps=steps,
                   every=steps, ema=None, sigma_p=0.0, precision=precision)


@pytest.mark.parametrize("faster, layout", [(100.0, "fp32 + channels_last"), (0.0, "fp32")])
def test_auto_on_a_cpu_measures_the_layout_on_the_fit_itself(monkeypatch, faster, layout):
    monkeypatch.setattr(prec_mod, "cpu_choice", lambda: ("fp32", False))
    monkeypatch.setattr(prec_mod, "FASTER", faster)           # 100: channels_last always wins; 0: never
    monkeypatch.setattr(prec_mod.LayoutTrial, "known", {})
    r = _fit_auto(prec_mod.LayoutTrial.MIN_STEPS)
    assert r.precision == layout and r.steps == prec_mod.LayoutTrial.MIN_STEPS
    fmt = torch.channels_last if layout.endswith("channels_last") else torch.contiguous_format
    weights = [t for p in r.net.parameters() if p.dim() == 4 for t in (p, p.grad)]
    assert all(t.is_contiguous(memory_format=fmt) for t in weights)
    # the switches (to channels_last after step 3, back after step 7) change no arithmetic:
    # the fit ends where a plain fp32 fit ends, to rounding
    plain = _fit_auto(r.steps, precision="fp32")
    assert 0.8 < r.history["loss"][-1] / plain.history["loss"][-1] < 1.25
    # the next such fit starts in the measured layout without a trial; a short one of another
    # shape takes the probe's guess (contiguous here) and measures nothing
    monkeypatch.setattr(prec_mod.LayoutTrial, "record", lambda *a: pytest.fail("measured twice"))
    assert _fit_auto(prec_mod.LayoutTrial.MIN_STEPS, seed=1).precision == layout
    assert _fit_auto(10, width=4).precision == "fp32"


def _tiny(precision, steps=30, seed=0):
    img = torch.linspace(0, 1, 3 * 64 * 64).reshape(1, 3, 64, 64)
    problem = dip.denoising(img, sigma=25, seed=0)
    p = dip.preset("denoising", "test", size=None, width=8, steps=steps, every=10, precision=precision)
    return dip.solve(problem, p, seed=seed), img


def test_bf16_keeps_parameters_images_and_loss_in_fp32():
    r, img = _tiny("bf16")
    assert r.precision == "bf16"
    assert r.image.dtype == r.ema_image.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in r.net.parameters())
    assert r.losses.dtype == np.float32 and np.isfinite(r.losses).all()
    f, _ = _tiny("fp32")
    assert f.precision == "fp32"
    # same seed, same network: bf16 really ran (other pixels) and restores the image as well as fp32
    assert not torch.equal(r.image, f.image)
    assert abs(dip.psnr(r.image, img) - dip.psnr(f.image, img)) < 1.0


# ---- ES-WMV ----------------------------------------------------------------------------------

def test_windowed_variance_on_a_known_sequence():
    # constant images c_k: the variance over a window of constants is their population variance
    values = [0.0, 1.0, 2.0, 2.0, 2.0, 2.0, 5.0, 9.0, 14.0, 20.0]
    like = torch.zeros(1, 1, 2, 2)
    es = VarianceTracker(EarlyStop(window=3, patience=3), len(values), like, ema=False)
    stopped = None
    for k, v in enumerate(values):
        es.update(k, torch.full((1, 1, 2, 2), v), None)
        if stopped is None and es.should_stop(k):
            stopped = k
    expect = [np.var(values[i - 2:i + 1]) for i in range(2, len(values))]
    assert np.isnan(es.var[:2].numpy()).all()
    assert es.var[2:].numpy() == pytest.approx(expect, rel=1e-5, abs=1e-6)
    # minimum 0 first reached at k=4 (window [2,2,2]); k=5 ties (not a new minimum)
    assert es.min_step == 5 and torch.equal(es.best_out, torch.full((1, 1, 2, 2), 2.0))
    assert stopped == 7 and es.stop_step == 8              # 3 steps without a new minimum
    with pytest.raises(ValueError, match="window"):
        EarlyStop(window=1)


def test_the_average_kept_is_the_one_at_the_stop_and_watching_freezes_the_choice():
    # the running average passed at step k is the constant k; the window variances are 0.67, 0.22,
    # 0.056 (k=4, the minimum), 0.17, 1.2, ...: the rule fires at k=7 (patience 3), so the average
    # kept is the one of k=7, and a later, lower variance (the flat tail: 0 at k=11) no longer
    # moves the choice of a watching fit
    values = [0.0, 1.0, 2.0, 2.0, 2.5, 3.0, 5.0, 9.0, 14.0, 20.0, 20.0, 20.0, 20.0]
    like = torch.zeros(1, 1, 2, 2)
    es = VarianceTracker(EarlyStop(window=3, patience=3, stop=False), len(values), like, ema=True)
    for k, v in enumerate(values):
        es.update(k, torch.full((1, 1, 2, 2), v), torch.full((1, 1, 2, 2), float(k)))
        es.should_stop(k)
    assert float(es.var[-1]) == 0.0 and es.min_step == 5     # the tail's variance is 0, but frozen at k=4
    assert es.stop_step == 8 and torch.equal(es.best_ema, torch.full((1, 1, 2, 2), 7.0))
    assert es.kept_step(len(values)) == 8 and es.kept_step(6) == 6    # step 8 = k=7; a fit ending earlier: its last
    assert torch.equal(es.best_out, torch.full((1, 1, 2, 2), 2.5))


def test_running_sums_match_a_direct_computation_over_a_long_fit():
    g = torch.Generator().manual_seed(0)
    outs = [torch.rand(1, 3, 8, 8, generator=g) for _ in range(57)]
    es = VarianceTracker(EarlyStop(window=10, patience=100), len(outs), outs[0], ema=False)
    for k, o in enumerate(outs):
        es.update(k, o, None)
    direct = torch.cat(outs[-10:]).var(0, unbiased=False).mean()
    assert float(es.var[-1]) == pytest.approx(float(direct), rel=1e-5)


def test_fit_early_stop_watch_and_stop():
    img = torch.linspace(0, 1, 3 * 64 * 64).reshape(1, 3, 64, 64)
    problem = dip.denoising(img, sigma=25, seed=0)
    p = dip.preset("denoising", "test", size=None, width=8, steps=200, every=10, lr=0.05, sigma_p=0.0,
                   es_window=5, es_patience=20)
    watch = dip.solve(problem, p, early_stop="watch")
    assert watch.steps == 200 and len(watch.variance) == 200                 # watching never stops the fit
    assert np.isnan(watch.variance[:4]).all() and np.isfinite(watch.variance[4:]).all()
    if watch.stop_step is not None:         # a minimum counts once the loss has slowed (2 windows in)
        assert watch.stop_step >= 2 * 5 and np.isfinite(watch.variance[watch.stop_step - 1])
    stop = dip.solve(problem, p, early_stop="stop")
    if watch.stopped_at is not None:          # the rule fires: the stopping fit ends exactly there
        assert stop.steps == watch.stopped_at < 200
        assert stop.stop_step <= stop.steps - 20     # (watching goes on and may find a later minimum)
        assert torch.equal(stop.output, stop.stop_ema_image) and stop.stop_ema_step == stop.stop_step + 20
    else:
        assert stop.steps == 200 and torch.equal(stop.output, stop.ema_image)


def test_es_stops_patience_steps_after_the_variance_minimum():
    # the outputs settle on one image, then the target changes at step 100 and they move again:
    # the variance's minimum is just before the change, and the rule fires `patience` steps later
    a, b = torch.full((1, 3, 16, 16), 0.3), torch.full((1, 3, 16, 16), 0.7)
    calls = []

    def energy(x):
        calls.append(1)
        return dip.mse(x, a if len(calls) <= 100 else b)

    net = dip.PixelImage((1, 3, 16, 16))
    r = dip.fit(net, torch.zeros(1, 3, 16, 16), energy, steps=400, lr=0.02, ema=None, every=1, precision="fp32",
                early_stop=EarlyStop(window=10, patience=40))
    assert 90 <= r.stop_step <= 101, r.stop_step
    assert r.stopped_at == r.steps == r.stop_step + 40
    assert torch.allclose(r.output, a, atol=0.02) and torch.equal(r.output, r.stop_image)


# ---- batched restarts ------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["vmap", "loop", "threads"])
def test_restarts_forward_equals_each_network(mode):
    nets = [dip.build("default", width=8, seed=s) for s in (0, 1)]
    r = dip.Restarts(nets, mode=mode)
    z = torch.rand(2, 32, 64, 64, generator=torch.Generator().manual_seed(0))
    x = r(z)
    for i, n in enumerate(nets):
        n.train()
        assert torch.allclose(x[i:i + 1], n(z[i:i + 1]), atol=1e-4)
    with pytest.raises(ValueError, match="needs 2 codes"):
        r(z[:1])


@pytest.mark.parametrize("mode", ["vmap", "loop", "threads"])
def test_batched_runs_are_the_independent_runs(mode, monkeypatch):
    img = torch.linspace(0, 1, 3 * 64 * 64).reshape(1, 3, 64, 64)
    problem = dip.denoising(img, sigma=25, seed=0)
    p = dip.preset("denoising", "test", size=None, width=8, steps=15, every=5, precision="fp32", sigma_p=0.0)
    import dip_lib.problems.run as run
    monkeypatch.setattr(run, "Restarts", lambda nets, device=None: dip.Restarts(nets, mode=mode))
    both = dip.solve(problem, p, seed=3, runs=2)
    solo = [dip.solve(problem, p, seed=s) for s in (3, 4)]
    assert both.runs.shape == (2, 3, 64, 64)
    for i in range(2):     # no gradient crosses runs: each equals its own solo fit
        if mode == "loop":     # the same kernels: bit for bit
            assert torch.allclose(both.runs[i:i + 1], solo[i].image, atol=1e-5)
            assert torch.allclose(both.runs_ema[i:i + 1], solo[i].ema_image, atol=1e-5)
        else:                  # grouped convolutions (vmap) or one intra-op thread (threads) round
            # differently, and Adam's first steps (lr·sign(g)) amplify rounding on gradients near zero:
            # close to the solo fit, not equal (a solo fit on 1 thread differs from one on 2 as much)
            assert (both.runs[i:i + 1] - solo[i].image).abs().mean() < 0.1
    if mode != "loop":         # independence, exactly: run 0 is the same whatever run 1 is
        y = problem.observation
        z = torch.rand(2, 32, 64, 64, generator=torch.Generator().manual_seed(1))
        fits = [dip.fit(dip.Restarts([dip.build("default", width=8, seed=0), dip.build("default", width=8, seed=s)],
                                     mode=mode), z, lambda x: dip.mse(x, y), steps=10, ema=None, precision="fp32")
                for s in (1, 2)]
        assert torch.equal(fits[0].runs[0], fits[1].runs[0])
        assert not torch.equal(fits[0].runs[1], fits[1].runs[1])
    assert torch.allclose(both.ema_image, both.runs_ema.mean(0, keepdim=True), atol=1e-6)
    assert torch.allclose(both.image, both.runs.mean(0, keepdim=True), atol=1e-6)
    with pytest.raises(ValueError, match="runs must be"):
        dip.solve(problem, p, runs=0)


def test_threaded_restarts_keep_the_callers_thread_count_and_auto_picks_them_on_a_cpu():
    nets = [dip.build("default", width=8, seed=s) for s in (0, 1)]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert dip.Restarts(nets).mode == "threads"           # auto, on a CPU with 2 intra-op threads
        r = dip.Restarts(nets, mode="threads")
        z = torch.rand(2, 32, 64, 64, generator=torch.Generator().manual_seed(0))
        y = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
        x, loss = r.backward_step(z, lambda out: dip.mse(out, y), contextlib.nullcontext)
        assert x.shape == (2, 3, 64, 64) and loss.dim() == 0
        assert all(p.grad is not None for p in r.parameters())  # each run's backward ran in its thread
        assert torch.get_num_threads() == 2                      # the caller keeps its intra-op threads
        new = []
        t = threading.Thread(target=lambda: new.append(torch.get_num_threads()))
        t.start()
        t.join()
        assert new == [2]                                        # and so do threads started later
        torch.set_num_threads(1)
        assert dip.Restarts(nets).mode == "loop"               # one core: nothing to share
        with pytest.raises(ValueError, match="CPU threads"):
            dip.Restarts(nets, mode="threads", device="meta")
    finally:
        torch.set_num_threads(before)


def test_the_flat_start_of_a_fit_is_not_taken_for_the_minimum():
    # a DIP fit starts from a nearly constant output: variance 0, then the learning burst, then it
    # settles (the minimum we want, at k=9), then drifts again
    values = [0.5, 0.5, 0.5, 0.5, 1.5, 3.0, 3.2, 3.3, 3.3, 3.3, 3.6, 4.2, 5.0, 6.0, 7.5, 9.0]
    like = torch.zeros(1, 1, 1, 1)
    es = VarianceTracker(EarlyStop(window=3, patience=4), len(values), like, ema=False)
    for k, v in enumerate(values):
        es.update(k, torch.full((1, 1, 1, 1), v), None)
    assert float(es.var[2]) == 0.0                        # the flat start has the smallest variance ...
    assert es.min_step == 10                              # ... but the minimum is the settled one
    assert es.should_stop(len(values) - 1)


def test_a_saturated_fit_warns_and_a_sane_one_does_not():
    img = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    problem = dip.denoising(img, sigma=25, seed=0)
    p = dip.preset("denoising", "test", width=8, steps=60, every=10)
    with pytest.warns(RuntimeWarning, match="saturated. Lower the learning rate"):
        dip.solve(problem, p, lr=1e6)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dip.solve(problem, p)
