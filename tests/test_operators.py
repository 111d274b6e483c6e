"""Forward models and degradations: exact sizes, the Lanczos kernel, masks, noise, JPEG."""
import numpy as np
import pytest
import torch

import dip_lib as dip


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("hw", [(64, 64), (128, 96), (48, 200)])
def test_downsampler_output_is_exactly_h_over_f(factor, hw):
    h, w = hw[0] // factor * factor, hw[1] // factor * factor
    y = dip.Downsampler(factor)(torch.rand(1, 3, h, w))
    assert y.shape == (1, 3, h // factor, w // factor)


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_lanczos_kernel_matches_the_reference_formula(factor):
    k = dip.lanczos_kernel_1d(factor).double().numpy()
    assert len(k) == 4 * factor and np.isclose(k.sum(), 1) and np.allclose(k, k[::-1])
    # the reference code builds the 2-D kernel directly; it is the outer product of ours
    n, center = 4 * factor, (4 * factor + 2) / 2
    ref = np.zeros((n, n))
    for i in range(1, n + 1):
        for j in range(1, n + 1):
            val = 1.0
            for d in (abs(i + 0.5 - center) / factor, abs(j + 0.5 - center) / factor):
                if d != 0:
                    val *= 2 * np.sin(np.pi * d) * np.sin(np.pi * d / 2) / (np.pi ** 2 * d * d)
            ref[i - 1, j - 1] = val
    ref /= ref.sum()
    assert np.allclose(np.outer(k, k), ref, atol=1e-7)


def test_downsampler_preserves_constants_and_is_linear():
    d = dip.Downsampler(4)
    assert torch.allclose(d(torch.full((1, 3, 32, 32), 0.3)), torch.full((1, 3, 8, 8), 0.3), atol=1e-6)
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    assert torch.allclose(d(2 * a + b), 2 * d(a) + d(b), atol=1e-5)


def test_downsampler_rejects_sizes_that_are_not_multiples():
    with pytest.raises(ValueError, match="not a multiple of the factor 4.*crop_to_multiple"):
        dip.Downsampler(4)(torch.rand(1, 3, 30, 32))


def test_gaussian_noise_is_seeded_and_has_the_right_sigma():
    x = torch.full((1, 3, 128, 128), 0.5)
    a, b = dip.gaussian_noise(x, 25 / 255, seed=1), dip.gaussian_noise(x, 25 / 255, seed=1)
    assert torch.equal(a, b) and not torch.equal(a, dip.gaussian_noise(x, 25 / 255, seed=2))
    assert abs((a - x).std().item() - 25 / 255) < 0.003
    with pytest.raises(ValueError, match="0-255 scale"):
        dip.gaussian_noise(x, 25)


def test_jpeg_degrades_more_at_low_quality():
    x = dip.load_image("astronaut", size=64)
    q10, q90 = dip.jpeg(x, 10), dip.jpeg(x, 90)
    assert q10.shape == x.shape
    assert dip.psnr(q10, x) < dip.psnr(q90, x) - 5
    with pytest.raises(ValueError, match="between 1 and 100"):
        dip.jpeg(x, 0)


def test_masks():
    m = dip.bernoulli_mask((100, 100), keep=0.5, seed=0)
    assert m.shape == (1, 1, 100, 100) and abs(m.mean().item() - 0.5) < 0.03
    assert torch.equal(m, dip.bernoulli_mask((100, 100), keep=0.5, seed=0))
    t = dip.text_mask((64, 128))
    assert t.shape == (1, 1, 64, 128) and 0.02 < 1 - t.mean().item() < 0.6
    b = dip.box_mask((64, 64))
    assert (1 - b).sum().item() == 16 * 16
    with pytest.raises(ValueError, match="does not fit"):
        dip.box_mask((64, 64), (60, 60, 10, 10))


def test_mask_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="must have the image's height and width"):
        dip.Mask(torch.ones(1, 1, 16, 32))(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="must have the image's height and width"):
        dip.inpainting(torch.rand(1, 3, 32, 32), torch.ones(1, 1, 32, 16))


# --- properties every operator A must have ----------------------------------------------------

H, W = 64, 96   # not square: a swapped H and W shows


@pytest.fixture(scope="module")
def phi():
    from dip_lib.core.features import feature_net
    return feature_net("alexnet", layer="conv2", pretrained=False, download=False, quiet=True)


OPERATORS = {
    "identity": lambda phi: dip.Identity(),
    "jpeg10": lambda phi: dip.JPEG(10),
    "mask": lambda phi: dip.Mask(dip.bernoulli_mask((H, W), keep=0.5, seed=3)),
    "down2": lambda phi: dip.Downsampler(2),
    "down4": lambda phi: dip.Downsampler(4),
    "down8": lambda phi: dip.Downsampler(8),
    "blur-gaussian": lambda phi: dip.Blur(dip.gaussian_kernel(2.0)),
    "blur-motion": lambda phi: dip.Blur(dip.motion_kernel(9, 30)),
    "features": lambda phi: dip.Features(phi, "conv2"),
    "class-score": lambda phi: dip.ClassScore(phi, unit=7, layer="fc8"),
}
LINEAR = ["identity", "jpeg10", "mask", "down2", "down4", "down8", "blur-gaussian", "blur-motion"]
EXPECTED_SHAPE = {"down2": (1, 3, H // 2, W // 2), "down4": (1, 3, H // 4, W // 4), "down8": (1, 3, H // 8, W // 8),
                  "features": (1, 192, 7, 11), "class-score": ()}


def _x(seed, dtype=torch.float32):
    return torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_operator_output_has_exactly_its_declared_shape(name, phi):
    op = OPERATORS[name](phi)
    y = op(_x(0))
    want = EXPECTED_SHAPE.get(name, (1, 3, H, W))
    assert tuple(op.out_shape((1, 3, H, W))) == want
    assert tuple(y.shape) == want
    assert tuple(op.observe(_x(0)).shape) == want


@pytest.mark.parametrize("name", LINEAR)
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_linear_operators_are_linear(name, dtype, tol, phi):
    op = OPERATORS[name](phi)
    assert op.linear
    x, y, a, b = _x(1, dtype), _x(2, dtype), 0.7, -1.3
    lhs, rhs = op(a * x + b * y), a * op(x) + b * op(y)
    assert torch.allclose(lhs, rhs, atol=tol, rtol=0), float((lhs - rhs).abs().max())


@pytest.mark.parametrize("name", sorted(set(OPERATORS) - set(LINEAR)))
def test_nonlinear_operators_say_so_and_are_not_linear(name, phi):
    op = OPERATORS[name](phi)
    assert not op.linear
    x, y = _x(1), _x(2)
    assert not torch.allclose(op(x + y), op(x) + op(y), atol=1e-3)


@pytest.mark.parametrize("name, dtype", [(n, d) for n in OPERATORS for d in (torch.float32, torch.float64)
                                          if n in LINEAR or d == torch.float32])
def test_output_dtype_follows_the_input(name, dtype, phi):
    """The linear operators take float32 and float64 as they are (their kernels follow x);
    Φ has float32 weights, so the feature operators are checked in float32 (converting
    AlexNet's 61M weights to float64 would take seconds)."""
    op = OPERATORS[name](phi)
    assert op(_x(0, dtype)).dtype == dtype


def _devices():
    devs = ["cpu"]
    if torch.cuda.is_available():
        devs.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devs.append("mps")
    return devs


@pytest.mark.parametrize("device", ["cpu", "cuda", "mps"])
@pytest.mark.parametrize("name", list(OPERATORS))
def test_output_device_follows_the_input(name, device, phi):
    if device not in _devices():
        pytest.skip(f"no {device} device here")
    op = OPERATORS[name](phi).to(device)   # Problem.to(device) moves A with y
    y = op(_x(0).to(device))
    assert y.device.type == device
    assert torch.allclose(y.cpu(), OPERATORS[name](phi)(_x(0)), atol=1e-4)
