import math

import numpy as np
import pytest
import torch

import dip_lib as dip


def test_psnr_by_hand():
    a = torch.zeros(1, 3, 8, 8)
    b = a + 0.1
    assert math.isclose(dip.psnr(a, b), 20.0, abs_tol=1e-6)
    assert dip.psnr(a, a) == float("inf")
    with pytest.raises(ValueError, match="differ in shape"):
        dip.psnr(a, torch.zeros(1, 3, 8, 9))


def test_psnr_sr_uses_y_channel_and_crops_the_border():
    ref = torch.rand(1, 3, 32, 32)
    x = ref.clone()
    x[..., :4, :] = 1 - x[..., :4, :]  # damage only the top border
    assert dip.psnr_sr(x, ref, factor=4) == float("inf")
    y = ref.clone()
    y[:, :, 10, 10] += torch.tensor([0.1, 0.0, 0.0])
    q = lambda t: np.round(t[0].permute(1, 2, 0).double().numpy().clip(0, 1) * 255) / 255  # noqa: E731
    ya = (16 + 65.481 * q(y)[..., 0] + 128.553 * q(y)[..., 1] + 24.966 * q(y)[..., 2]) / 255
    yb = (16 + 65.481 * q(ref)[..., 0] + 128.553 * q(ref)[..., 1] + 24.966 * q(ref)[..., 2]) / 255
    mse = np.mean((ya[4:-4, 4:-4] - yb[4:-4, 4:-4]) ** 2)
    assert math.isclose(dip.psnr_sr(y, ref, 4), 10 * np.log10(1 / mse), rel_tol=1e-9)


def test_ssim_is_one_for_identical_images():
    x = torch.rand(1, 3, 32, 32)
    assert dip.ssim(x, x) == pytest.approx(1.0)


def test_inputs():
    z = dip.noise(32, 16, 24, seed=0)
    assert z.shape == (1, 32, 16, 24) and 0 <= z.min() and z.max() <= 0.1
    assert torch.equal(z, dip.noise(32, 16, 24, seed=0))
    g = dip.meshgrid(8, 16)
    assert g.shape == (1, 2, 8, 16) and g[0, 0, 0, -1] == 1 and g[0, 1, -1, 0] == 1
    img = torch.rand(1, 3, 8, 8)
    assert torch.equal(dip.make_input("image", img), img)
    with pytest.raises(ValueError, match="unknown input kind"):
        dip.make_input("fourier", img)


# --- losses on inputs with known values ----------------------------------------------------------

def test_mse_by_hand():
    a = torch.zeros(1, 3, 8, 8)
    assert dip.mse(a, a + 0.1).item() == pytest.approx(0.01, rel=1e-5)
    with pytest.raises(ValueError, match="differ in shape"):
        dip.mse(a, torch.zeros(1, 3, 4, 8))


def test_tv_of_a_constant_image_is_zero():
    assert dip.tv(torch.full((1, 3, 16, 16), 0.7)).item() == pytest.approx(0.0, abs=2e-4)


@pytest.mark.parametrize("d", [0.01, 0.05])
def test_tv_of_ramps(d):
    idx = torch.arange(16, dtype=torch.float64)
    horizontal = (d * idx).expand(1, 3, 16, 16)            # x[h, w] = d·w
    vertical = horizontal.transpose(-1, -2)                 # x[h, w] = d·h
    diagonal = horizontal + vertical                        # steps of d both ways
    eps = 1e-8
    assert dip.tv(horizontal).item() == pytest.approx(math.sqrt(d * d + eps), rel=1e-9)
    assert dip.tv(vertical).item() == pytest.approx(math.sqrt(d * d + eps), rel=1e-9)
    assert dip.tv(diagonal).item() == pytest.approx(math.sqrt(2 * d * d + eps), rel=1e-9)
    assert dip.tv(horizontal, beta=2.0).item() == pytest.approx(d * d + eps, rel=1e-9)


def test_tv_of_a_step_edge_counts_its_pixels():
    x = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    x[..., 4:] = 1.0                                        # one vertical edge of height 1
    # differences on the 7x7 grid: the column w=3 jumps by 1 in w, 7 of 49 positions
    assert dip.tv(x).item() == pytest.approx((7 * math.sqrt(1 + 1e-8) + 42 * 1e-4) / 49, rel=1e-9)


def test_feature_loss_by_hand():
    a = torch.randn(1, 64, 5, 5, generator=torch.Generator().manual_seed(0))
    assert dip.feature_loss(a, a).item() == 0.0
    assert dip.feature_loss(2 * a, a).item() == pytest.approx(1.0, rel=1e-6)
    assert dip.feature_loss(torch.zeros_like(a), a).item() == pytest.approx(1.0, rel=1e-6)
    assert dip.feature_loss(a, 2 * a).item() == pytest.approx(0.25, rel=1e-6)
