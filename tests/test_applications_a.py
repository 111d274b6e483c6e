"""Unit tests for what notebooks 03-05 (denoising, JPEG, super-resolution) add to dip_lib."""
import numpy as np
import pytest
import torch

import dip_lib as dip
from dip_lib import Snapshots, WindowedVariance, snapshot_every
from dip_lib.problems import baselines


# --- the SR protocol of dip.psnr_sr, against a hand computation ----------------------------------

def test_psnr_sr_matches_a_hand_computation():
    g = torch.Generator().manual_seed(0)
    ref = torch.rand(1, 3, 20, 24, generator=g)
    x = (ref + 0.05 * torch.randn(1, 3, 20, 24, generator=g)).clamp(0, 1)
    factor = 4

    def hand(a):
        a = np.round(a[0].permute(1, 2, 0).double().numpy() * 255)          # 8-bit values
        y = 16 + (65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]) / 255  # MATLAB rgb2ycbcr
        return y[factor:-factor, factor:-factor]                              # border crop

    mse = np.mean((hand(x) - hand(ref)) ** 2)
    expected = 10 * np.log10(255.0 ** 2 / mse)
    assert dip.psnr_sr(x, ref, factor) == pytest.approx(expected, abs=1e-6)
    # the border really is ignored: changing it does not change the score
    x2 = x.clone()
    x2[..., :factor, :] = 0
    assert dip.psnr_sr(x2, ref, factor) == pytest.approx(expected, abs=1e-6)
    # and the Y channel differs from plain RGB PSNR
    assert abs(dip.psnr_sr(x, ref, factor) - dip.psnr(x, ref)) > 0.1


# --- snapshots and ground-truth-free stopping ----------------------------------------------------

def _tiny_fit(callbacks, steps=40, every=10, target=None):
    y = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    net = dip.PixelImage((1, 3, 16, 16))
    return dip.fit(net, torch.zeros(1, 3, 16, 16), lambda x: dip.mse(x, y), steps=steps, lr=0.05, every=every,
                   callbacks=callbacks, target=target), y


def test_snapshots_keep_the_requested_iterations():
    snaps = Snapshots([10, 30, 40])
    result, y = _tiny_fit([snaps], target=torch.zeros(1, 3, 16, 16))
    assert sorted(snaps.images) == [10, 30, 40] == sorted(snaps.ema) == sorted(snaps.psnr)
    assert torch.equal(snaps.images[40], result.image)
    # a later snapshot is closer to the fitted image
    assert dip.mse(snaps.images[40], y) < dip.mse(snaps.images[10], y)


def test_snapshots_complain_when_every_misses_them():
    with pytest.raises(ValueError, match="every"):
        _tiny_fit([Snapshots([15])], every=10)


def test_snapshot_every():
    assert snapshot_every((100, 600, 2400, 50000), 100) == 100
    assert snapshot_every((10, 50, 150, 300), 25) == 5
    assert snapshot_every((), 25) == 25


class _State:
    """The fields of dip.FitState that WindowedVariance reads."""

    def __init__(self):
        self.history, self.backtracked, self.ema, self.stop, self.step, self.output = {}, False, None, False, 0, None


def test_windowed_variance_on_a_known_sequence_of_outputs():
    # constant images c_k: the variance of a window of constants is their population variance
    values = [0.0, 1.0, 2.0, 2.0, 2.0, 2.0, 5.0, 9.0, 14.0]
    wv = WindowedVariance(window=3, patience=2, use_ema=False)
    state = _State()
    wv.start(state)
    for k, v in enumerate(values):
        state.step, state.output = 10 * k + 9, torch.full((1, 1, 2, 2), v)
        wv.check(state)
        if state.stop:
            break
    expect = [float(np.var(values[i - 2:i + 1])) for i in range(2, len(values))]
    # windows: [0,1,2] 2/3, [1,2,2] 2/9, [2,2,2] 0, [2,2,2] 0 (not better), [2,2,5] 2 (bad 2 -> stop)
    assert state.history["variance"] == pytest.approx(expect[:5])
    assert state.history["variance_step"] == [30, 40, 50, 60, 70]
    assert wv.step == 50 and torch.equal(wv.image, torch.full((1, 1, 2, 2), 2.0))
    assert state.stop and k == 6                      # stopped after two checks without improvement
    with pytest.raises(ValueError):
        WindowedVariance(window=1)


def test_windowed_variance_records_every_full_window_of_a_fit():
    wv = WindowedVariance(window=3)                  # no patience: never stops
    result, _ = _tiny_fit([wv], steps=200, every=5)
    h = result.history
    assert result.steps == 200
    assert h["variance_step"] == list(range(15, 201, 5))          # 40 checks, the first 2 fill the window
    assert wv.step == h["variance_step"][int(np.argmin(h["variance"]))]
    assert wv.image.shape == (1, 3, 16, 16)


# --- JPEG restoration ---------------------------------------------------------------------------

def test_jpeg_problem_takes_snapshots_and_fits():
    p = dip.preset("jpeg", "test", width=8, steps=40, every=10)
    clean = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    problem = dip.jpeg_artifacts(clean, quality=20)
    assert torch.equal(problem.observation, dip.jpeg(clean, 20))
    snaps = Snapshots([10, 20, 40])
    r = dip.solve(problem, p, arch="hourglass-1", callbacks=[snaps], device="cpu")
    assert r.steps == 40
    assert sorted(snaps.images) == [10, 20, 40] and set(snaps.psnr) == {10, 20, 40}
    assert r.losses[-1] < 0.8 * r.losses[0]


def test_jpeg_network_is_the_papers():
    cfg = dip.build("jpeg").config
    assert cfg.in_channels == 3
    assert list(cfg.n_down) == [8, 16, 32, 64, 128] and list(cfg.n_skip) == [0, 0, 0, 4, 4]
    p = dip.preset("jpeg", "test")
    assert p.input_depth == 3 and p.arch == "jpeg"


# --- pixels + TV super-resolution baseline --------------------------------------------------------

def test_pixels_sr_fits_the_data_and_tv_smooths():
    g = torch.Generator().manual_seed(3)
    hr = torch.rand(1, 3, 32, 32, generator=g)
    problem = dip.super_resolution(hr, 4)
    low = problem.observation
    p = dip.preset("sr", "test")
    plain = baselines.pixels_sr(problem, p, steps=60, lr=0.05, device="cpu")
    smooth = baselines.pixels_sr(problem, p, tv_weight=0.5, steps=60, lr=0.05, device="cpu")
    assert plain.image.shape == hr.shape
    d = dip.Downsampler(4)
    bic = baselines.bicubic(low, 4)
    # the data term is what it optimises: it fits y better than its bicubic starting point
    assert dip.mse(d(plain.image), low) < 0.5 * dip.mse(d(bic), low)
    assert dip.tv(smooth.image) < dip.tv(plain.image)
    assert len(plain.history["psnr"]) == len(plain.history["step"]) > 0   # SR-protocol PSNR vs the truth
    assert plain.history["psnr"][-1] == pytest.approx(dip.psnr_sr(plain.image, hr, 4), abs=1e-3)
    with pytest.raises(ValueError, match="init"):
        baselines.pixels_sr(problem, p, steps=1, init="zeros")
