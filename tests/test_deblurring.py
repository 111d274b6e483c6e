"""Known answers for deblurring (notebook 12): the Blur operator and its kernels, dip.deblurring,
the Richardson-Lucy and Wiener baselines, and a short deep-prior fit."""
import pytest
import torch

import dip_lib as dip
from dip_lib.problems import baselines


@pytest.fixture(scope="module")
def camera():
    return dip.load_image("camera", channels=1, size=64, verbose=False)


# --- kernels and the operator -------------------------------------------------------------------

def test_gaussian_kernel_sums_to_one_and_is_symmetric():
    k = dip.gaussian_kernel(1.5)
    assert k.dim() == 2 and k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(k, k.flip(0)) and torch.allclose(k, k.flip(1)) and torch.allclose(k, k.T)
    c = k.shape[0] // 2
    assert float(k[c, c]) == float(k.max())        # peaked at the centre


def test_motion_kernel_of_length_one_is_the_identity():
    k = dip.motion_kernel(1, 30)
    assert k.shape == (1, 1) and float(k[0, 0]) == pytest.approx(1.0)
    x = torch.rand(1, 2, 9, 11)
    assert torch.allclose(dip.Blur(k)(x), x, atol=1e-6)


def test_motion_kernel_is_a_line_at_the_angle():
    k = dip.motion_kernel(9, 0)
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-6)
    c = k.shape[0] // 2
    assert float(k[c].sum()) == pytest.approx(1.0, abs=1e-6)    # angle 0: the centre row only
    assert torch.allclose(dip.motion_kernel(9, 90), k.T, atol=1e-6)


def test_blur_keeps_a_constant_image_and_the_shape():
    for spec in ("gaussian:2", "motion:9,30"):
        blur = dip.Blur(dip.blur_kernel(spec))
        x = torch.full((1, 3, 20, 24), 0.37)
        y = blur(x)
        assert y.shape == x.shape
        assert torch.allclose(y, x, atol=1e-6)
        z = torch.rand(1, 1, 33, 17)
        assert blur(z).shape == z.shape


def test_blur_is_linear():
    blur = dip.Blur(dip.blur_kernel("motion:7,45"))
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g)
    a, b = 0.7, -1.3
    assert torch.allclose(blur(a * x + b * y), a * blur(x) + b * blur(y), atol=1e-5)


def test_blur_blurs():
    x = torch.zeros(1, 1, 15, 15)
    x[..., 7, 7] = 1.0
    y = dip.Blur(dip.gaussian_kernel(1.0))(x)
    assert float(y.max()) < 0.5 and float(y.sum()) == pytest.approx(1.0, abs=1e-5)   # spread, mass kept


# --- the problem --------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["gauss:2", "gaussian:-1", "motion:0,30", "motion:abc", "box"])
def test_deblurring_rejects_a_bad_kernel_string(camera, bad):
    with pytest.raises(ValueError, match="kernel|sigma|length"):
        dip.deblurring(camera, bad)


def test_deblurring_rejects_an_even_kernel(camera):
    with pytest.raises(ValueError, match="odd"):
        dip.deblurring(camera, torch.ones(4, 4))


def test_deblurring_problem(camera):
    pr = dip.deblurring(camera, "gaussian:2", sigma=0)
    assert pr.observation.shape == camera.shape and pr.x_shape == tuple(camera.shape)
    assert torch.allclose(pr.observation, dip.Blur(dip.gaussian_kernel(2))(camera))
    assert pr.score(pr.observation) < 25       # the blur costs PSNR


# --- classical baselines ------------------------------------------------------------------------

@pytest.mark.parametrize("method", [lambda pr: baselines.richardson_lucy(pr, 30),
                                    lambda pr: baselines.wiener(pr, 0.01)], ids=["richardson_lucy", "wiener"])
def test_deconvolution_improves_a_noiseless_gaussian_blur(camera, method):
    pr = dip.deblurring(camera, "gaussian:2", sigma=0)
    out = method(pr)
    assert out.shape == camera.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert pr.score(out) > pr.score(pr.observation) + 1.0


def test_baselines_work_on_colour_and_refuse_other_problems(camera):
    colour = camera.repeat(1, 3, 1, 1)
    pr = dip.deblurring(colour, "motion:5,0", sigma=0)
    out = baselines.richardson_lucy(pr, 10)
    assert out.shape == colour.shape
    assert torch.allclose(out[:, 0], out[:, 2], atol=1e-5)      # each channel on its own
    with pytest.raises(ValueError, match="deblurring"):
        baselines.wiener(dip.denoising(camera, sigma=25))
    with pytest.raises(ValueError, match="balance"):
        baselines.wiener(pr, 0)


def test_tv_pixels_starts_at_init(camera):
    pr = dip.deblurring(camera, "gaussian:2", sigma=2)
    s = dip.preset("deblurring", name="test")
    r = baselines.tv_pixels(pr, s, tv_weight=0.001, beta=1.0, steps=100, lr=0.02, init=pr.observation)
    assert pr.score(r.image) > pr.score(pr.observation) + 1.0
    with pytest.raises(ValueError, match="shape"):
        baselines.tv_pixels(pr, s, steps=1, init=camera[..., :32, :32])


# --- the deep prior -----------------------------------------------------------------------------

def test_short_dip_beats_the_blurred_input(camera):
    pr = dip.deblurring(camera, "gaussian:2", sigma=2)
    s = dip.preset("deblurring", name="test")
    # 200 plain steps (no σ_p, no average) reach about +0.45 dB over the blurred input
    r = dip.solve(pr, s, seed=0, steps=200, lr=0.03, width=16, sigma_p=0.0, ema=None, every=50, device="cpu")
    assert pr.score(r.image) > pr.score(pr.observation) + 0.25
