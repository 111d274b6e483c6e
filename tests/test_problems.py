"""Problems: every constructor gives an observation of A's output shape, bad inputs are refused
with one clear line, the energy is the data term by hand, the fingerprint tells problems apart,
and solve has a known answer on the pixel baseline."""
import math

import pytest
import torch

import dip_lib as dip

H, W = 64, 96


def _img(seed=0, shape=(1, 3, H, W)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def phi():
    from dip_lib.core.features import feature_net
    return feature_net("alexnet", layer="conv2", pretrained=False, download=False, quiet=True)


CONSTRUCTORS = {
    "denoising": lambda phi: dip.denoising(_img(), sigma=25, seed=0),
    "denoising-real": lambda phi: dip.denoising(noisy=_img()),
    "jpeg": lambda phi: dip.jpeg_artifacts(_img(), quality=10),
    "sr2": lambda phi: dip.super_resolution(_img(), 2),
    "sr4": lambda phi: dip.super_resolution(_img(), 4),
    "sr-low": lambda phi: dip.super_resolution(factor=4, low=_img(shape=(1, 3, 16, 24))),
    "inpainting": lambda phi: dip.inpainting(_img(), dip.bernoulli_mask((H, W), 0.5, seed=1)),
    "deblurring-gaussian": lambda phi: dip.deblurring(_img(), "gaussian:2"),
    "deblurring-motion": lambda phi: dip.deblurring(_img(), "motion:9,30", sigma=0),
    "flash": lambda phi: dip.flash_no_flash(_img(1), _img(2)),
    "preimage": lambda phi: dip.preimage(phi, _img()),
    "activation": lambda phi: dip.activation_maximization(phi, 7, (H, W)),
    "enhancement": lambda phi: dip.enhancement(_img()),
}


@pytest.mark.parametrize("name", list(CONSTRUCTORS))
def test_observation_has_the_operators_output_shape(name, phi):
    problem = CONSTRUCTORS[name](phi)
    want = tuple(problem.operator.out_shape(problem.x_shape))
    x = problem.truth if problem.truth is not None else _img(5, problem.x_shape)
    assert tuple(problem.operator(x).shape) == want
    if problem.loss == "maximize":
        assert problem.observation is None and want == ()
    else:
        assert tuple(problem.observation.shape) == want
    assert problem.size == tuple(problem.x_shape[-2:]) and problem.channels == 3


def test_shapes_by_hand():
    assert dip.super_resolution(_img(), 4).observation.shape == (1, 3, H // 4, W // 4)
    assert dip.super_resolution(factor=4, low=_img(shape=(1, 3, 16, 24))).x_shape == (1, 3, 64, 96)
    assert dip.activation_maximization(None, 1, (32, 64)).x_shape == (1, 3, 32, 64)


def test_inpainting_refuses_bad_masks():
    img = _img()
    with pytest.raises(ValueError, match="no known pixel.*1 marks a known pixel"):
        dip.inpainting(img, torch.zeros(1, 1, H, W))
    with pytest.raises(ValueError, match="only 0 \\(missing\\) and 1 \\(known\\)"):
        dip.inpainting(img, dip.bernoulli_mask((H, W), 0.5) * 255)
    with pytest.raises(ValueError, match="must have the image's height and width"):
        dip.inpainting(img, torch.ones(1, 1, W, H))


@pytest.mark.parametrize("sigma", [-5, 0, 300, float("nan")])
def test_denoising_refuses_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma is the noise std on the 0-255 scale"):
        dip.denoising(_img(), sigma=sigma)


def test_images_out_of_range_or_not_finite_are_refused():
    with pytest.raises(ValueError, match="values in \\[0, 1\\].*divide by 255"):
        dip.denoising(_img() * 255)
    bad = _img()
    bad[0, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        dip.denoising(bad)
    with pytest.raises(ValueError, match="one image 1xCxHxW"):
        dip.denoising(_img()[0])
    with pytest.raises(ValueError, match="give the clean image"):
        dip.denoising()
    with pytest.raises(ValueError, match="not 4x the low-resolution"):
        dip.super_resolution(_img(), 4, low=_img(shape=(1, 3, 8, 8)))


def test_bad_blur_kernels_are_clear_errors():
    with pytest.raises(ValueError, match="bad kernel 'box:3'"):
        dip.deblurring(_img(), "box:3")
    with pytest.raises(ValueError, match="bad kernel 'gaussian:-1'"):
        dip.blur_kernel("gaussian:-1")


def test_energy_is_the_data_term_by_hand():
    clean = _img()
    p = dip.denoising(clean, sigma=25)
    assert p.energy()(clean).item() == pytest.approx(float(((clean - p.observation) ** 2).mean()), rel=1e-6)
    assert p.energy(tv_weight=0.5)(clean).item() == pytest.approx(
        float(((clean - p.observation) ** 2).mean() + 0.5 * dip.tv(clean)), rel=1e-6)
    m = dip.bernoulli_mask((H, W), 0.5, seed=1)
    inp = dip.inpainting(clean, m)
    x = _img(9)
    assert inp.energy()(x).item() == pytest.approx(float((m * (x - clean)).pow(2).mean()), rel=1e-6)
    assert inp.energy()(clean).item() == 0.0
    sr = dip.super_resolution(clean, 4)
    assert sr.energy()(clean).item() == pytest.approx(0.0, abs=1e-12)


def test_feature_and_maximize_energies(phi):
    clean = _img()
    pre = dip.preimage(phi, clean)
    assert pre.energy()(clean).item() == pytest.approx(0.0, abs=1e-10)
    assert pre.energy()(_img(3)).item() > 0
    act = dip.activation_maximization(phi, 7, (H, W))
    x = _img(4)
    assert act.energy()(x).item() == pytest.approx(-act.operator(x).item(), rel=1e-6)


def test_score_needs_a_truth():
    clean = _img()
    assert dip.denoising(clean).score(clean) == float("inf")
    assert dip.flash_no_flash(_img(1), _img(2)).score(_img(3)) is None
    sr = dip.super_resolution(clean, 4)
    assert sr.score(clean) == float("inf") and sr.metric(_img(3), clean) == dip.psnr_sr(_img(3), clean, 4)


def test_fingerprint_tells_problems_apart():
    clean = _img()
    a, b = dip.denoising(clean, sigma=25, seed=0), dip.denoising(clean.clone(), sigma=25, seed=0)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != dip.denoising(clean, sigma=25, seed=1).fingerprint()    # other y
    assert a.fingerprint() != dip.denoising(clean, sigma=15, seed=0).fingerprint()
    assert a.fingerprint() != dip.denoising(_img(1), noisy=a.observation).fingerprint()  # other truth
    m1, m2 = dip.bernoulli_mask((H, W), 0.5, seed=1), dip.bernoulli_mask((H, W), 0.5, seed=2)
    assert dip.inpainting(clean, m1).fingerprint() != dip.inpainting(clean, m2).fingerprint()
    assert dip.deblurring(clean, "gaussian:2", sigma=0).fingerprint() != \
        dip.deblurring(clean, "gaussian:3", sigma=0).fingerprint()


def test_solve_on_pixels_started_at_the_truth_stays_there():
    """Known answer: θ = x itself started at the truth, with a tiny step, stays at the truth
    (PSNR far above anything a fit could reach), and the loss is the noise energy."""
    clean = _img()
    problem = dip.denoising(clean, sigma=25, seed=0)
    p = dip.preset("denoising", "test")
    r = dip.solve(problem, p, arch="pixels", init=clean, steps=5, every=5, lr=1e-6, device="cpu")
    assert r.final_psnr > 60
    noise_energy = float(((clean - problem.observation) ** 2).mean())
    assert r.history["loss"][0] == pytest.approx(noise_energy, rel=1e-2)
    assert 10 * math.log10(1 / noise_energy) < 25          # y itself is far from the truth
    grey = dip.solve(problem, p, arch="pixels", steps=5, every=5, lr=1e-6, device="cpu")
    assert grey.final_psnr < 20, "without init the pixels start grey"


def test_solve_takes_changes_and_refuses_unknown_ones():
    problem = dip.denoising(_img(shape=(1, 3, 64, 64)), sigma=25)
    p = dip.preset("denoising", "test")
    r = dip.solve(problem, p, width=4, steps=3, every=1, device="cpu")
    assert r.steps == 3 and r.history["step"] == [1, 2, 3] and len(r.history["psnr"]) == 3
    with pytest.raises(dip.UnknownSetting, match="stpes.*did you mean 'steps'"):
        dip.solve(problem, p, stpes=3, device="cpu")


def test_build_for_uses_the_settings_network_and_code():
    problem = dip.denoising(_img(shape=(1, 3, 64, 64)), sigma=25)
    p = dip.preset("denoising", "test", width=4)
    net, z = dip.build_for(problem, p, seed=0)
    assert z.shape == (1, p.input_depth, 64, 64) and net(z).shape == (1, 3, 64, 64)
    net2, z2 = dip.build_for(problem, p, seed=0)
    assert torch.equal(z, z2) and all(torch.equal(a, b) for a, b in zip(net.parameters(), net2.parameters()))
    flash = dip.flash_no_flash(_img(1, (1, 3, 64, 64)), _img(2, (1, 3, 64, 64)))
    _, z = dip.build_for(flash, dip.preset("flash", "test", width=4))
    assert torch.equal(z, flash.code), "flash/no-flash: z is the flash image"


def test_solve_says_what_it_needs_when_given_a_tensor_or_a_dict():
    import torch
    img = torch.rand(1, 3, 64, 64)
    with pytest.raises(TypeError, match=r"needs a problem, e\.g\. dip\.denoising.*not a Tensor"):
        dip.solve(img, dip.preset("denoising", "test"))
    with pytest.raises(TypeError, match=r"needs settings from dip\.preset.*not a dict"):
        dip.solve(dip.denoising(img, sigma=25), {"steps": 10})
