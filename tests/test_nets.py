"""The generator networks: exact parameter counts, shapes, options, clear errors."""
import pytest
import torch
from torch import nn

import dip_lib as dip
from dip_lib.core.nets import conv


def test_default_network_has_the_papers_parameter_count():
    # input depth 32, 128 filters at 5 scales, 4-channel skips, 1x1 up convs, 3 outputs
    assert dip.count_parameters(dip.build("default")) == 2_217_831


@pytest.mark.parametrize("name", list(dip.ARCHITECTURES) + ["resnet", "unet", "deep_decoder"])
def test_every_architecture_maps_z_to_an_image_of_the_same_size(name):
    net, spec = dip.make(name, width=8, seed=0)
    assert spec == dip.architecture(name, width=8)
    s = spec.stride
    h, w = max(2 * s, spec.min_side, 16), max(3 * s, spec.min_side, 24)
    z = torch.rand(spec.code_shape(h, w))
    x = net(z)
    assert x.shape == (1, 3, h, w)
    assert 0 <= x.min() and x.max() <= 1  # sigmoid head


def test_hourglass_variants_differ_as_named():
    assert dip.architecture("hourglass-1").stride == 2 and dip.architecture("hourglass-5").stride == 32
    assert dip.architecture("inversion").stride == 64 and dip.architecture("resnet").stride == 1
    assert dip.architecture("deep_decoder").code_shape(64, 96) == (1, 64, 2, 3)
    assert dip.architecture("default", in_channels=3).code_shape(64, 96) == (1, 3, 64, 96)
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


def test_no_1x1_option_removes_the_1x1_up_convolutions():
    a = dip.skip(in_channels=4, n_down=[8], n_up=[8], n_skip=[0])
    b = dip.skip(in_channels=4, n_down=[8], n_up=[8], n_skip=[0], need_1x1_up=False)
    assert dip.count_parameters(a) - dip.count_parameters(b) == 8 * 8 + 8 + 2 * 8


def _padded_convs(net):
    return [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.padding != (0, 0)]


@pytest.mark.parametrize("pad, mode", [("reflect", "reflect"), ("zero", "zeros")])
def test_padding_option_sets_the_padding_of_every_convolution(pad, mode):
    nets = [dip.skip(in_channels=4, n_down=[8, 8], n_up=[8, 8], n_skip=[2, 2], pad=pad),
            dip.build("default", width=4, pad=pad), dip.ResNet(blocks=1, width=4, pad=pad),
            dip.UNet(widths=(4, 8), pad=pad)]
    for net in nets:
        convs = _padded_convs(net)
        assert convs and {c.padding_mode for c in convs} == {mode}, type(net).__name__
    # the paper's inversion network pads with zeros, the others reflect
    assert {c.padding_mode for c in _padded_convs(dip.build("inversion", width=8))} == {"zeros"}


def test_zero_and_reflect_padding_differ_at_the_border():
    """A 3x3 box filter of a constant image: reflect padding keeps it constant, zero padding
    darkens the border (a corner sees 4 of its 9 taps)."""
    out = {}
    for pad in ("reflect", "zero"):
        c = conv(1, 1, 3, pad=pad, bias=False)
        with torch.no_grad():
            c.weight.fill_(1.0)
            out[pad] = c(torch.ones(1, 1, 6, 6))[0, 0]
    assert torch.equal(out["reflect"], torch.full((6, 6), 9.0))
    assert out["zero"][0, 0] == 4 and out["zero"][0, 3] == 6 and out["zero"][3, 3] == 9
    with pytest.raises(ValueError, match="pad must be 'reflect' or 'zero'"):
        conv(1, 1, 3, pad="circular")


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
    spec = dip.architecture("default", width=8)
    with pytest.raises(ValueError, match="needs at least 64x64"):
        spec.check(16, 64)
    with pytest.raises(ValueError, match="needs at least 64x64"):
        spec.check(32, 128)
    with pytest.raises(ValueError, match="not a multiple of 32.*crop_to_multiple"):
        spec.check(80, 64)
    with pytest.raises(ValueError, match="not a multiple of 32"):
        spec.code_shape(64, 80)
    spec.check(64, 96)   # a valid size passes


def test_pixels_is_not_a_network():
    assert dip.architecture("pixels").code_channels == 0
    with pytest.raises(ValueError, match="'pixels' has no network"):
        dip.build("pixels")
