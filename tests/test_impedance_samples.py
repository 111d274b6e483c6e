"""Noise impedance (dip_lib.experiments.impedance), prior samples (dip_lib.experiments.samples) and their widget."""
import math

import numpy as np
import pytest
import torch

import dip_lib as dip
from dip_lib.experiments import impedance, samples


def _smooth_image(h=64, w=64):
    ys, xs = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return torch.stack([0.5 + 0.4 * torch.sin(6 * xs) * torch.cos(4 * ys), xs * 0.8 + 0.1, ys * 0.7 + 0.2])[None]


# --- impedance ---------------------------------------------------------------------------

def test_permutation_keeps_the_histogram_but_moves_pixels():
    img = _smooth_image(32, 32)
    perm = impedance.permute_pixels(img, seed=1)
    assert perm.shape == img.shape
    # same multiset of colours (each pixel keeps its RGB triple)
    a = img[0].reshape(3, -1).T.numpy()
    b = perm[0].reshape(3, -1).T.numpy()
    assert np.array_equal(a[np.lexsort(a.T)], b[np.lexsort(b.T)])
    for c in range(3):                                   # hence each channel's histogram too
        assert np.array_equal(np.histogram(a[:, c], 16, (0, 1))[0], np.histogram(b[:, c], 16, (0, 1))[0])
    assert not torch.equal(perm, img)
    # spatial structure gone: neighbouring pixels no longer similar
    assert (perm[..., 1:] - perm[..., :-1]).abs().mean() > 5 * (img[..., 1:] - img[..., :-1]).abs().mean()
    assert torch.equal(perm, impedance.permute_pixels(img, seed=1))


def test_targets_are_the_four_of_fig2():
    img = _smooth_image(32, 32)
    t = impedance.impedance_targets(img, seed=0)
    assert tuple(t) == impedance.TARGET_NAMES
    assert torch.equal(t["image"], img)
    for x in t.values():
        assert x.shape == img.shape and x.min() >= 0 and x.max() <= 1
    noise = t["image + noise"] - img
    assert 0.07 < float(noise.std()) < 0.11            # σ = 25/255 ≈ 0.098, a little less after clipping
    u = t["U(0,1) noise"]
    assert abs(float(u.mean()) - 0.5) < 0.03 and abs(float(u.var()) - 1 / 12) < 0.01


def test_steps_to_reach_on_a_synthetic_curve():
    losses = 1.0 / np.arange(1, 101)                   # loss after step k is 1/k
    assert impedance.steps_to_reach(losses, 0.1) == 10
    assert impedance.steps_to_reach(losses, 1.0) == 1
    assert impedance.steps_to_reach(losses, 0.001) == math.inf
    # first crossing counts even if the loss goes back up afterwards
    assert impedance.steps_to_reach([0.5, 0.2, 0.05, 0.3, 0.01], 0.1) == 3


def test_tiny_run_orders_image_before_noise():
    torch.set_num_threads(1)
    img = dip.load_image("camera", size=(64, 64))          # bundled with scikit-image: no download
    p = dip.preset("impedance", "test", width=8, steps=60, every=20, threshold=0.015)
    res = impedance.run_impedance(img, p, seed=0, device="cpu")
    assert list(res) == list(impedance.TARGET_NAMES)
    for r in res.values():
        assert len(r.losses) == 60 and r.ema_image is None
    s = impedance.impedance_steps(res, p.threshold)
    assert s["image"] < s["image + noise"] < min(s["permuted pixels"], s["U(0,1) noise"])
    ax = impedance.plot_impedance(res, p.threshold)
    assert len(ax.get_lines()) == 5
    import matplotlib.pyplot as plt
    plt.close("all")


def test_every_target_starts_from_the_same_theta_and_z():
    torch.set_num_threads(1)
    img = _smooth_image(64, 64)
    p = dip.preset("impedance", "test", width=8, steps=5, every=5)
    starts = {}

    def spy(name):
        class Spy(dip.Callback):
            def start(self, state):
                starts[name] = [t.detach().clone() for t in state.net.state_dict().values()]
        return [Spy()]

    targets = {"a": img, "b": img.clone(), "noise": impedance.impedance_targets(img)["U(0,1) noise"]}
    res = impedance.run_impedance(img, p, seed=0, targets=targets, device="cpu", callbacks_for=spy)
    # identical targets: the same θ at start and the same z give the same loss at step 1 (and after)
    assert res["a"].losses[0] == res["b"].losses[0]
    assert torch.equal(res["a"].image, res["b"].image)
    assert all(torch.equal(u, v) for u, v in zip(starts["a"], starts["noise"]))   # θ0 shared by all targets
    assert res["noise"].losses[0] != res["a"].losses[0]
    # another seed draws another θ and z: the first loss changes although the target is the same
    other = impedance.run_impedance(img, p, seed=1, targets={"a": img}, device="cpu")
    assert other["a"].losses[0] != res["a"].losses[0]


# --- prior samples ---------------------------------------------------------------------------

def test_prior_sample_shapes_determinism_and_structure():
    torch.set_num_threads(1)
    a = samples.prior_sample("hourglass-3", size=64, seed=0, width=16)
    b = samples.prior_sample("hourglass-3", size=64, seed=0, width=16)
    c = samples.prior_sample("hourglass-3", size=64, seed=1, width=16)
    assert a.shape == (1, 3, 64, 64) and torch.equal(a, b) and not torch.equal(a, c)
    assert float(a.min()) == 0.0 and abs(float(a.max()) - 1.0) < 1e-6   # contrast stretched
    raw = samples.prior_sample("hourglass-3", size=64, seed=0, width=16, stretch=False)
    assert 0 < float(raw.min()) and float(raw.max()) < 1 and float(raw.std()) > 0.02   # not a flat grey

    shallow = samples.prior_sample("hourglass-1", size=64, seed=0, width=16)
    deep = samples.prior_sample("hourglass-5", size=64, seed=0, width=16)
    assert samples.roughness(shallow) > 2 * samples.roughness(deep)


def test_eval_mode_batchnorm_gives_a_flat_grey_sample():
    train = samples.prior_sample("skip-5", size=64, seed=0, width=32, stretch=False)
    grey = samples.prior_sample("skip-5", size=64, seed=0, width=32, stretch=False, batch_stats=False)
    assert float(grey.std()) < 0.3 * float(train.std())
    assert abs(float(grey.mean()) - 0.5) < 0.05


def test_roughness_of_noise_and_of_a_smooth_image():
    g = torch.Generator().manual_seed(0)
    assert samples.roughness(torch.rand(1, 3, 32, 32, generator=g)) > 0.2
    assert samples.roughness(_smooth_image(32, 32)) < 0.05


def test_prior_sample_rejects_too_small_sizes():
    with pytest.raises(ValueError, match="needs at least 64x64"):
        samples.prior_sample("hourglass-5", size=32, width=8)


def test_sample_config_knobs():
    cfg = samples.sample_config(depth=3, skips=False, upsample="nearest", width=16)
    assert cfg.n_down == [16] * 3 and cfg.n_skip == [0] * 3 and cfg.upsample == "nearest"
    assert samples.sample_config(depth=2, skips=True, width=16).n_skip == [4, 4]
    with pytest.raises(ValueError):
        samples.sample_config(depth=0)


def test_render_prior_sample_is_pure():
    from dip_lib.view.widgets import render_prior_sample
    kw = dict(depth=3, skips=True, upsample="bilinear", seed=2, size=64, width=8)
    a, b = render_prior_sample(**kw), render_prior_sample(**kw)
    assert a.shape == (1, 3, 64, 64) and torch.equal(a, b)
    assert not torch.equal(a, render_prior_sample(**{**kw, "upsample": "nearest"}))
    assert not torch.equal(a, render_prior_sample(**{**kw, "skips": False}))


def test_prior_sample_panel_rerenders_on_change():
    pytest.importorskip("ipywidgets")
    import matplotlib
    matplotlib.use("Agg")
    from dip_lib.view.widgets import PriorSamplePanel, render_prior_sample
    panel = PriorSamplePanel(size=64, width=8, depth=3)
    assert panel.renders == 1 and panel.image.shape == (1, 3, 64, 64)
    assert panel.depth.max == 5                       # 64 px: the coarsest scale keeps 2x2 pixels
    first = panel.image
    panel.upsample.value = "nearest"
    assert panel.renders == 2 and not torch.equal(first, panel.image)
    panel.seed.value = 7
    panel.skips.value = False
    panel.depth.value = 2
    assert panel.renders == 5
    assert torch.equal(panel.image, render_prior_sample(**panel.settings()))
    assert panel.settings()["seed"] == 7 and panel.settings()["depth"] == 2
