"""Every application verb of the command line, in the `test` preset on small images: the result's
size, the PSNR printed against a reference (and that it is the PSNR of the file written), masks in
both conventions, a folder run. Fits are 5-20 steps on 64 px images: seconds each."""
import re

import numpy as np
import pytest
from PIL import Image

import dip_lib as dip
from dip_lib.cli import main

FAST = ["--preset", "test", "--steps", "20", "--size", "64"]


@pytest.fixture(scope="module")
def imgs(tmp_path_factory):
    """Small test images made from scikit-image's astronaut (offline): clean 64x64 and 96x64,
    a 16x16 and a 24x16 low-resolution version, a JPEG, a blurred image, a flash pair, a mask."""
    import skimage.data
    d = tmp_path_factory.mktemp("cli_apps")
    astro = Image.fromarray(skimage.data.astronaut())
    paths = {}

    def save(name, im, **kw):
        paths[name] = d / name
        im.save(paths[name], **kw)

    save("clean.png", astro.resize((64, 64), Image.LANCZOS))
    save("wide.png", astro.resize((96, 64), Image.LANCZOS))       # 96 wide, 64 high
    save("low.png", astro.resize((16, 16), Image.LANCZOS))
    save("low_wide.png", astro.resize((24, 16), Image.LANCZOS))
    save("low8.png", astro.resize((8, 8), Image.LANCZOS))
    save("hr.png", astro.resize((64, 64), Image.LANCZOS))
    save("compressed.jpg", astro.resize((64, 64), Image.LANCZOS), quality=10)
    clean = dip.load_image(paths["clean.png"])
    dip.save_image(dip.deblurring(clean, "gaussian:1.5", sigma=0).observation, d / "blurred.png")
    paths["blurred.png"] = d / "blurred.png"
    flash = Image.fromarray(skimage.data.chelsea()).resize((64, 64), Image.LANCZOS)
    save("flash.png", flash)
    noisy = np.clip(np.asarray(flash, dtype=np.float32) * 0.6 + np.random.default_rng(0).normal(0, 12, (64, 64, 3)),
                    0, 255).astype(np.uint8)
    save("noflash.png", Image.fromarray(noisy))
    m = np.full((64, 64), 255, np.uint8)
    m[20:44, 16:40] = 0                              # white = known, a black hole
    save("mask.png", Image.fromarray(m))
    save("mask_inverted.png", Image.fromarray(255 - m))
    return paths


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _size(path):
    with Image.open(path) as im:
        return im.size


def _printed_psnr(text):
    m = re.search(r"restored in [\d.]+s \((\d+) steps on cpu[^)]*\): PSNR ([\d.]+) dB", text)
    assert m, text
    return int(m.group(1)), float(m.group(2))


def test_denoise_with_a_reference_prints_the_psnr_of_the_file_it_wrote(imgs, tmp_path, capsys):
    noisy = tmp_path / "noisy.png"
    clean = dip.load_image(imgs["clean.png"])
    dip.save_image(dip.denoising(clean, sigma=25, seed=3).observation, noisy)
    out = tmp_path / "out.png"
    code, text, err = _run(capsys, "denoise", noisy, "--clean", imgs["clean.png"], "-o", out, *FAST)
    assert code == 0, err
    assert "noisy input: PSNR" in text and f"wrote {out}" in text and "preset 'test' for denoising" in text
    steps, printed = _printed_psnr(text)
    assert steps == 20 and _size(out) == (64, 64)
    # the number printed is the PSNR of the saved image (8-bit rounding: within 0.1 dB)
    assert abs(dip.psnr(dip.load_image(out), clean) - printed) < 0.1


def test_sr_writes_a_factor_times_larger_image_and_scores_it_against_the_hr(imgs, tmp_path, capsys):
    out = tmp_path / "sr.png"
    code, text, err = _run(capsys, "sr", imgs["low.png"], "--factor", "4", "--clean", imgs["hr.png"], "-o", out,
                           "--preset", "test", "--steps", "20")
    assert code == 0, err
    assert _size(out) == (64, 64)                         # 4 x 16
    assert "bicubic x4: PSNR" in text
    _, printed = _printed_psnr(text)
    assert abs(dip.psnr_sr(dip.load_image(out), dip.load_image(imgs["hr.png"]), factor=4) - printed) < 0.1


@pytest.mark.parametrize("low, factor, size", [("low_wide.png", 4, (96, 64)), ("low8.png", 8, (64, 64))])
def test_sr_keeps_the_aspect_and_honours_the_factor(imgs, tmp_path, capsys, low, factor, size):
    out = tmp_path / "sr.png"
    code, text, err = _run(capsys, "sr", imgs[low], "--factor", factor, "-o", out, "--preset", "test",
                           "--steps", "5")
    assert code == 0, err
    assert _size(out) == size and "PSNR" not in text        # no reference: no PSNR claimed


def test_inpaint_accepts_both_mask_conventions_with_the_same_result(imgs, tmp_path, capsys):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    code, text, err = _run(capsys, "inpaint", imgs["clean.png"], "--mask", imgs["mask.png"], "-o", a, *FAST)
    assert code == 0, err
    assert "known pixels: 86%" in text                   # 1 - 24*24/64² = 85.9 %
    code, _, err = _run(capsys, "inpaint", imgs["clean.png"], "--mask", imgs["mask_inverted.png"],
                        "--mask-white", "hole", "-o", b, *FAST)
    assert code == 0, err
    assert _size(a) == (64, 64)
    assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))   # deterministic on CPU


def test_jpeg_with_a_reference(imgs, tmp_path, capsys):
    out = tmp_path / "j.png"
    code, text, err = _run(capsys, "jpeg", imgs["compressed.jpg"], "--clean", imgs["clean.png"], "-o", out, *FAST)
    assert code == 0, err
    assert "JPEG input: PSNR" in text and _size(out) == (64, 64)
    _printed_psnr(text)


@pytest.mark.parametrize("kernel", ["gaussian:1.5", "motion:5,30"])
def test_deblur_keeps_the_size(imgs, tmp_path, capsys, kernel):
    out = tmp_path / "d.png"
    code, text, err = _run(capsys, "deblur", imgs["blurred.png"], "--kernel", kernel, "--clean", imgs["clean.png"],
                           "-o", out, "--preset", "test", "--steps", "10", "--size", "64")
    assert code == 0, err
    assert "blurred input: PSNR" in text and _size(out) == (64, 64)


def test_flash_no_flash_on_a_non_square_pair(imgs, tmp_path, capsys):
    f, n = tmp_path / "f.png", tmp_path / "n.png"
    Image.open(imgs["flash.png"]).resize((96, 64)).save(f)
    Image.open(imgs["noflash.png"]).resize((96, 64)).save(n)
    out = tmp_path / "fl.png"
    code, text, err = _run(capsys, "flash", f, n, "-o", out, *FAST)
    assert code == 0, err
    assert _size(out) == (96, 64) and "restored in" in text and f"wrote {out}" in text


def test_enhance_with_boost_zero_gives_back_the_input(imgs, tmp_path, capsys):
    out = tmp_path / "e.png"
    code, text, err = _run(capsys, "enhance", imgs["wide.png"], "--boost", "0", "-o", out, "--preset", "test",
                           "--steps", "5", "--size", "96")
    assert code == 0, err
    assert "coarse layer x_c" in text and _size(out) == (96, 64)
    # x_e = x0 + k (x0 - x_c) with k = 0 is x0 itself
    assert np.abs(np.asarray(Image.open(out), np.int16) - np.asarray(Image.open(imgs["wide.png"]), np.int16)).max() <= 1


def test_enhance_boost_adds_detail(imgs, tmp_path, capsys):
    out = tmp_path / "e.png"
    code, _, err = _run(capsys, "enhance", imgs["clean.png"], "--boost", "1", "-o", out, *FAST)
    assert code == 0, err
    from dip_lib.experiments.enhance import high_frequency_energy
    assert high_frequency_energy(dip.load_image(out)) > high_frequency_energy(dip.load_image(imgs["clean.png"]))


def test_a_folder_writes_one_file_per_image_and_a_summary(imgs, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("clean.png", "wide.png"):
        (src / name).write_bytes(imgs[name].read_bytes())
    (src / "notes.txt").write_text("not an image")
    dst = tmp_path / "out"
    code, text, err = _run(capsys, "denoise", src, "-o", dst, "--preset", "test", "--steps", "5", "--size", "96")
    assert code == 0, err
    assert sorted(p.name for p in dst.iterdir()) == ["clean.png", "wide.png"]
    assert _size(dst / "wide.png") == (96, 64) and _size(dst / "clean.png") == (64, 64)
    lines = [ln for ln in text.splitlines() if " -> " in ln]
    assert len(lines) == 2 and all("PSNR" in ln for ln in lines)
    assert "restored 2 of 2 images" in text and "mean PSNR" in text
    # a second run refuses to overwrite, before fitting anything
    code, text, err = _run(capsys, "denoise", src, "-o", dst, "--preset", "test", "--steps", "5")
    assert code == 2 and "pass --force" in err and "restored" not in text


def test_a_folder_of_images_with_a_folder_of_masks(imgs, tmp_path, capsys):
    src, masks, dst = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    src.mkdir(), masks.mkdir()
    (src / "x.png").write_bytes(imgs["clean.png"].read_bytes())
    (masks / "x.png").write_bytes(imgs["mask.png"].read_bytes())
    (src / "y.png").write_bytes(imgs["clean.png"].read_bytes())       # no mask named y: reported, not fatal
    code, text, err = _run(capsys, "inpaint", src, "--mask", masks, "-o", dst, "--preset", "test", "--steps", "5",
                           "--size", "64")
    assert code == 2                                   # one image failed
    assert "error: y.png: no mask named y.*" in err
    assert [p.name for p in dst.iterdir()] == ["x.png"] and "restored 1 of 2 images" in text


def test_deblur_scales_the_kernel_with_the_image(imgs, tmp_path, capsys):
    """The kernel is in the pixels of the image as given: halving the image halves σ."""
    big = tmp_path / "big.png"
    Image.open(imgs["blurred.png"]).resize((128, 128), Image.LANCZOS).save(big)
    out = tmp_path / "d.png"
    code, text, err = _run(capsys, "deblur", big, "--kernel", "gaussian:3", "-o", out, "--preset", "test",
                           "--steps", "5", "--size", "64")
    assert code == 0, err
    assert "the kernel gaussian:3 becomes gaussian:1.5" in text and _size(out) == (64, 64)


def test_jpeg_and_sr_use_the_image_as_given(imgs, tmp_path, capsys):
    """The preset's size (64 here) does not shrink a JPEG (it would blur its blocks) or a low-res input."""
    jpg = tmp_path / "big.jpg"
    Image.open(imgs["wide.png"]).resize((192, 128)).save(jpg, quality=10)
    out = tmp_path / "j.png"
    code, _, err = _run(capsys, "jpeg", jpg, "-o", out, "--preset", "test", "--steps", "3", "--no-early-stop")
    assert code == 0, err
    assert _size(out) == (192, 128)
