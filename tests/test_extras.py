"""Optional extras, outside what Binder and Colab install: run apart by ``make test-extras`` (CI does,
after installing them). bm3d gives the CBM3D baseline of notebook 03 (free for non-commercial use)."""
import pytest
import torch

import dip_lib as dip
from dip_lib.problems import baselines

pytestmark = pytest.mark.extras


def _noisy(side=64, sigma=25 / 255):
    y, x = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
    clean = torch.stack([x, y, 0.5 * (x + y)])[None]
    clean[..., side // 4:side * 5 // 8, side // 3:side * 2 // 3] = 0.9
    g = torch.Generator().manual_seed(0)
    return clean, (clean + sigma * torch.randn(clean.shape, generator=g)).clamp(0, 1)


def test_cbm3d_denoises_a_colour_image():
    pytest.importorskip("bm3d", reason="optional extra: make test-extras installs it")
    clean, noisy = _noisy()
    out = baselines.cbm3d(noisy, 25 / 255)
    assert out.shape == clean.shape
    assert dip.psnr(out, clean) > dip.psnr(noisy, clean) + 5
