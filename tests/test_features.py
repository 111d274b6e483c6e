"""dip_lib.features (Φ: AlexNet, VGG-16, weight loading) and the inversion helpers.

Never touches the network: checkpoints are created locally and ``download=False`` everywhere
(the offline test monkeypatches the downloader to fail, as it does in CI).
"""
import warnings

import pytest
import torch

import dip_lib as dip
from dip_lib import baselines, features, inversion

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
def ckpt(alexnet, tmp_path_factory):
    """One locally written checkpoint (244 MB, like the published one) and its sha256."""
    path = tmp_path_factory.mktemp("ckpt") / "alexnet-owt-7be5be79.pth"
    torch.save(alexnet.state_dict(), path)
    return path, features.sha256_of(path)


def test_parameter_names_match_torchvision(alexnet):
    assert list(alexnet.state_dict()) == ALEXNET_KEYS
    assert list(features.VGG16().state_dict()) == VGG16_KEYS
    assert sum(p.numel() for p in alexnet.parameters()) == 61_100_840          # torchvision's count
    assert alexnet.state_dict()["classifier.1.weight"].shape == (4096, 256 * 6 * 6)
    assert isinstance(alexnet.avgpool, torch.nn.AdaptiveAvgPool2d) and alexnet.avgpool.output_size == (6, 6)


def test_vgg16_shapes():
    vgg = features.VGG16()
    assert sum(p.numel() for p in vgg.parameters()) == 138_357_544             # torchvision's count
    assert vgg.avgpool.output_size == (7, 7)
    assert vgg.state_dict()["classifier.0.weight"].shape == (4096, 512 * 7 * 7)


def test_correct_hash_is_accepted_and_weights_load(ckpt, alexnet):
    path, digest = ckpt
    net = features.AlexNet()
    assert features.load_weights(net, "alexnet", path=path, sha256=digest, download=False)
    assert torch.equal(net.features[0].weight, alexnet.features[0].weight)
    # a prefix (what is stored for the published files) is checked the same way
    assert features.load_weights(features.AlexNet(), "alexnet", path=path, sha256=digest[:8], download=False)


def test_wrong_hash_is_refused(ckpt):
    path, digest = ckpt
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:8]
    net = features.AlexNet()
    before = net.features[0].weight.clone()
    with pytest.raises(features.WeightsUnavailable, match="sha256"):
        features.load_weights(net, "alexnet", path=path, sha256=wrong, download=False)
    assert torch.equal(net.features[0].weight, before)       # nothing was loaded


def test_stored_prefix_refuses_a_file_that_is_not_the_published_one(ckpt):
    path, digest = ckpt
    if digest.startswith(features.CHECKPOINTS["alexnet"].sha256):
        pytest.skip("astronomically unlikely: the random file matches the published prefix")
    with pytest.raises(features.WeightsUnavailable):
        features.load_weights(features.AlexNet(), "alexnet", path=path, download=False)


def test_loading_is_weights_only(tmp_path):
    import pickle
    path = tmp_path / "evil.pth"
    torch.save({"features.0.weight": _NotATensor()}, path)
    # the hash matches, so only weights_only=True stands between the file and unpickling the object
    with pytest.raises(pickle.UnpicklingError, match="[Ww]eights only"):
        features.load_weights(features.AlexNet(), "alexnet", path=path, sha256=features.sha256_of(path),
                              download=False)


def test_checkpoint_found_in_the_cache_dir(tmp_path, monkeypatch, alexnet, ckpt):
    monkeypatch.setenv("DIP_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    target = features.checkpoint_path("alexnet")
    assert target == tmp_path / "checkpoints" / "alexnet-owt-7be5be79.pth"
    target.parent.mkdir(parents=True)
    target.symlink_to(ckpt[0])
    digest = ckpt[1]
    monkeypatch.setitem(features.CHECKPOINTS, "alexnet",
                        features.Checkpoint(features.CHECKPOINTS["alexnet"].url, digest[:8]))
    phi = features.feature_net("alexnet", download=False)
    assert phi.pretrained
    assert torch.equal(phi.net.features[0].weight, alexnet.features[0].weight)


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


def test_imagenet_classes():
    import os
    if not os.environ.get("DIP_DATA_DIR"):
        pytest.skip("no local data mirror (set DIP_DATA_DIR)")
    classes = features.imagenet_classes()
    assert len(classes) == 1000 and classes[100].startswith("black swan")
    assert inversion.class_index("cheeseburger", classes) == 933


def test_preimage_energy_and_tv_baseline_reduce_the_feature_loss(phi):
    img = torch.rand(1, 3, 64, 64)
    e = inversion.preimage_energy(phi, img, "conv2")
    assert float(e(img)) == 0.0
    r = baselines.tv_preimage(phi, img, "conv2", steps=15, lr=0.1, device="cpu")
    assert inversion.feature_error(phi, r.image, img, "conv2") < 0.5 * float(r.losses[0])


def test_activation_grows_with_the_tv_baseline(phi):
    r = baselines.tv_activation(phi, 100, (64, 64), tv_weight=10.0, steps=8, lr=0.05, device="cpu")
    start = inversion.class_score(phi, torch.full((1, 3, 64, 64), 0.5), 100)
    assert inversion.class_score(phi, r.image, 100) > start


def test_inversion_net_size_check(phi):
    p = dip.preset("inversion", "test")
    with pytest.raises(ValueError, match="multiples of 64"):
        inversion.preimage(phi, torch.rand(1, 3, 64, 64), p, "conv1", device="cpu")
