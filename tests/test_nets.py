"""The generator networks: exact parameter counts, shapes, options, clear errors."""
import pytest
import torch

import dip_lib as dip


def test_default_network_has_the_papers_parameter_count():
    # input depth 32, 128 filters at 5 scales, 4-channel skips, 1x1 up convs, 3 outputs
    assert dip.count_parameters(dip.build("default")) == 2_217_831


@pytest.mark.parametrize("name", list(dip.ARCHITECTURES) + ["resnet", "unet"])
def test_every_architecture_maps_z_to_an_image_of_the_same_size(name):
    net = dip.build(name, width=8, seed=0)
    s = dip.stride_of(net)
    h, w = 2 * s if s > 1 else 16, 3 * s if s > 1 else 24
    z = torch.rand(1, net.config.in_channels if hasattr(net, "config") else 32, h, w)
    if name == "resnet" or name == "unet":
        z = torch.rand(1, 32, h, w)
    x = net(z)
    assert x.shape == (1, 3, h, w)
    assert 0 <= x.min() and x.max() <= 1  # sigmoid head


def test_hourglass_variants_differ_as_named():
    h1, h5 = dip.build("hourglass-1"), dip.build("hourglass-5")
    assert dip.stride_of(h1) == 2 and dip.stride_of(h5) == 32
    assert dip.build("skip-5-nearest").config.upsample == ["nearest"] * 5
    jpeg = dip.build("jpeg").config
    assert jpeg.in_channels == 3 and list(jpeg.n_skip) == [0, 0, 0, 4, 4]
    inv = dip.build("inversion").config
    assert inv.depth == 6 and list(inv.k_down) == [7, 7, 5, 5, 3, 3] and inv.pad == "zero"


@pytest.mark.parametrize("mode", ["stride", "avg", "max", "lanczos"])
def test_downsampling_modes(mode):
    net = dip.skip(dip.SkipConfig(in_channels=4, n_down=[8, 8], n_up=[8, 8], n_skip=[2, 2], downsample=mode))
    assert net(torch.rand(1, 4, 32, 32)).shape == (1, 3, 32, 32)
    if mode == "lanczos":  # the fixed kernel is a buffer, not part of θ
        plain = dip.skip(dip.SkipConfig(in_channels=4, n_down=[8, 8], n_up=[8, 8], n_skip=[2, 2]))
        assert dip.count_parameters(net) == dip.count_parameters(plain)


def test_no_1x1_and_zero_padding_options_change_the_network():
    a = dip.skip(in_channels=4, n_down=[8], n_up=[8], n_skip=[0])
    b = dip.skip(in_channels=4, n_down=[8], n_up=[8], n_skip=[0], need_1x1_up=False)
    assert dip.count_parameters(a) - dip.count_parameters(b) == 8 * 8 + 8 + 2 * 8


def test_width_scales_the_network():
    assert dip.count_parameters(dip.build("default", width=16)) < dip.count_parameters(dip.build("default")) / 20


def test_seed_makes_initialisation_reproducible():
    a, b = dip.build("default", width=8, seed=3), dip.build("default", width=8, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown architecture 'skip-7'.*default"):
        dip.build("skip-7")


def test_bad_per_scale_list_is_a_clear_error():
    with pytest.raises(ValueError, match="n_skip has 2 entries but the network has 5 scales"):
        dip.skip(n_skip=[4, 4])


def test_image_too_small_for_the_depth_is_a_clear_error():
    net = dip.build("default", width=8)
    with pytest.raises(ValueError, match="needs at least 64x64"):
        dip.check_input_size(net, 16, 64)
    with pytest.raises(ValueError, match="needs at least 64x64"):
        dip.check_input_size(net, 32, 128)
    with pytest.raises(ValueError, match="not a multiple of 32.*crop_to_multiple"):
        dip.check_input_size(net, 80, 64)
