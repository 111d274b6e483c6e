"""Unit tests for what notebooks 03-05 (denoising, JPEG, super-resolution) add to dip_lib."""
import numpy as np
import pytest
import torch

import dip_lib as dip
from dip_lib import Snapshots, snapshot_every
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
