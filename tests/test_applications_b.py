"""Unit tests for the pieces behind notebooks 06 (inpainting), 07 (detail enhancement) and
08 (flash/no-flash): baselines.guided_filter/box_filter/biharmonic_inpaint, dip.load_mask,
dip.hole_psnr, dip.flash_no_flash and dip_lib.experiments.enhance."""
import math

import numpy as np
import pytest
import torch

import dip_lib as dip
from dip_lib.experiments import enhance
from dip_lib.problems import baselines


def _smooth(h=32, w=32, c=3, seed=0):
    """A smooth colour image (sum of low-frequency sines) in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    chans = []
    for _ in range(c):
        a, b, ph = (torch.rand(3, generator=g) * torch.tensor([3.0, 3.0, 6.28])).tolist()
        chans.append(0.5 + 0.4 * torch.sin(a * 3.14 * xx + b * 3.14 * yy + ph))
    return torch.stack(chans)[None]


# --- box and guided filters --------------------------------------------------------------------

def test_box_filter_is_a_local_mean():
    x = torch.rand(1, 2, 16, 20)
    y = baselines.box_filter(x, 2)
    assert y.shape == x.shape
    assert torch.allclose(y[..., 8, 10], x[..., 6:11, 8:13].mean((-1, -2)), atol=1e-6)
    assert torch.allclose(baselines.box_filter(torch.full((1, 1, 9, 9), 0.3), 3), torch.full((1, 1, 9, 9), 0.3))
    assert torch.equal(baselines.box_filter(x, 0), x)
    with pytest.raises(ValueError):
        baselines.box_filter(x, -1)


def test_guided_filter_with_a_constant_guide_is_a_box_filter():
    # var(I) = cov(I, p) = 0 -> a = 0, b = mean(p): the output is the box filter of the box filter
    src = torch.rand(1, 3, 24, 24)
    guide = torch.full((1, 1, 24, 24), 0.5)
    out = baselines.guided_filter(guide, src, radius=2, eps=1e-2)
    expect = baselines.box_filter(baselines.box_filter(src, 2), 2)
    assert torch.allclose(out, expect, atol=1e-5)


def test_guided_filter_self_guided_with_tiny_eps_is_the_identity():
    src = torch.rand(1, 3, 24, 24)
    out = baselines.guided_filter(src, src, radius=3, eps=1e-8)
    assert (out - src).abs().max() < 1e-3


def test_guided_filter_denoises_and_keeps_the_guide_edges():
    clean = torch.zeros(1, 1, 32, 32)
    clean[..., 16:] = 1.0                      # a vertical step edge
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    out = baselines.guided_filter(clean, noisy, radius=3, eps=1e-3)
    assert dip.psnr(out.clamp(0, 1), clean) > dip.psnr(noisy.clamp(0, 1), clean) + 6
    # the edge stays sharp: the two columns beside it stay far apart
    assert (out[..., 16] - out[..., 15]).mean() > 0.8


def test_guided_filter_checks_shapes():
    with pytest.raises(ValueError, match="guide"):
        baselines.guided_filter(torch.rand(1, 2, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError):
        baselines.guided_filter(torch.rand(1, 1, 8, 9), torch.rand(1, 3, 8, 8))


# --- inpainting ---------------------------------------------------------------------------------

def test_biharmonic_inpaint_fills_a_smooth_image_and_keeps_known_pixels():
    x0 = _smooth(32, 32, 3)
    m = dip.bernoulli_mask(x0, 0.5, seed=1)
    out = baselines.biharmonic_inpaint(x0 * m, m)
    assert out.shape == x0.shape
    known = m.expand_as(x0) > 0.5
    assert torch.allclose(out[known], x0[known], atol=1e-5)
    assert dip.hole_psnr(out, x0, m) > 35
    assert dip.hole_psnr(out, x0, m) > dip.hole_psnr(x0 * m, x0, m) + 20


def test_hole_psnr_scores_only_the_holes():
    x0 = torch.full((1, 3, 8, 8), 0.5)
    m = torch.ones(1, 1, 8, 8)
    m[..., :4, :] = 0
    x = x0.clone()
    x[..., 4:, :] = 1.0                         # wrong only on known pixels: holes are perfect
    assert math.isinf(dip.hole_psnr(x, x0, m))
    x = x0.clone()
    x[..., :4, :] += 0.1                        # error 0.1 on every hole pixel -> 20 dB
    assert dip.hole_psnr(x, x0, m) == pytest.approx(20.0, abs=1e-4)
    with pytest.raises(ValueError, match="no holes"):
        dip.hole_psnr(x, x0, torch.ones(1, 1, 8, 8))


def test_load_mask_is_binary_and_follows_the_threshold(tmp_path):
    a = np.ones((40, 40), np.uint8) * 255
    a[10:20, 10:12] = 0
    path = tmp_path / "mask.png"
    from PIL import Image
    Image.fromarray(a).save(path)
    m = dip.load_mask(str(path), size=20)
    assert m.shape == (1, 1, 20, 20)
    assert set(m.unique().tolist()) <= {0.0, 1.0}
    strict = dip.load_mask(str(path), size=20, threshold=0.99)
    assert strict.sum() <= m.sum() and (1 - strict).sum() > 0


def test_inpaint_short_run_beats_the_masked_input_on_the_holes():
    x0 = _smooth(64, 64, 3)
    m = dip.box_mask(x0, (24, 24, 16, 16))
    p = dip.preset("inpainting", "test", width=8, steps=60, every=20)
    problem = dip.inpainting(x0, m)
    assert torch.equal(problem.observation, x0 * m)
    r = dip.solve(problem, p, arch="inpainting-hole", input="meshgrid", device="cpu")
    assert dip.hole_psnr(r.image, x0, m) > dip.hole_psnr(x0 * m, x0, m) + 5


# --- detail enhancement -------------------------------------------------------------------------

def test_decompose_layers_add_up():
    x0 = torch.rand(1, 3, 16, 16)
    xc = _smooth(16, 16, 3)
    layers = enhance.decompose(x0, {10: xc, 20: x0}, k=2.0, clip=False)
    assert list(layers) == [10, 20]
    L = layers[10]
    assert torch.allclose(L.coarse + L.fine, x0)
    assert torch.allclose(L.enhanced, x0 + 2 * (x0 - xc))
    assert torch.allclose(layers[20].fine, torch.zeros_like(x0))      # a perfect fit leaves no detail
    clipped = enhance.decompose(x0, [xc], k=2.0)
    assert isinstance(clipped, list) and clipped[0].enhanced.min() >= 0 and clipped[0].enhanced.max() <= 1
    with pytest.raises(ValueError, match="shape"):
        enhance.decompose(x0, [torch.rand(1, 3, 8, 8)])


def test_high_frequency_energy():
    assert enhance.high_frequency_energy(torch.full((1, 3, 16, 16), 0.7)) == pytest.approx(0.0, abs=1e-10)
    smooth = _smooth(32, 32, 3)
    noisy = (smooth + 0.1 * torch.randn(smooth.shape, generator=torch.Generator().manual_seed(0)))
    assert enhance.high_frequency_energy(noisy) > 10 * enhance.high_frequency_energy(smooth)


def test_fit_coarse_takes_snapshots_at_the_stops():
    x0 = _smooth(64, 64, 3)
    p = dip.preset("enhancement", "test", width=8)
    result, coarse = enhance.fit_coarse(x0, p, stops=(10, 30), device="cpu")
    assert sorted(coarse) == [10, 30]
    assert result.steps == 30
    assert all(x.shape == x0.shape for x in coarse.values())
    assert torch.allclose(coarse[30], result.image)
    assert dip.psnr(coarse[30], x0) > dip.psnr(coarse[10], x0)


# --- flash / no-flash ---------------------------------------------------------------------------

def _flash_pair():
    flash = _smooth(64, 64, 3, seed=1)
    noflash = (0.6 * _smooth(64, 64, 3, seed=2)
               + 0.05 * torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    return flash, noflash


def test_flash_no_flash_code_is_the_flash_image():
    flash, noflash = _flash_pair()
    p = dip.preset("flash", "test", width=8)
    problem = dip.flash_no_flash(flash, noflash)
    assert torch.equal(problem.observation, noflash) and problem.truth is None
    # the z that solve uses IS the flash image, for every seed (it is data, not drawn)
    for seed in (0, 1):
        _, z = dip.build_for(problem, p, seed=seed, device="cpu")
        assert torch.equal(z, flash)
    # ... whereas a problem without a code gets a drawn z of input_depth channels
    _, drawn = dip.build_for(dip.denoising(noisy=noflash), p, device="cpu")
    assert not torch.equal(drawn, flash) and float(drawn.max()) <= 0.1
    with pytest.raises(ValueError, match="same shape"):
        dip.flash_no_flash(flash, noflash[..., :32, :])


def test_flash_no_flash_result_depends_on_the_flash_image():
    flash, noflash = _flash_pair()
    other = _smooth(64, 64, 3, seed=3)
    p = dip.preset("flash", "test", width=8, steps=20, every=10)
    a = dip.solve(dip.flash_no_flash(flash, noflash), p, device="cpu")
    b = dip.solve(dip.flash_no_flash(other, noflash), p, device="cpu")
    again = dip.solve(dip.flash_no_flash(flash, noflash), p, device="cpu")
    assert a.image.shape == noflash.shape
    assert torch.equal(a.image, again.image)                        # same data, same seed: same fit
    # same observation y and seed, only the flash image (the code z) differs: the fit differs
    assert (a.image - b.image).abs().max() > 1e-3
    assert a.losses[0] != b.losses[0]


def test_flash_scores():
    clean = _smooth(48, 48, 3)
    noisy = (clean + 0.05 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert enhance.noise_sigma(noisy) > 3 * enhance.noise_sigma(clean)
    assert 0.03 < enhance.noise_sigma(noisy) < 0.07
    assert enhance.edge_correlation(clean, clean) == pytest.approx(1.0, abs=1e-6)
    assert enhance.edge_correlation(noisy, clean) < 0.9
    assert enhance.lowpass_psnr(noisy, clean) > dip.psnr(noisy, clean) + 5
