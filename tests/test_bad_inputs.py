"""The catalogue of bad inputs and faults at the Python API (issue 14): one row per case.

Each row is a call and what must come of it: either an exception of the expected type whose
one-line message contains a phrase that says what is wrong or what to do, or (``OK``) a correct
result checked against a known answer (16-bit PNGs scaled by their range, EXIF orientation applied,
a large PNG shrunk before it becomes floats, non-square images that every preset's network takes).
Add a row for every bug found. The command line half is tests/test_bad_inputs_cli.py.

No row needs the data mirror or the network: registry faults use a temporary mirror or cache
and a pooch that cannot connect.
"""
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch

import dip_lib as dip
from dip_lib.core import data

OK = "ok"       # the row's call must succeed and its check must hold


# --- files a hostile but realistic user hands in ------------------------------------------------------

def png_bytes(a: np.ndarray, bitdepth: int = 16, size: tuple[int, int] | None = None) -> bytes:
    """A PNG of ``a`` (HxW grey or HxWx3 RGB) at ``bitdepth`` bits, written by hand: Pillow cannot
    write 48-bit RGB. ``size`` (W, H) overrides the header only (a header-only "huge" image)."""
    a3 = a if a.ndim == 3 else a[..., None]
    h, w, c = a3.shape
    colour = {1: 0, 3: 2}[c]
    raw = b"".join(b"\x00" + a3[i].astype(">u2" if bitdepth == 16 else "u1").tobytes() for i in range(h))
    W, H = size or (w, h)

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, bitdepth, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


RAMP16 = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)     # mean 0.5 of the 16-bit range


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from PIL import Image
    d = tmp_path_factory.mktemp("bad_inputs")
    (d / "folder").mkdir()
    (d / "empty.png").write_bytes(b"")
    (d / "text.png").write_text("hello, I am not a picture\n")
    good = d / "good.png"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(good)
    (d / "truncated.png").write_bytes(good.read_bytes()[:60])
    (d / "grey16.png").write_bytes(png_bytes(RAMP16))
    (d / "rgb48.png").write_bytes(png_bytes(np.stack([RAMP16, RAMP16 // 2, 65535 - RAMP16], -1)))
    (d / "huge_header.png").write_bytes(png_bytes(np.zeros((1, 1), np.uint16), size=(11000, 10000)))   # 110 MP
    (d / "bomb_header.png").write_bytes(png_bytes(np.zeros((1, 1), np.uint16), size=(20000, 20000)))   # 400 MP
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(d / "black_mask.png")
    stored = np.zeros((20, 40, 3), np.uint8)          # wide as stored; left half white
    stored[:, :20] = 255
    exif = Image.Exif()
    exif[0x0112] = 6                                   # "rotate 90° clockwise to view": upright it is tall
    Image.fromarray(stored).save(d / "rotated.jpg", exif=exif.tobytes(), quality=95)
    Image.fromarray(stored).save(d / "rotated.png", exif=exif.tobytes())
    x = np.linspace(0, 255, 2600, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, 2000, dtype=np.float32)[:, None]
    large = np.empty((2000, 2600, 3), np.uint8)
    large[..., 0], large[..., 1], large[..., 2] = x, y, (x + y) / 2
    Image.fromarray(large).save(d / "large.png", compress_level=1)      # 5.2 MP
    return d


@dataclass
class Ctx:
    files: Path
    tmp: Path
    monkeypatch: Any

    def f(self, name):
        return self.files / name

    def mirror(self, **content) -> Path:
        """A temporary DIP_DATA_DIR holding ``content`` (registry path -> bytes)."""
        root = self.tmp / "mirror"
        root.mkdir(exist_ok=True)
        for key, raw in content.items():
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            (root / key).write_bytes(raw)
        self.monkeypatch.setenv("DIP_DATA_DIR", str(root))
        return root

    def offline(self):
        import pooch

        def no_network(url, **kw):
            raise ConnectionError("[Errno -3] Temporary failure in name resolution")
        self.monkeypatch.delenv("DIP_DATA_DIR", raising=False)
        self.monkeypatch.setenv("DIP_CACHE_DIR", str(self.tmp / "cache"))
        self.monkeypatch.setattr(pooch, "retrieve", no_network)

    def unwritable_cache(self):
        blocker = self.tmp / "a_file"
        blocker.write_text("x")
        self.monkeypatch.delenv("DIP_DATA_DIR", raising=False)
        self.monkeypatch.setenv("DIP_CACHE_DIR", str(blocker / "cache"))   # cannot exist, even for root

    def env(self, **values):
        for k, v in values.items():
            self.monkeypatch.setenv(k, v)


def _img(seed=0, side=64):
    return torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(seed))


def _mask(side=64):
    m = torch.ones(1, 1, side, side)
    m[..., ::3, :] = 0
    return m


def _peak_bytes(call):
    import tracemalloc
    tracemalloc.start()
    try:
        out = call()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _fits_the_network(t, application="denoising"):
    """The test preset's network for ``application`` accepts ``t`` (build_for checks the sizes)."""
    dip.build_for(dip.denoising(t), dip.preset(application, "test"))
    return True


@dataclass
class Case:
    id: str
    call: Callable[[Ctx], Any]
    expect: Any                 # an exception type, or OK
    check: Any                  # the phrase the message must contain, or (for OK) a predicate on the result
    absent: str | None = None   # a phrase the message must NOT contain (wrong advice)
    marks: tuple = ()


CASES = [
    # --- image sources: files and names (issue 14, item 3) ----------------------------------------------
    Case("path is a folder", lambda c: dip.load_image(c.f("folder")), ValueError, "is a folder, not an image"),
    Case("empty string as path", lambda c: dip.load_image(""), ValueError, "the image path is empty"),
    Case("empty file", lambda c: dip.load_image(c.f("empty.png")), ValueError, "empty file (0 bytes)"),
    Case("text file named .png", lambda c: dip.load_image(c.f("text.png")), ValueError,
         "not an image file Pillow can read"),
    Case("truncated PNG", lambda c: dip.load_image(c.f("truncated.png")), ValueError, "truncated or corrupt"),
    Case("missing file", lambda c: dip.load_image(c.f("photo.png")), FileNotFoundError, "no such file"),
    Case("misspelt registry name", lambda c: dip.load_image("F17"), FileNotFoundError, "did you mean 'F16'"),
    Case("registry name in the wrong case", lambda c: dip.load_image("f16"), FileNotFoundError,
         "did you mean 'F16'"),
    Case("fetch of an unknown name", lambda c: dip.fetch("zebra_crp"), ValueError, "did you mean 'zebra_crop'"),
    Case("unknown image set", lambda c: dip.image_set("set14"), ValueError, "did you mean 'Set14'"),
    Case("not an image at all", lambda c: dip.load_image(42), TypeError, "cannot load an image from int"),
    Case("array of strings", lambda c: dip.load_image(np.array([["a"]])), TypeError, "uint8, uint16 or float"),
    Case("image above the megapixel cap", lambda c: dip.load_image(c.f("huge_header.png")), ValueError,
         f"above the cap of {data.MAX_MEGAPIXELS} MP"),
    Case("decompression bomb", lambda c: dip.load_image(c.f("bomb_header.png")), ValueError,
         f"above {data.MAX_MEGAPIXELS} megapixels"),
    Case("size above the cap", lambda c: dip.load_image("camera", size=100000), ValueError,
         f"cap of {data.MAX_SIZE} px per side"),
    Case("size 0", lambda c: dip.load_image("camera", size=0), ValueError, "size must be at least 1"),
    Case("size 2.5", lambda c: dip.load_image("camera", size=2.5), TypeError, "whole number of pixels"),
    Case("size with three sides", lambda c: dip.load_image("camera", size=(1, 2, 3)), ValueError,
         "(height, width)"),
    Case("1x1 image blown up to 64 px", lambda c: dip.load_image(np.zeros((1, 1), np.uint8), size=64),
         ValueError, "invent the image"),
    Case("strip too thin for the network", lambda c: dip.load_image(np.zeros((10, 3000), np.uint8), size=64,
                                                                      multiple=32), ValueError, "less elongated"),
    Case("image smaller than the stride", lambda c: dip.load_image(np.zeros((20, 20), np.uint8), multiple=32),
         ValueError, "smaller than 32"),
    Case("float array in 0-255", lambda c: dip.load_image(np.full((8, 8), 200.0)), ValueError, "divide by 255"),
    Case("float array with NaN", lambda c: dip.load_image(np.full((8, 8), np.nan)), ValueError, "NaN"),
    Case("tensor in 0-255 to load_image", lambda c: dip.load_image(_img() * 255), ValueError, "divide by 255"),
    Case("batch of images", lambda c: dip.load_image(torch.rand(2, 3, 8, 8)), ValueError, "batch of 2"),
    Case("channels=2", lambda c: dip.load_image("camera", channels=2), ValueError, "channels must be 1, 3 or None"),
    Case("all-black mask file", lambda c: dip.load_mask(c.f("black_mask.png")), ValueError,
         "no known pixel", None),
    # --- the data registry: mirror, cache, network ---------------------------------------------------------
    Case("tampered mirror file", lambda c: (c.mirror(**{"paper/denoising/F16_GT.png": b"tampered"}),
                                            dip.load_image("F16")), dip.DataUnavailable,
         "sha256", "coffee"),
    Case("tampered mirror file says how to re-fetch",
         lambda c: (c.mirror(**{"paper/denoising/F16_GT.png": b"tampered"}), dip.fetch("F16")),
         dip.DataUnavailable, "python -m dip_lib data fetch paper/denoising/F16_GT.png --to"),
    Case("file missing from the mirror", lambda c: (c.mirror(), dip.load_image("Set5/baby.png")),
         dip.DataUnavailable, "python -m dip_lib data fetch Set5/baby.png --to"),
    Case("mirror folder does not exist", lambda c: (c.env(DIP_DATA_DIR=str(c.tmp / "nowhere")),
                                                    dip.fetch("kate")), dip.DataUnavailable, "is not a folder"),
    Case("offline without a mirror", lambda c: (c.offline(), dip.load_image("F16")), dip.DataUnavailable,
         "offline? run `python -m dip_lib data fetch F16`"),
    Case("unwritable DIP_CACHE_DIR", lambda c: (c.unwritable_cache(), dip.fetch("F16")), dip.DataUnavailable,
         "is not writable", "offline"),
    # --- problems: images, masks, noise (item 4) -------------------------------------------------------------
    Case("tensor in 0-255", lambda c: dip.denoising(_img() * 255), ValueError, "divide by 255"),
    Case("negative tensor", lambda c: dip.denoising(_img() - 0.5), ValueError, "values in [0, 1]"),
    Case("NaN tensor", lambda c: dip.denoising(_img() * float("nan")), ValueError, "NaN or infinite"),
    Case("numpy array instead of a tensor", lambda c: dip.denoising(_img().numpy()), ValueError,
         "use dip.load_image"),
    Case("3-D tensor", lambda c: dip.denoising(_img()[0]), ValueError, "one image 1xCxHxW"),
    Case("0-255 mask", lambda c: dip.inpainting(_img(), _mask() * 255), ValueError, "0 (missing) and 1 (known)"),
    Case("all-zero mask", lambda c: dip.inpainting(_img(), _mask() * 0), ValueError, "no known pixel"),
    Case("non-binary mask", lambda c: dip.inpainting(_img(), _mask() * 0.5), ValueError,
         "0 (missing) and 1 (known)"),
    Case("mask of another size", lambda c: dip.inpainting(_img(), _mask(32)), ValueError, "same size/crop"),
    Case("sigma 0", lambda c: dip.denoising(_img(), sigma=0), ValueError, "(0, 255]"),
    Case("sigma -5", lambda c: dip.denoising(_img(), sigma=-5), ValueError, "(0, 255]", "learning rate"),
    Case("sigma 300", lambda c: dip.denoising(_img(), sigma=300), ValueError, "(0, 255]"),
    Case("sigma NaN", lambda c: dip.denoising(_img(), sigma=float("nan")), ValueError, "(0, 255]"),
    Case("sigma as text", lambda c: dip.denoising(_img(), sigma="25"), ValueError, "give a number in (0, 255]"),
    Case("deblurring noise sigma -1", lambda c: dip.deblurring(_img(), sigma=-1), ValueError, "(0, 255]"),
    Case("unknown blur kernel", lambda c: dip.deblurring(_img(), kernel="box:3"), ValueError, "gaussian:SIGMA"),
    Case("JPEG quality 0", lambda c: dip.jpeg_artifacts(_img(), quality=0), ValueError, "between 1 and 100"),
    Case("flash and no-flash of different sizes", lambda c: dip.flash_no_flash(_img(), _img(1, 32)),
         ValueError, "same shape"),
    # --- settings: steps, sizes, names (item 4) ---------------------------------------------------------------
    Case("steps 0", lambda c: dip.preset("denoising", steps=0), ValueError, "positive whole number"),
    Case("steps 2.5", lambda c: dip.preset("denoising", steps=2.5), ValueError, "positive whole number"),
    Case("steps 1e10", lambda c: dip.preset("denoising", steps=10 ** 10), ValueError, "cap of 100,000"),
    Case("misspelt setting", lambda c: dip.preset("denoising", stpes=5), dip.UnknownSetting,
         "did you mean 'steps'"),
    Case("misspelt setting in solve", lambda c: dip.solve(dip.denoising(_img()), dip.preset("denoising"),
                                                           sigmap=0.1), TypeError, "did you mean 'sigma_p'"),
    Case("misspelt preset", lambda c: dip.preset("denoising", "tset"), ValueError, "use one of test, cpu, paper"),
    Case("misspelt application", lambda c: dip.preset("denoise"), ValueError, "did you mean 'denoising'"),
    Case("DIP_PRESET=bogus", lambda c: (c.env(DIP_PRESET="bogus"), dip.preset("denoising")), ValueError,
         "DIP_PRESET='bogus' is not a preset"),
    Case("size 100000 in the settings", lambda c: dip.preset("denoising", size=100000), ValueError,
         "from 1 to 4096"),
    Case("lr NaN", lambda c: dip.preset("denoising", lr=float("nan")), ValueError,
         "lr must be positive and finite"),
    Case("image too small for the network", lambda c: dip.build_for(dip.denoising(_img(side=16)),
                                                                     dip.preset("denoising", "test")),
         ValueError, "needs at least 64x64"),
    # --- devices ---------------------------------------------------------------------------------------------
    Case("device 'bogus'", lambda c: dip.resolve_device("bogus"), ValueError, "use cpu, cuda, cuda:N or mps"),
    Case("device 'tpu'", lambda c: dip.resolve_device("tpu"), ValueError, "use cpu, cuda, cuda:N or mps"),
    Case("DIP_DEVICE=bogus", lambda c: (c.env(DIP_DEVICE="bogus"), dip.default_device()), ValueError,
         "DIP_DEVICE='bogus'"),
    Case("cuda without CUDA", lambda c: dip.resolve_device("cuda"), ValueError, "no such device: use cpu",
         marks=(pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"),)),
    Case("solve on device 'tpu'", lambda c: dip.solve(dip.denoising(_img()), dip.preset("denoising"),
                                                       device="tpu"), ValueError, "is not a device"),
    # --- correct results: images decode as the user sees them (item 3) -----------------------------------------
    Case("16-bit grey PNG is scaled by its range", lambda c: dip.load_image(c.f("grey16.png")).mean().item(),
         OK, lambda m: abs(m - 0.5) < 0.005),                 # convert('RGB') gave 0.998
    Case("16-bit grey PNG keeps its precision", lambda c: dip.load_image(c.f("grey16.png"), channels=1),
         OK, lambda t: torch.allclose(t[0, 0], torch.from_numpy(RAMP16 / 65535).float(), atol=1e-6)),
    Case("48-bit RGB PNG keeps each channel's level",
         lambda c: dip.load_image(c.f("rgb48.png")).mean(dim=(0, 2, 3)).tolist(),
         OK, lambda m: np.allclose(m, [0.5, 0.25, 0.5], atol=0.01)),
    Case("16-bit PNG resized to 32 px", lambda c: dip.load_image(c.f("grey16.png"), size=32), OK,
         lambda t: t.shape == (1, 3, 32, 32) and abs(t.mean().item() - 0.5) < 0.01),
    Case("EXIF-rotated JPEG comes out upright", lambda c: dip.load_image(c.f("rotated.jpg")), OK,
         lambda t: t.shape == (1, 3, 40, 20) and t[0, :, :15].mean() > 0.95 and t[0, :, 25:].mean() < 0.05),
    Case("EXIF-rotated PNG comes out upright", lambda c: dip.load_image(c.f("rotated.png")), OK,
         lambda t: t.shape == (1, 3, 40, 20) and t[0, :, :15].mean() > 0.95 and t[0, :, 25:].mean() < 0.05),
    Case("large PNG loads downscaled with little memory",
         lambda c: _peak_bytes(lambda: dip.load_image(c.f("large.png"), size=64, multiple=32)), OK,
         lambda r: r[0].shape == (1, 3, 64, 64) and r[1] < 8e6),      # floats of the full image: 62 MB
    Case("non-square image in the test preset", lambda c: dip.load_image("coffee", size=64, multiple=32), OK,
         lambda t: t.shape == (1, 3, 64, 96) and _fits_the_network(t)),
    Case("tall image and its mask line up",
         lambda c: (dip.load_image(np.zeros((600, 400), np.uint8), size=64, multiple=32),
                    dip.load_mask(np.full((600, 400), 255, np.uint8), size=64, multiple=32)), OK,
         lambda r: r[0].shape[-2:] == r[1].shape[-2:] == (96, 64)),
    Case("transparent PNG pixels become white", lambda c: dip.load_image(np.zeros((4, 4, 4), np.uint8)), OK,
         lambda t: torch.equal(t, torch.ones(1, 3, 4, 4))),
]


def _params():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return [pytest.param(c, id=c.id, marks=c.marks) for c in CASES]


@pytest.mark.parametrize("case", _params())
def test_catalogue(case, files, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIP_PRESET", "test")
    c = Ctx(files, tmp_path, monkeypatch)
    if case.expect is OK:
        result = case.call(c)
        assert case.check(result), f"{case.id}: wrong result {result!r:.200}"
        return
    with pytest.raises(case.expect) as e:
        case.call(c)
    msg = str(e.value)
    assert case.check in msg, f"{case.id}: {type(e.value).__name__}: {msg}"
    assert "\n" not in msg.strip(), f"{case.id}: the message is not one line: {msg}"
    assert msg == str(e.value.args[0]), f"{case.id}: printed as {msg}, not as its message (KeyError quotes?)"
    if case.absent:
        assert case.absent.lower() not in msg.lower(), f"{case.id}: wrong advice {case.absent!r} in: {msg}"


def test_the_catalogue_is_big_enough():
    errors = [c for c in CASES if c.expect is not OK]
    results = [c for c in CASES if c.expect is OK]
    assert len(CASES) >= 35 and len(results) >= 8, (len(errors), len(results))
