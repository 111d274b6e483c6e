"""The command line: the headless denoising job, `info`, and its error messages."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dip_lib.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, **env):
    return subprocess.run([sys.executable, "-m", "dip_lib", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, **env})


def test_denoise_job_writes_the_image_and_prints_psnr(tmp_path, capsys):
    out = tmp_path / "out.png"
    assert not out.exists()
    assert main(["denoise", "camera", "--preset", "test", "--steps", "30", "--size", "64", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "noisy input: PSNR" in text and "restored in" in text and "PSNR" in text.split("restored in")[1]
    assert "(30 steps on cpu)" in text and f"wrote {out}" in text
    from PIL import Image
    im = Image.open(out)
    assert im.size == (64, 64) and im.mode == "RGB"


def test_denoise_job_reports_a_missing_file_clearly(tmp_path):
    with pytest.raises(SystemExit, match="neither a file, a URL, a registry name"):
        main(["denoise", str(tmp_path / "missing.png"), "--preset", "test"])


@pytest.mark.parametrize("device, why", [("tpu", "is not a device"), ("cuda:7", "no such device")])
def test_a_bad_device_is_one_line_not_a_traceback(tmp_path, device, why):
    out = tmp_path / "out.png"
    with pytest.raises(SystemExit) as e:
        main(["denoise", "camera", "--preset", "test", "--device", device, "-o", str(out)])
    msg = str(e.value.code)
    assert msg.startswith("error: ") and "\n" not in msg
    assert repr(device) in msg and why in msg
    assert not out.exists()                      # it failed before fitting anything


def test_a_bad_device_from_the_shell_exits_nonzero_without_a_traceback():
    r = _run("denoise", "camera", "--preset", "test", "--device", "tpu")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "error: device='tpu' is not a device: use cpu, cuda, cuda:N or mps"


def test_unknown_command_and_help(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
    assert main([]) == 0
    assert "python -m dip_lib denoise" in capsys.readouterr().out


def test_info_in_process(capsys, monkeypatch):
    monkeypatch.setenv("DIP_PRESET", "cpu")
    monkeypatch.setenv("DIP_DEVICE", "cpu")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "device: cpu  preset: cpu" in out and "dip_lib 0." in out
    monkeypatch.setenv("DIP_DEVICE", "tpu")
    with pytest.raises(SystemExit, match="DIP_DEVICE='tpu' is not a device"):
        main(["info"])


def test_module_entry_point_runs_info():
    r = _run("info", DIP_PRESET="test", DIP_DEVICE="cpu")
    assert r.returncode == 0, r.stderr
    assert "device: cpu  preset: test" in r.stdout and "DIP_DATA_DIR" in r.stdout
