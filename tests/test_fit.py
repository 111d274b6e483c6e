"""The fitting loop: it restores, it is deterministic, backtracking restores θ AND Adam's state,
NaN is a clear error, and the per-step path never waits for the device."""
import copy

import pytest
import torch

import dip_lib as dip


@pytest.fixture(scope="module")
def f16():
    p = dip.preset("denoising", "test")
    clean = dip.load_image("F16", size=p.size, multiple=32, verbose=False)
    return p, clean, dip.gaussian_noise(clean, 25 / 255, seed=0)


def test_denoising_beats_the_noisy_input_by_a_margin(f16):
    p, clean, noisy = f16
    r = dip.denoise(noisy, p, target=clean, device="cpu")
    assert r.final_psnr > dip.psnr(noisy, clean) + 1.5
    assert r.history["psnr_ema"] and r.ema_image.shape == clean.shape
    assert r.best_psnr >= r.final_psnr and r.best_image is not None
    assert len(r.losses) == p.steps and r.history["step"][-1] == p.steps


def _tiny(seed=0):
    net = dip.build("default", width=4, seed=seed)
    z = dip.noise(32, 64, 64, seed=seed)
    y = dip.load_image("camera", size=64, verbose=False)
    return net, z, y


def test_fit_is_deterministic_on_cpu():
    runs = []
    for _ in range(2):
        net, z, y = _tiny()
        runs.append(dip.fit(net, z, dip.data_term(y), steps=20, reg_noise=1 / 30, every=10, seed=5))
    assert torch.equal(runs[0].image, runs[1].image)
    assert (runs[0].losses == runs[1].losses).all()


class Corrupt(dip.Callback):
    """At the first check: remember θ and Adam's state, then wreck θ and Adam's moments."""

    def __init__(self):
        self.saved = None
        self.after_restore = None

    def check(self, state):
        if self.saved is None:
            self.saved = ({k: v.clone() for k, v in state.net.state_dict().items()},
                          copy.deepcopy(state.optimizer.state_dict()))
            with torch.no_grad():
                for p in state.net.parameters():
                    p.add_(torch.randn_like(p) * 50)
            for st in state.optimizer.state.values():
                st["exp_avg"].fill_(123.0)
        elif state.backtracked and self.after_restore is None:
            self.after_restore = ({k: v.clone() for k, v in state.net.state_dict().items()},
                                  copy.deepcopy(state.optimizer.state_dict()))


def test_backtracking_restores_parameters_and_optimizer_state():
    net, z, y = _tiny()
    cb = Corrupt()
    r = dip.fit(net, z, dip.data_term(y), steps=40, every=10, backtrack=True, callbacks=[cb])
    assert r.backtracks == [19], "the loss jump after the corruption must trigger one restore"
    params, opt = cb.after_restore
    assert all(torch.equal(params[k], v) for k, v in cb.saved[0].items())
    for k, st in cb.saved[1]["state"].items():
        assert torch.equal(opt["state"][k]["exp_avg"], st["exp_avg"])
        assert torch.equal(opt["state"][k]["exp_avg_sq"], st["exp_avg_sq"])
    assert r.history["loss"][-1] < 3 * r.history["loss"][0]


def test_without_backtracking_the_divergence_stays():
    net, z, y = _tiny()
    r = dip.fit(net, z, dip.data_term(y), steps=20, every=10, backtrack=False, callbacks=[Corrupt()])
    assert r.backtracks == [] and r.history["loss"][-1] > 3 * r.history["loss"][0]


def test_nan_loss_is_a_clear_error():
    net, z, y = _tiny()
    with pytest.raises(FloatingPointError, match="lower the learning rate.*backtrack=True"):
        dip.fit(net, z, lambda x: dip.mse(x, y) * float("nan"), steps=4, every=2)


def test_energy_must_be_scalar():
    net, z, y = _tiny()
    with pytest.raises(ValueError, match="scalar tensor"):
        dip.fit(net, z, lambda x: (x - y) ** 2, steps=2)


def test_fit_rejects_an_image_the_network_cannot_take():
    net = dip.build("default", width=4)
    with pytest.raises(ValueError, match="not a multiple of 32"):
        dip.fit(net, torch.rand(1, 32, 80, 64), lambda x: x.mean(), steps=1)


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
            dip.fit(net, z, dip.data_term(y), steps=steps, every=steps, reg_noise=0.03, ema=0.99)
        return sum(counts.values())

    few, many = reads(5), reads(25)
    assert few == many and few > 0


def test_early_stopping_and_stop_callable():
    net, z, y = _tiny()
    r = dip.fit(net, z, dip.data_term(y), steps=100, every=5, stop=lambda s: s.step >= 19)
    assert r.steps == 20
    net, z, y = _tiny()
    r = dip.fit(net, z, dip.data_term(y), steps=200, every=5, lr=1.0,
                callbacks=[dip.EarlyStopping("loss", patience=2)])
    assert r.steps < 200


def test_checkpoint_and_progress(tmp_path):
    net, z, y = _tiny()
    path = tmp_path / "ckpt.pt"
    dip.fit(net, z, dip.data_term(y), steps=10, every=5, progress=True, callbacks=[dip.Checkpoint(path)])
    ck = torch.load(path, weights_only=True)
    assert ck["step"] == 9 and set(ck["net"]) == set(net.state_dict())


def test_pixel_baseline_and_super_resolution_sizes():
    hr = dip.load_image("camera", size=64, verbose=False)
    lr_img = dip.Downsampler(4, 3)(hr)
    p = dip.preset("sr", "test", steps=5)
    r = dip.super_resolve(lr_img, 4, p, target=hr, device="cpu")
    assert r.image.shape == hr.shape and r.history["psnr"]
    pix = dip.PixelImage(hr.shape)
    r = dip.fit(pix, torch.zeros(1, 1, 64, 64), dip.data_term(hr), steps=30, lr=0.1, ema=None, every=10)
    assert r.history["loss"][-1] < r.history["loss"][0]
