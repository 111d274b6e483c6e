"""The data registry (fetch, image_set, the DIP_DATA_DIR mirror, the pooch path) and load_image.

Offline always: the mirror is ../shared/data (conftest.py), and the download path is tested
with pooch.retrieve monkeypatched.
"""
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import dip_lib as dip
from dip_lib.core import data
from markers import needs_data

SMALL = "paper/denoising/snail.jpg"   # 7.7 kB: cheap to copy into a temporary mirror


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@needs_data
def test_every_registry_entry_resolves_in_the_mirror_with_its_hash():
    reg = data._registry()
    assert len(reg) >= 50
    for key, (sha, url) in reg.items():
        path = dip.fetch(key)
        assert path.is_file(), key
        assert _sha(path) == sha, key
        assert url.startswith("https://"), key


@needs_data
def test_manifest_and_registry_agree():
    import os
    manifest = Path(os.environ["DIP_DATA_DIR"]) / "MANIFEST.tsv"
    rows = [line.split("\t") for line in manifest.read_text().splitlines()[1:] if line.strip()]
    reg = data._registry()
    assert {r[0] for r in rows} == set(reg)
    for path, sha, _size, url in rows:
        assert reg[path] == (sha, url), path


def test_named_sets_and_aliases():
    sizes = {"Set5": 5, "Set14": 14, "CBM3D9": 9, "Heide11": 11}
    assert set(dip.SETS) == set(sizes)
    for name, n in sizes.items():
        files = dip.image_set(name)
        assert len(files) == n and all(f.startswith(name + "/") for f in files)
    for alias, key in data.ALIASES.items():
        assert data._resolve(alias) == key
    assert data._resolve("Set5/baby") == "Set5/baby.png"   # the stem works too
    with pytest.raises(KeyError, match="Set5"):
        dip.image_set("Set6")


def test_unknown_name_is_a_key_error_listing_names():
    with pytest.raises(KeyError) as e:
        dip.fetch("no_such_image")
    msg = str(e.value)
    assert "no_such_image" in msg and "F16" in msg and "Heide11" in msg and "dip.names()" in msg


def _one_file_mirror(tmp_path, key=SMALL):
    src = Path(__file__).resolve().parents[2] / "shared" / "data" / key
    if not src.exists():
        pytest.skip("no local data mirror")
    dst = tmp_path / key
    dst.parent.mkdir(parents=True)
    shutil.copy(src, dst)
    return dst


def test_tampered_file_in_the_mirror_is_refused(tmp_path, monkeypatch):
    dst = _one_file_mirror(tmp_path)
    assert dip.fetch(SMALL) is not None          # sanity: the real mirror accepts it
    raw = bytearray(dst.read_bytes())
    raw[-10] ^= 0xFF
    dst.write_bytes(bytes(raw))
    monkeypatch.setenv("DIP_DATA_DIR", str(tmp_path))
    with pytest.raises(dip.DataUnavailable) as e:
        dip.fetch("snail")
    msg = str(e.value)
    assert SMALL in msg and "DIP_DATA_DIR" in msg and "sha256" in msg


def test_missing_file_in_the_mirror_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DIP_DATA_DIR", str(tmp_path))
    with pytest.raises(dip.DataUnavailable) as e:
        dip.fetch("Set5/baby.png")
    msg = str(e.value)
    assert "Set5/baby.png" in msg and "DIP_DATA_DIR" in msg and str(tmp_path) in msg
    with pytest.raises(dip.DataUnavailable):      # load_image goes through fetch
        dip.load_image("F16")


def test_good_copy_in_a_temporary_mirror_is_used(tmp_path, monkeypatch):
    dst = _one_file_mirror(tmp_path)
    monkeypatch.setenv("DIP_DATA_DIR", str(tmp_path))
    assert dip.fetch("snail") == dst


def test_offline_download_names_the_mirror_variable(tmp_path, monkeypatch):
    import pooch
    calls = []

    def offline(url, **kw):
        calls.append((url, kw))
        raise ConnectionError("network is unreachable")

    monkeypatch.delenv("DIP_DATA_DIR", raising=False)
    monkeypatch.setenv("DIP_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(dip.DataUnavailable) as e:
        dip.fetch("F16")
    msg = str(e.value)
    assert "paper/denoising/F16_GT.png" in msg and "DIP_DATA_DIR" in msg and "ConnectionError" in msg
    url, kw = calls[0]
    sha, reg_url = data._registry()["paper/denoising/F16_GT.png"]
    assert url == reg_url and kw["known_hash"] == f"sha256:{sha}" and kw["path"] == str(tmp_path)


def test_download_path_returns_pooch_file(tmp_path, monkeypatch):
    import pooch
    target = tmp_path / "file.jpg"
    target.write_bytes(b"x")
    monkeypatch.delenv("DIP_DATA_DIR", raising=False)
    monkeypatch.setenv("DIP_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pooch, "retrieve", lambda url, **kw: str(target))
    assert dip.fetch("snail") == target


# --- load_image ------------------------------------------------------------------------------

def test_load_grayscale_array():
    a = (np.arange(12, dtype=np.uint8).reshape(3, 4) * 20)
    t = dip.load_image(a)
    assert t.shape == (1, 3, 3, 4) and t.dtype == torch.float32
    assert torch.equal(t[:, 0], t[:, 1]) and torch.equal(t[:, 1], t[:, 2])
    assert torch.allclose(t[0, 0], torch.from_numpy(a / 255).float())
    assert dip.load_image(a, channels=1).shape == (1, 1, 3, 4)
    assert dip.load_image(a, channels=None).shape == (1, 1, 3, 4)


def test_load_rgba_composites_over_white():
    from PIL import Image
    a = np.zeros((4, 4, 4), np.uint8)
    a[..., 0] = 255           # red ...
    a[:2, :, 3] = 255         # ... opaque on the top half, transparent below
    for src in (a, Image.fromarray(a, "RGBA")):
        t = dip.load_image(src)
        assert t.shape == (1, 3, 4, 4)
        assert torch.allclose(t[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
        assert torch.allclose(t[0, :, 3, 0], torch.ones(3))


def test_load_tensor_and_colour_to_luma():
    x = torch.rand(1, 3, 8, 6)
    assert torch.allclose(dip.load_image(x), x)
    assert torch.allclose(dip.load_image(x[0]), x)
    y = dip.load_image(x, channels=1)
    assert y.shape == (1, 1, 8, 6)
    assert torch.allclose(y, 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3], atol=1e-6)
    with pytest.raises(ValueError, match="batch"):
        dip.load_image(torch.rand(2, 3, 8, 8))


def test_load_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dip.load_image(np.full((4, 4), 2.0, np.float32))
    with pytest.raises(FileNotFoundError, match="registry name"):
        dip.load_image("definitely_not_an_image_name")
    with pytest.raises(TypeError, match="cannot load"):
        dip.load_image(42)


def test_crop_to_multiple_message(capsys):
    x = torch.rand(1, 3, 70, 50)
    y = dip.crop_to_multiple(x, 32)
    assert y.shape[-2:] == (64, 32)
    assert torch.equal(y, x[..., 3:67, 9:41])           # centred
    assert "70x50 -> 64x32" in capsys.readouterr().out
    assert dip.crop_to_multiple(y, 32) is y              # nothing to do, no message
    assert capsys.readouterr().out == ""
    dip.crop_to_multiple(x, 32, verbose=False)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="smaller than 64"):
        dip.crop_to_multiple(x, 64)


@needs_data
def test_load_registry_image_with_size_and_multiple():
    t = dip.load_image("Set5/bird.png", size=100, multiple=32, verbose=False)
    assert t.shape == (1, 3, 96, 96) and 0 <= t.min() and t.max() <= 1
    g = dip.load_image("Heide11/house.png", channels=1)
    assert g.shape == (1, 1, 256, 256)
