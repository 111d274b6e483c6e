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
from markers import needs_data, needs_mirror

SMALL = "paper/denoising/snail.jpg"   # 7.7 kB: cheap to copy into a temporary mirror


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@needs_data
def _fetch_error(monkeypatch, tmp_path, retrieve, name) -> str:
    """The message of the DataUnavailable that dip.fetch(name) raises when pooch.retrieve is ``retrieve``
    (no mirror, an empty cache)."""
    import pooch
    monkeypatch.delenv("DIP_DATA_DIR", raising=False)
    monkeypatch.setenv("DIP_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pooch, "retrieve", retrieve)
    with pytest.raises(dip.DataUnavailable) as e:
        dip.fetch(name)
    return str(e.value)


def test_every_registry_entry_resolves_in_the_mirror_with_its_hash():
    reg = data._registry()
    assert len(reg) >= 50
    for key, (sha, url) in reg.items():
        path = dip.fetch(key)
        assert path.is_file(), key
        assert _sha(path) == sha, key
        assert url.startswith("https://"), key


@needs_mirror
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
    assert data.sha256_of(dst) == data._registry()[SMALL][0]     # sanity: a good copy before the tampering
    raw = bytearray(dst.read_bytes())
    raw[-10] ^= 0xFF
    dst.write_bytes(bytes(raw))
    monkeypatch.setenv("DIP_DATA_DIR", str(tmp_path))
    with pytest.raises(dip.DataUnavailable) as e:
        dip.fetch("snail")
    msg = str(e.value)
    assert SMALL in msg and "DIP_DATA_DIR" in msg and "sha256" in msg
    assert f"python -m dip_lib data fetch {SMALL} --to {tmp_path}" in msg
    with pytest.raises(dip.DataUnavailable, match="damaged or replaced"):   # never swapped for another image
        dip.load_image("snail")


def test_missing_file_in_the_mirror_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DIP_DATA_DIR", str(tmp_path))
    with pytest.raises(dip.DataUnavailable) as e:
        dip.fetch("Set5/baby.png")
    msg = str(e.value)
    assert "Set5/baby.png" in msg and "DIP_DATA_DIR" in msg and str(tmp_path) in msg
    assert f"python -m dip_lib data fetch Set5/baby.png --to {tmp_path}" in msg
    with pytest.raises(dip.DataUnavailable):      # load_image goes through fetch
        dip.load_image("F16")


def test_good_copy_in_a_temporary_mirror_is_used(tmp_path, monkeypatch):
    dst = _one_file_mirror(tmp_path)
    monkeypatch.setenv("DIP_DATA_DIR", str(tmp_path))
    assert dip.fetch("snail") == dst


def test_offline_download_names_the_mirror_variable(tmp_path, monkeypatch):
    calls = []

    def offline(url, **kw):
        calls.append((url, kw))
        raise ConnectionError("network is unreachable")

    msg = _fetch_error(monkeypatch, tmp_path, offline, "F16")
    assert "paper/denoising/F16_GT.png" in msg and "DIP_DATA_DIR" in msg and "ConnectionError" in msg
    assert "offline?" in msg and "`python -m dip_lib data fetch F16`" in msg
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


# --- fetch: the cache, and messages that say what to do ---------------------------------------------

def test_unwritable_cache_is_reported_as_such_not_as_offline(tmp_path, monkeypatch):
    import pooch
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.delenv("DIP_DATA_DIR", raising=False)
    monkeypatch.setenv("DIP_CACHE_DIR", str(blocker / "cache"))     # cannot be created, even as root
    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: pytest.fail("must not try to download"))
    with pytest.raises(dip.DataUnavailable) as e:
        dip.fetch("F16")
    msg = str(e.value)
    assert "not writable" in msg and "DIP_CACHE_DIR" in msg and str(blocker / "cache") in msg
    assert "offline" not in msg.lower()


def test_a_valid_file_in_a_read_only_cache_is_used_without_pooch(tmp_path, monkeypatch):
    import pooch
    src = _one_file_mirror(tmp_path / "m")
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(src, cache / SMALL.replace("/", "__"))
    monkeypatch.delenv("DIP_DATA_DIR", raising=False)
    monkeypatch.setenv("DIP_CACHE_DIR", str(cache))
    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: pytest.fail("the cached copy is valid"))
    assert dip.fetch("snail") == cache / SMALL.replace("/", "__")


def test_http_error_is_not_called_offline(tmp_path, monkeypatch):
    import requests

    def refused(url, **kw):
        raise requests.HTTPError("404 Client Error: Not Found")

    msg = _fetch_error(monkeypatch, tmp_path, refused, "zebra")
    assert "404" in msg and "offline" not in msg.lower() and "python -m dip_lib data fetch zebra" in msg


def test_unknown_names_suggest_the_closest():
    with pytest.raises(data.UnknownName) as e:
        dip.fetch("F17")
    assert isinstance(e.value, KeyError) and isinstance(e.value, ValueError)
    assert "did you mean 'F16'" in str(e.value) and str(e.value) == e.value.args[0]   # no KeyError quotes
    with pytest.raises(FileNotFoundError, match="did you mean 'Set5/baby.png'"):
        dip.load_image("Set5/babby.png")
    with pytest.raises(FileNotFoundError, match="did you mean 'F16'"):
        dip.load_image("f16")
    with pytest.raises(KeyError, match="did you mean 'Set14'"):
        dip.image_set("set14")
    assert data.close_names("zebra_crp")[0] == "zebra_crop"


def test_a_damaged_mirror_never_falls_back_to_another_image(tmp_path, monkeypatch):
    monkeypatch.setenv("DIP_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(dip.DataUnavailable) as e:
        dip.load_image("F16")
    assert "is not a folder" in str(e.value) and "python -m dip_lib data fetch F16" in str(e.value)


# --- decoding as a viewer shows the image ----------------------------------------------------------

def _oriented(path, fmt):
    """A 20x40 (HxW) image, left half white, stored with EXIF orientation 6 (rotate 90° clockwise to view)."""
    from PIL import Image
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(a).save(path, format=fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    return path


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_is_applied(tmp_path, fmt):
    t = dip.load_image(_oriented(tmp_path / f"rot.{fmt.lower()}", fmt))
    assert t.shape == (1, 3, 40, 20)                     # upright: tall, not wide
    # rotating 90° clockwise puts the stored left half (white) on top
    assert t[0, :, :15].mean() > 0.95 and t[0, :, 25:].mean() < 0.05
    # the size is taken from the upright image: longer side 20 -> 20x10
    assert dip.load_image(tmp_path / f"rot.{fmt.lower()}", size=20).shape == (1, 3, 20, 10)


def _gradient(h, w):
    """An 8-bit RGB image whose channels ramp linearly: x, y and (x + y) / 2."""
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    a = np.empty((h, w, 3), np.uint8)
    a[..., 0], a[..., 1], a[..., 2] = x, y, (x + y) / 2
    return a


def _ramp_at(h, w, th, tw):
    """What _gradient(h, w) resized to th x tw is at each pixel centre (a resampling filter keeps a ramp)."""
    x = ((np.arange(tw) + 0.5) * w / tw - 0.5) / (w - 1)
    y = ((np.arange(th) + 0.5) * h / th - 0.5) / (h - 1)
    xx, yy = np.broadcast_to(x[None], (th, tw)), np.broadcast_to(y[:, None], (th, tw))
    return torch.from_numpy(np.stack([xx, yy, (xx + yy) / 2]).astype(np.float32))[None]


def test_large_png_is_shrunk_in_pil_before_floats(tmp_path):
    import tracemalloc
    from PIL import Image
    path = tmp_path / "large.png"
    Image.fromarray(_gradient(2000, 2600)).save(path, compress_level=1)   # 5.2 MP > _SHRINK_IN_PIL_ABOVE
    tracemalloc.start()
    t = dip.load_image(path, size=64, multiple=32, verbose=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert t.shape == (1, 3, 64, 64)          # 49x64 would be too small: 64x83, cropped to 64x64
    # a float copy of the full image alone would be 2000*2600*3*4 = 62 MB; the box-reduced one is ~0.6 MB
    assert peak < 8e6, f"peak {peak / 1e6:.1f} MB"
    t = dip.load_image(path, size=64, verbose=False)
    assert t.shape == (1, 3, 49, 64)
    assert torch.allclose(t[..., 2:-2, 2:-2], _ramp_at(2000, 2600, 49, 64)[..., 2:-2, 2:-2], atol=0.01)


def test_large_jpeg_is_decoded_at_a_reduced_scale(tmp_path, monkeypatch):
    from PIL import Image, JpegImagePlugin
    path = tmp_path / "large.jpg"
    Image.fromarray(_gradient(2100, 2800)).save(path, quality=95)
    decoded = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        out = draft(self, mode, size)
        decoded.append(self.size)
        return out
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    t = dip.load_image(path, size=96, verbose=False)
    assert decoded == [(350, 263)]                      # DCT-scaled by 1/8, >= 3x the 96x72 target
    assert t.shape == (1, 3, 72, 96)
    assert torch.allclose(t[..., 2:-2, 2:-2], _ramp_at(2100, 2800, 72, 96)[..., 2:-2, 2:-2], atol=0.03)


def test_non_square_images_keep_both_sides_for_the_network(capsys):
    # coffee is 400x600: longer side 64 would give 43x64 -> cropped to 32x64, which no 5-scale network takes
    t = dip.load_image("coffee", size=64, multiple=32)
    assert t.shape == (1, 3, 64, 96)
    assert "400x600 -> 64x96" in capsys.readouterr().out
    tall = np.zeros((600, 400), np.uint8)
    assert dip.load_image(tall, size=64, multiple=32, verbose=False).shape == (1, 3, 96, 64)
    assert dip.load_image(tall, size=200, multiple=64, verbose=False).shape == (1, 3, 192, 128)  # 2 x 64
    assert dip.load_image(tall, size=64, multiple=32, min_side=32, verbose=False).shape == (1, 3, 64, 32)
    # a mask loaded with the same size/multiple lines up with its image
    m = dip.load_mask(np.full((400, 600), 255, np.uint8), size=64, multiple=32)
    assert m.shape == (1, 1, 64, 96)
    # the network really accepts the result in the test preset
    net, _ = dip.build_for(dip.denoising(t), dip.preset("denoising", "test"))
    assert net is not None


def test_size_caps_and_upscaling_are_refused():
    with pytest.raises(ValueError, match=f"cap of {data.MAX_SIZE}"):
        dip.load_image("camera", size=100000)
    with pytest.raises(ValueError, match="blow it up 64x"):
        dip.load_image(np.zeros((1, 1), np.uint8), size=64)
    with pytest.raises(ValueError, match="less elongated"):
        dip.load_image(np.zeros((10, 3000), np.uint8), size=64, multiple=32)
    with pytest.raises(TypeError, match="whole number"):
        dip.load_image("camera", size=2.5)
