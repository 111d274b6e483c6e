"""dip_lib.core.features (Φ: AlexNet, VGG-16, weight loading) and the inversion helpers.

Never touches the network: checkpoints are created locally and ``download=False`` everywhere
(the offline test monkeypatches the downloader to fail, as it does in CI). The checkpoint
written here holds only AlexNet's first layer (a few hundred kB, loaded with strict=False):
the hash and weights_only checks do not depend on the file's size.
"""
import warnings

import pytest
import torch

import dip_lib as dip
from dip_lib.core import features
from dip_lib.experiments import inversion
from dip_lib.problems import baselines
from markers import needs_data

# the key layout of torchvision's checkpoints (alexnet-owt-7be5be79.pth, vgg16-397923af.pth)
ALEXNET_KEYS = [f"features.{i}.{w}" for i in (0, 3, 6, 8, 10) for w in ("weight", "bias")] + \
               [f"classifier.{i}.{w}" for i in (1, 4, 6) for w in ("weight", "bias")]
VGG16_KEYS = [f"features.{i}.{w}" for i in (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
              for w in ("weight", "bias")] + [f"classifier.{i}.{w}" for i in (0, 3, 6) for w in ("weight", "bias")]


class _NotATensor:                 # a pickled object that weights_only loading must refuse
    pass


@pytest.fixture(scope="module")
def alexnet():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        return features.AlexNet()


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A small locally written checkpoint (AlexNet's first conv, seeded) and its sha256."""
    g = torch.Generator().manual_seed(5)
    state = {"features.0.weight": torch.randn(64, 3, 11, 11, generator=g), "features.0.bias": torch.randn(64, generator=g)}
    path = tmp_path_factory.mktemp("ckpt") / "alexnet-owt-7be5be79.pth"
    torch.save(state, path)
    return path, features.sha256_of(path), state


def test_parameter_names_match_torchvision(alexnet):
    assert list(alexnet.state_dict()) == ALEXNET_KEYS
    assert sum(p.numel() for p in alexnet.parameters()) == 61_100_840          # torchvision's count
    assert alexnet.state_dict()["classifier.1.weight"].shape == (4096, 256 * 6 * 6)
    assert isinstance(alexnet.avgpool, torch.nn.AdaptiveAvgPool2d) and alexnet.avgpool.output_size == (6, 6)


def test_vgg16_layout():
    with torch.device("meta"):                   # names and shapes only: no 550 MB of weights
        vgg = features.VGG16()
    assert list(vgg.state_dict()) == VGG16_KEYS
    assert sum(p.numel() for p in vgg.parameters()) == 138_357_544             # torchvision's count
    assert vgg.avgpool.output_size == (7, 7)
    assert vgg.state_dict()["classifier.0.weight"].shape == (4096, 512 * 7 * 7)


def test_correct_hash_is_accepted_and_weights_load(ckpt, alexnet):
    path, digest, state = ckpt
    before = alexnet.features[3].weight.clone()
    assert not torch.equal(alexnet.features[0].weight, state["features.0.weight"])
    assert features.load_weights(alexnet, "alexnet", path=path, sha256=digest, download=False, strict=False)
    assert torch.equal(alexnet.features[0].weight, state["features.0.weight"])
    assert torch.equal(alexnet.features[3].weight, before)                   # what the file lacks is kept
    # a prefix (what is stored for the published files) is checked the same way
    assert features.load_weights(alexnet, "alexnet", path=path, sha256=digest[:8], download=False, strict=False)
    # strict loading (the default, as for the published files) refuses an incomplete checkpoint
    with pytest.raises(RuntimeError, match="Missing key"):
        features.load_weights(alexnet, "alexnet", path=path, sha256=digest, download=False)


def test_wrong_hash_is_refused(ckpt, alexnet):
    path, digest, _ = ckpt
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:8]
    before = alexnet.features[0].weight.clone()
    with pytest.raises(features.WeightsUnavailable, match="sha256"):
        features.load_weights(alexnet, "alexnet", path=path, sha256=wrong, download=False, strict=False)
    assert torch.equal(alexnet.features[0].weight, before)       # nothing was loaded


def test_stored_prefix_refuses_a_file_that_is_not_the_published_one(ckpt, alexnet):
    path, digest, _ = ckpt
    if digest.startswith(features.CHECKPOINTS["alexnet"].sha256):
        pytest.skip("astronomically unlikely: the random file matches the published prefix")
    with pytest.raises(features.WeightsUnavailable):
        features.load_weights(alexnet, "alexnet", path=path, download=False, strict=False)


def test_checkpoint_found_in_the_cache_dir(tmp_path, monkeypatch, alexnet, ckpt):
    monkeypatch.setenv("DIP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    target = features.checkpoint_path("alexnet")
    assert target == tmp_path / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert not features.load_weights(alexnet, "alexnet", download=False, quiet=True)   # nothing there yet
    target.parent.mkdir(parents=True)
    target.symlink_to(ckpt[0])
    # no path given: the file is found in $DIP_CACHE_DIR/checkpoints
    assert features.load_weights(alexnet, "alexnet", sha256=ckpt[1][:8], download=False, strict=False)
    assert torch.equal(alexnet.features[0].weight, ckpt[2]["features.0.weight"])


def test_torch_hub_copy_is_used_when_ours_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("DIP_CACHE_DIR", str(tmp_path / "ours"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub = tmp_path / "torch" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert features.checkpoint_path("alexnet") == tmp_path / "ours" / "checkpoints" / hub.name
    hub.parent.mkdir(parents=True)
    hub.write_bytes(b"x")
    assert features.checkpoint_path("alexnet") == hub


def test_loading_is_weights_only(tmp_path):
    import pickle
    path = tmp_path / "evil.pth"
    torch.save({"features.0.weight": _NotATensor()}, path)
    # the hash matches, so only weights_only=True stands between the file and unpickling the object
    with pytest.raises(pickle.UnpicklingError, match="[Ww]eights only"):
        features.load_weights(features.AlexNet(), "alexnet", path=path, sha256=features.sha256_of(path),
                              download=False)


def test_offline_falls_back_to_random_weights_with_a_notice(tmp_path, monkeypatch):
    monkeypatch.setenv("DIP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def offline(url, dst):
        raise OSError("Name or service not known")

    monkeypatch.setattr(features, "_download", offline)
    with pytest.warns(UserWarning) as rec:
        phi = features.feature_net("alexnet", download=True)
    msg = str(rec[0].message)
    assert not phi.pretrained
    assert features.CHECKPOINTS["alexnet"].url in msg and str(tmp_path) in msg and "RANDOM" in msg
    # the random fallback is reproducible and leaves the global RNG alone
    torch.manual_seed(3)
    a = torch.rand(1)
    torch.manual_seed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phi2 = features.feature_net("alexnet", download=False)
    assert torch.equal(torch.rand(1), a)
    assert torch.equal(phi.net.features[0].weight, phi2.net.features[0].weight)


@pytest.fixture(scope="module")
def phi():
    return features.feature_net("alexnet", pretrained=False)


def test_layer_names_and_shapes(phi):
    x = torch.rand(1, 3, 64, 64)
    assert phi(x, "conv1").shape == (1, 64, 15, 15)
    assert phi(x, "conv5").shape == (1, 256, 3, 3)      # 64px does not collapse to zero
    assert phi(x, "fc8").shape == (1, 1000)
    assert phi(x, "fc7").min() >= 0                     # after the ReLU
    assert phi(x, "fc7_pre").min() < 0                  # before it
    assert phi(x, "fc8").min() < 0                      # fc8: scores before the softmax
    assert phi(x, "conv3").min() >= 0 and phi(x, "conv3_pre").min() < 0
    with pytest.raises(ValueError, match="conv5"):
        phi(x, "conv6")
    names = [n for n in features.LAYERS["vgg16"] if not n.endswith("_pre")]
    assert names[:2] == ["conv1_1", "conv1_2"] and names[-4:] == ["pool5", "fc6", "fc7", "fc8"]
    assert "conv5_3" in names


def test_fc8_matches_the_plain_forward_and_normalisation(phi):
    x = torch.rand(1, 3, 96, 96)
    mean = torch.tensor(features.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(features.IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(phi(x, "fc8"), phi.net((x - mean) / std))
    phi.train()                          # stays in eval mode: dropout off, outputs deterministic
    assert not phi.training and not phi.net.training
    torch.testing.assert_close(phi(x, "fc8"), phi(x, "fc8"))
    resized = features.FeatureExtractor(phi.net, "alexnet", "fc8", input_size=224)
    assert resized.normalise(x).shape[-2:] == (224, 224)


def test_gradients_flow_to_the_image_not_to_phi(phi):
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    phi(x, "conv2").sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in phi.parameters())


@needs_data
def test_imagenet_classes():
    classes = features.imagenet_classes()
    assert len(classes) == 1000 and classes[100].startswith("black swan")
    assert inversion.class_index("cheeseburger", classes) == 933


def test_preimage_problem_and_tv_baseline_reduce_the_feature_loss(phi):
    img = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    problem = dip.preimage(phi, img, "conv2")
    e = problem.energy()
    assert float(e(img)) == 0.0 and float(e(torch.full_like(img, 0.5))) > 0.1
    p = dip.preset("inversion", "test")
    r = baselines.tv_pixels(problem, p, steps=15, lr=0.1, device="cpu")
    assert len(r.losses) == 15
    assert inversion.feature_error(phi, r.image, img, "conv2") < 0.5 * float(r.losses[0])


def test_activation_grows_with_the_tv_baseline(phi):
    problem = inversion.activation_problem(phi, 100, (64, 64))
    p = dip.preset("activation", "test")
    r = baselines.tv_pixels(problem, p, tv_weight=10.0, steps=8, lr=0.05, device="cpu")
    start = inversion.class_score(phi, torch.full((1, 3, 64, 64), 0.5), 100)
    assert inversion.class_score(phi, r.image, 100) > start + 1e-3


def test_inversion_net_size_check(phi):
    p = dip.preset("inversion", "test")
    with pytest.raises(ValueError, match="multiples of 64"):
        inversion.fit_preimage(phi, torch.rand(1, 3, 64, 64), p, "conv1", device="cpu")
    with pytest.raises(ValueError, match="multiples of 64"):
        inversion.fit_activation(phi, 100, p, shape=(96, 128), device="cpu")
