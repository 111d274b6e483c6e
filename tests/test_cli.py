"""The command line: the headless denoising job and its error messages."""
import subprocess
import sys

import pytest

from dip_lib.__main__ import main


def test_denoise_job_writes_the_image_and_prints_psnr(tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["denoise", "camera", "--preset", "test", "--steps", "30", "--size", "64", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "noisy input: PSNR" in text and "restored in" in text and "PSNR" in text.split("restored in")[1]
    from PIL import Image
    assert Image.open(out).size == (64, 64)


def test_denoise_job_reports_a_missing_file_clearly(tmp_path):
    with pytest.raises(SystemExit, match="neither a file, a URL, a registry name"):
        main(["denoise", str(tmp_path / "missing.png"), "--preset", "test"])


def test_unknown_command_and_help():
    assert main(["frobnicate"]) == 2
    assert main([]) == 0


def test_module_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "dip_lib", "info"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "preset:" in r.stdout


def test_gallery_index_lists_every_figure(tmp_path, capsys):
    from PIL import Image
    for name in ("03_denoising", "05_super_resolution"):
        Image.new("RGB", (4, 4)).save(tmp_path / f"{name}.png")
    assert main(["gallery", "--index-only", "--out", str(tmp_path)]) == 0
    index = (tmp_path / "README.md").read_text()
    assert "![03_denoising](03_denoising.png)" in index and "![05_super_resolution](05_super_resolution.png)" in index
