"""The `paper` preset against the paper (IJCV 2020 tex) and the authors' code; BatchNorm's
initialisation option; the authors' SR data preparation (PIL 8-bit Lanczos, crop, PSNR border).

docs/paper_settings.md is the audit these values come from: every row marked "same" or "fixed"
there has its value in ``DOCUMENTED`` below, with the tex line that states it (or the authors'
notebook where the paper is silent or differs). A test reads the tex from ../shared/paper/ and
checks each quoted snippet is on its line (skipped when the tex is absent).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import dip_lib as dip
from dip_lib.core.nets import ARCHITECTURES

ROOT = Path(__file__).resolve().parents[1]
TEX = ROOT.parent / "shared" / "paper" / "ijcv2020_deep_image_prior.tex"

# (application, field) -> (value in the paper preset, source, tex line, snippet on that line or None)
DOCUMENTED = {
    ("sr", "steps"): (2000, "tex", 1088, r"\texttt{num\_iter} $ = 2000$"),
    ("sr", "lr"): (0.01, "tex", 1089, r"\texttt{LR} $ = 0.01$"),
    ("sr", "steps_x8"): (4000, "tex", 1094, r"the number of iterations to $4000$"),
    ("sr", "sigma_p_x8"): (0.05, "tex", 1094, r"$\sigma_p = \frac{1}{20}$"),
    ("sr", "sigma_p"): (0.03, "super-resolution.ipynb: reg_noise_std = 0.03 (tex 1087: 1/30)", None, None),
    ("sr", "arch"): ("sr", "tex", 1090, r"\texttt{upsampling} $ = $ \texttt{bilinear}"),
    ("denoising", "steps"): (1800, "tex", 388, r"after 1800 optimization steps"),
    ("denoising", "ema"): (0.99, "tex", 1115, r"$\gamma=0.99$"),
    ("denoising", "sigma_p"): (1 / 30, "tex", 1087, r"$\sigma_p = \frac{1}{30}$"),
    ("denoising", "restarts"): (2, "tex", 388, r"averaged over two optimization runs"),
    ("jpeg", "steps"): (2400, "tex", 1125, r"\texttt{num\_iter = 2400}"),
    ("jpeg", "input_depth"): (3, "tex", 1119, r"$z \in \mathbb{R}^{3 \times W \times H}"),
    ("jpeg", "lr"): (0.01, "tex", 1126, r"\texttt{LR = 0.01}"),
    ("jpeg", "sigma_p"): (1 / 30, "tex", 1124, r"$\sigma_p = \frac{1}{30}$"),
    ("jpeg", "arch"): ("jpeg", "tex", 1120, r"\texttt{[8, 16, 32, 64, 128]}"),
    ("inpainting", "steps"): (6001, "inpainting.ipynb: num_iter = 6001 (tex 1095: 6000)", 1095,
                              r"optimized the objective for $6000$ iterations"),
    ("inpainting", "steps_hole"): (5001, "inpainting.ipynb: num_iter = 5001 (tex 1096: 5000)", 1096,
                                   r"optimized for $5000$ iterations"),
    ("inpainting", "steps_barbara"): (11000, "tex", 1130, r"\texttt{num\_iter = 11000}"),
    ("inpainting", "lr_barbara"): (0.001, "tex", 1130, r"\texttt{LR = 0.001}"),
    ("inpainting", "steps_library"): (3001, "inpainting.ipynb library: num_iter = 3001", None, None),
    ("enhancement", "sigma_p"): (0.0, "tex", 1157, r"but set $\sigma_p = 0$"),
    ("enhancement", "stops"): ((250, 500, 2500, 4000), "tex", 979, r"ench_250"),
    ("enhancement", "steps"): (4000, "tex", 988, r"ench_4000"),
    ("flash", "steps"): (601, "flash-no-flash.ipynb: num_iter = 601", None, None),
    ("flash", "lr"): (0.1, "flash-no-flash.ipynb: LR = 0.1", None, None),
    ("flash", "sigma_p"): (0.0, "flash-no-flash.ipynb: reg_noise_std = 0.0", None, None),
    ("flash", "input_depth"): (3, "flash-no-flash.ipynb: input_depth = 3 (the flash image)", None, None),
    ("flash", "arch"): ("flash", "flash-no-flash.ipynb: upsample nearest x2, bilinear x3", None, None),
    ("flash", "size"): (None, "flash-no-flash.ipynb: native size, cropped to a multiple of 32", None, None),
    ("inversion", "steps"): (3100, "tex", 1138, r"\texttt{num\_iter = 3100}"),
    ("inversion", "lr"): (0.001, "tex", 1139, r"\texttt{LR = 0.001}"),
    ("inversion", "arch"): ("inversion", "tex", 1135, r"\texttt{[7, 7, 5, 5, 3, 3]}"),
    ("activation", "steps"): (3100, "tex", 1152, r"\texttt{num\_iter = 3100}"),
    ("activation", "lr"): (0.001, "tex", 1153, r"\texttt{LR = 0.001}"),
    ("activation", "sigma_p"): (0.03, "tex", 1155, r"$\sigma_p = 0.03 $"),
    ("activation", "arch"): ("activation", "tex", 1149, r"\texttt{[5, 3, 5, 5, 3, 5]}"),
}

# the tables: (table, image or None, field) -> (value, tex line, snippet)
DOCUMENTED_TABLES = {
    ("denoising", None, "steps"): (1800, 388, r"after 1800 optimization steps"),
    ("denoising", None, "restarts"): (2, 388, r"averaged over two optimization runs"),
    ("denoising", None, "ema"): (0.99, 1115, r"$\gamma=0.99$"),
    ("denoising", None, "arch"): ("denoising", 1113, r"same as in the case of super-resolution"),
    ("sr4", None, "steps"): (2000, 1088, r"\texttt{num\_iter} $ = 2000$"),
    ("sr4", None, "lr"): (0.01, 1089, r"\texttt{LR} $ = 0.01$"),
    ("sr8", None, "steps"): (4000, 1094, r"the number of iterations to $4000$"),
    ("sr8", None, "sigma_p"): (0.05, 1094, r"$\sigma_p = \frac{1}{20}$"),
    # the inpainting table (Heide11, 50% missing) is the paper's "image reconstruction": the default
    # network (as SR and denoising), 11000 steps at lr 0.001, on every image
    ("inpainting", None, "arch"): ("restoration", 1130, r"same setup as in the case of super-resolution"),
    ("inpainting", None, "steps"): (11000, 1130, r"\texttt{num\_iter = 11000}"),
    ("inpainting", None, "lr"): (0.001, 1130, r"\texttt{LR = 0.001}"),
    ("inpainting", "Lena", "steps"): (11000, 1130, r"\texttt{num\_iter = 11000}"),
    ("inpainting", "barbara", "lr"): (0.001, 1130, r"\texttt{LR = 0.001}"),
}


def _tex_lines():
    if not TEX.exists():
        pytest.skip(f"the paper's tex is not at {TEX} (../shared/paper/): cannot check the quoted lines")
    return TEX.read_text(encoding="utf-8").splitlines()


# --- the paper preset equals the documented values -----------------------------------------

@pytest.mark.parametrize("key", sorted(DOCUMENTED, key=str), ids=lambda k: f"{k[0]}.{k[1]}")
def test_paper_preset_has_the_documented_value(key):
    app, field = key
    want = DOCUMENTED[key][0]
    got = getattr(dip.preset(app, "paper"), field)
    if isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-12), (key, got, want)
    else:
        assert got == want, (key, got, want)


@pytest.mark.parametrize("key", sorted(DOCUMENTED_TABLES, key=str), ids=lambda k: "/".join(str(x) for x in k if x))
def test_reproduce_paper_scopes_have_the_documented_value(key):
    table, image, field = key
    task = {"sr4": "sr", "sr8": "sr"}.get(table, table)
    got = getattr(dip.preset("reproduce", "paper").for_image(table, image, task), field)
    want = DOCUMENTED_TABLES[key][0]
    assert got == (pytest.approx(want) if isinstance(want, float) else want), (key, got, want)


def test_quoted_tex_lines_say_what_the_audit_says():
    lines = _tex_lines()
    quotes = [(k, v[2], v[3]) for k, v in DOCUMENTED.items() if v[2] is not None]
    quotes += [(k, v[1], v[2]) for k, v in DOCUMENTED_TABLES.items()]
    for key, line, snippet in quotes:
        assert snippet in lines[line - 1], f"{key}: tex line {line} does not contain {snippet!r}: {lines[line - 1][:120]!r}"


def test_architectures_match_the_tex_boxes():
    d = ARCHITECTURES["sr"].normalised()                    # tex 1082-1090: the default architecture
    assert (d.in_channels, list(d.n_down), list(d.n_up), list(d.n_skip)) == (32, [128] * 5, [128] * 5, [4] * 5)
    assert list(d.k_down) == list(d.k_up) == [3] * 5 and list(d.k_skip) == [1] * 5
    assert list(d.upsample) == ["bilinear"] * 5
    assert ARCHITECTURES["restoration"] == ARCHITECTURES["denoising"] == ARCHITECTURES["sr"]
    j = ARCHITECTURES["jpeg"].normalised()                  # tex 1119-1127
    assert (j.in_channels, list(j.n_down), list(j.n_skip)) == (3, [8, 16, 32, 64, 128], [0, 0, 0, 4, 4])
    inv = ARCHITECTURES["inversion"].normalised()           # tex 1133-1140 (+ the authors' zero padding, avg down)
    assert list(inv.k_down) == list(inv.k_up) == [7, 7, 5, 5, 3, 3] and list(inv.upsample) == ["nearest"] * 6
    assert inv.pad == "zero" and list(inv.downsample) == ["avg"] * 6
    act = ARCHITECTURES["activation"].normalised()          # tex 1147-1155 / activation_maximization.ipynb
    assert list(act.n_down) == [16, 32, 64, 128, 128, 128] and list(act.n_skip) == [0, 4, 4, 4, 4, 4]
    assert list(act.k_down) == [5, 3, 5, 5, 3, 5] and list(act.k_up) == [5, 3, 5, 3, 5, 3]
    assert list(act.upsample) == ["bilinear"] * 6 and act.pad == "zero"      # tex 1074: zero padding here
    fl = ARCHITECTURES["flash"].normalised()                # flash-no-flash.ipynb
    assert fl.in_channels == 3 and list(fl.upsample) == ["nearest", "nearest", "bilinear", "bilinear", "bilinear"]
    assert list(fl.n_skip) == [4] * 5


# --- BatchNorm initialisation ---------------------------------------------------------------

def _bn(net):
    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def test_bn_init_paper_draws_the_scale_from_u01_reproducibly():
    state = torch.get_rng_state()
    a = dip.build("sr", width=16, seed=5, bn_init="paper")
    b = dip.build("sr", width=16, seed=5, bn_init="paper")
    c = dip.build("sr", width=16, seed=6, bn_init="paper")
    t = dip.build("sr", width=16, seed=5)                    # default: 'torch'
    assert torch.equal(state, torch.get_rng_state())        # the caller's global RNG is untouched
    wa = torch.cat([m.weight.detach() for m in _bn(a)])
    assert len(_bn(a)) == 30 and wa.numel() > 300
    assert float(wa.min()) >= 0 and float(wa.max()) < 1 and not torch.all(wa == 1)
    assert 0.4 < float(wa.mean()) < 0.6                     # U(0, 1) has mean 1/2
    assert all(float(m.bias.detach().abs().max()) == 0 for m in _bn(a))
    assert all(torch.equal(x.weight, y.weight) for x, y in zip(_bn(a), _bn(b)))       # same seed, same draw
    assert not torch.equal(wa, torch.cat([m.weight.detach() for m in _bn(c)]))         # other seed, other draw
    assert all(torch.all(m.weight == 1) for m in _bn(t))
    # only the BatchNorm scales differ: every convolution is the same as with bn_init='torch'
    convs = lambda n: [m.weight for m in n.modules() if isinstance(m, nn.Conv2d)]  # noqa: E731
    assert all(torch.equal(x, y) for x, y in zip(convs(a), convs(t)))


def test_bn_init_reaches_every_builder_and_refuses_unknown_values():
    for arch in ("unet", "resnet", "deep_decoder", "inversion"):
        net = dip.build(arch, width=8, seed=0, bn_init="paper")
        w = torch.cat([m.weight.detach() for m in _bn(net)])
        assert float(w.max()) < 1 and not torch.all(w == 1), arch
    with pytest.raises(ValueError, match="bn_init must be 'torch'.*'paper'"):
        dip.build("default", bn_init="pytorch04")
    with pytest.raises(ValueError, match="bn_init"):
        dip.make("sr", bn_init="uniform")


def test_bn_init_changes_the_output_of_the_untrained_net():
    z = dip.core.codes.noise(8, 64, 64, seed=0)
    with torch.no_grad():
        a = dip.build("default", in_channels=8, width=16, seed=0, bn_init="paper")(z)
        t = dip.build("default", in_channels=8, width=16, seed=0)(z)
    assert a.shape == t.shape and float((a - t).abs().max()) > 1e-3


# --- the authors' SR data: PIL 8-bit Lanczos, crop, border -----------------------------------

def _u8(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


@pytest.mark.parametrize("shape,factor", [((48, 64, 3), 4), ((70, 50, 3), 4), ((64, 64), 8), ((72, 40, 3), 8)])
def test_pil_downscale_equals_pil_lanczos_on_the_8bit_image(shape, factor):
    a = _u8(shape)
    x = torch.from_numpy(a.astype(np.float32) / 255)
    x = (x[None, None] if x.dim() == 2 else x.permute(2, 0, 1)[None])
    h, w = shape[:2]
    want = np.asarray(Image.fromarray(a).resize((w // factor, h // factor), Image.LANCZOS))
    got = dip.pil_downscale(x, factor)
    assert got.shape == (1, 1 if len(shape) == 2 else 3, h // factor, w // factor)
    g = np.round(got[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    assert np.array_equal(g[..., 0] if len(shape) == 2 else g, want)
    assert torch.equal(got * 255, torch.round(got * 255))    # y is 8-bit, as the authors' PNG


def test_super_resolution_makes_y_the_authors_way_only_when_asked():
    a = _u8((64, 96, 3), 1)
    hr = torch.from_numpy(a.astype(np.float32) / 255).permute(2, 0, 1)[None]
    pil = dip.super_resolution(hr, 4, downscale="pil")
    assert torch.equal(pil.observation, dip.pil_downscale(hr, 4)) and pil.info["downscale"] == "pil"
    crime = dip.super_resolution(hr, 4)                      # default: y = d(x0), the fitted operator
    assert torch.allclose(crime.observation, dip.Downsampler(4)(hr))
    assert crime.energy()(hr).item() == pytest.approx(0.0, abs=1e-12)
    assert pil.energy()(hr).item() > 1e-6                    # no inverse crime: x0 does not fit y exactly
    with pytest.raises(ValueError, match="downscale must be 'operator'"):
        dip.super_resolution(hr, 4, downscale="bicubic")
    with pytest.raises(ValueError, match="border"):
        dip.super_resolution(hr, 4, border=(5, 4))


def test_paper_border_crops_4_near_and_5_far_pixels():
    g = torch.Generator().manual_seed(0)
    ref = torch.rand(1, 3, 40, 48, generator=g)
    x = (ref + 0.05 * torch.randn(1, 3, 40, 48, generator=g)).clamp(0, 1)
    problem = dip.super_resolution(ref, 4, border=dip.PAPER_SR_BORDER)

    def y(t):   # the hand computation: 8-bit, BT.601 luma on [16, 235]/255, region [4:H-5, 4:W-5]
        a = np.round(t[0].permute(1, 2, 0).double().numpy() * 255) / 255
        return (16 + 65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]) / 255

    d = (y(x) - y(ref))[4:40 - 5, 4:48 - 5]
    want = 10 * np.log10(1 / np.mean(d ** 2))
    assert dip.PAPER_SR_BORDER == (4, 5)
    assert problem.metric(x, ref) == pytest.approx(want, abs=1e-9)
    assert dip.psnr_sr_border(x, ref, 4, 5) == pytest.approx(want, abs=1e-9)
    assert dip.super_resolution(ref, 4).metric(x, ref) == dip.psnr_sr(x, ref, 4)     # default: factor px


@pytest.mark.parametrize("hw,factor,offset", [
    ((391, 586), 4, (2, 4)),    # Set14 zebra: the authors' zebra_GT.png (584x388) cut at (4, 2); floor gives (3, 5)
    ((361, 250), 4, (4, 12)),   # Set14 comic: 12.5 rounds to 12 (halves to even), floor gives 13
    ((362, 500), 4, (4, 10)),   # Set14 flowers: 4.5 -> 4
    ((344, 228), 8, (12, 0)),   # Set5 woman x8: the x8 GT is 224 wide, so no horizontal offset
    ((512, 512), 4, (0, 0)),
])
def test_paper_sr_crop_uses_the_authors_offsets(hw, factor, offset):
    h, w = hw
    rows = torch.arange(h, dtype=torch.float32)[:, None].expand(h, w) / 1024
    cols = torch.arange(w, dtype=torch.float32)[None, :].expand(h, w) / 1024
    img = torch.stack([rows, cols, rows])[None]
    out = dip.paper_sr_crop(img, factor)
    hm, wm = h - h % factor, w - w % factor
    assert out.shape[-2:] == (hm - hm % 32, wm - wm % 32)
    assert (round(float(out[0, 0, 0, 0]) * 1024), round(float(out[0, 1, 0, 0]) * 1024)) == offset


def test_align_corners_option_gives_the_old_bilinear_upsampling():
    z = torch.rand(1, 4, 64, 64, generator=torch.Generator().manual_seed(0))
    new = dip.build("default", in_channels=4, width=8, seed=0)
    old = dip.build("default", in_channels=4, width=8, seed=0, align_corners=True)
    ups = [m for m in old.modules() if isinstance(m, nn.Upsample)]
    assert len(ups) == 5 and all(m.align_corners is True for m in ups)
    assert all(m.align_corners is False for m in new.modules() if isinstance(m, nn.Upsample))
    with torch.no_grad():
        assert float((old(z) - new(z)).abs().max()) > 1e-4      # same θ, other upsampling
