"""The command line: the headless denoising job, `info`, `data`, help, and the safe-output module.

The other application verbs are in test_cli_apps.py, the catalogue of bad inputs in
test_bad_inputs_cli.py."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import dip_lib as dip
from dip_lib.cli import VERBS, main
from dip_lib.core import outputs

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, **env):
    return subprocess.run([sys.executable, "-m", "dip_lib", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, **env})


def test_denoise_job_writes_the_image_and_prints_psnr(tmp_path, capsys):
    out = tmp_path / "out.png"
    assert not out.exists()
    assert main(["denoise", "camera", "--preset", "test", "--steps", "30", "--size", "64", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "preset 'test' for denoising" in text and "device: cpu" in text
    assert "noisy input: PSNR" in text and "restored in" in text and "PSNR" in text.split("restored in")[1]
    assert re.search(r"\(30 steps on cpu(, [^)]*)?\)", text) and f"wrote {out}" in text
    im = Image.open(out)
    assert im.size == (64, 64) and im.mode == "RGB"


def _spy_on_solve(tmp_path, monkeypatch, steps=None):
    """A 64 px input file, and the list of settings dip.solve is called with (``steps``: run only that many)."""
    src = tmp_path / "img.png"
    dip.save_image(dip.load_image("camera", size=64), src)
    seen, solve = [], dip.solve

    def spy(problem, settings, **kw):
        seen.append(settings)
        return solve(problem, settings if steps is None else settings.replace(steps=steps), **kw)

    monkeypatch.setattr(dip, "solve", spy)
    return src, seen


# the test preset runs in fp32 already ("preset"); --fp32 forces it in any preset
@pytest.mark.parametrize("argv, early_stop, precision", [
    (["denoise", "IMG", "--real"], "stop", "preset"),            # blind: no reference, stop automatically
    (["denoise", "IMG", "--real", "--no-early-stop"], "off", "preset"),
    (["denoise", "IMG"], "off", "preset"),                       # noise added: the truth is known
    (["jpeg", "IMG", "--fp32"], "stop", "fp32"),
    (["jpeg", "IMG", "--no-early-stop", "--fp32"], "off", "fp32"),
    (["deblur", "IMG", "--kernel", "gaussian:1", "--fp32"], "off", "fp32"),
])
def test_blind_fits_stop_early_and_fp32_is_passed_on(tmp_path, capsys, monkeypatch, argv, early_stop, precision):
    if precision == "preset":
        precision = dip.preset("denoising", "test").precision
    src, seen = _spy_on_solve(tmp_path, monkeypatch)
    argv = [str(src) if a == "IMG" else a for a in argv]
    assert main([*argv, "--preset", "test", "--steps", "3", "-o", str(tmp_path / "o.png")]) == 0, capsys.readouterr()
    assert [(s.early_stop, s.precision) for s in seen] == [(early_stop, precision)]
    assert ("early stopping without a reference" in capsys.readouterr().out) == (early_stop == "stop")


def test_denoise_never_upscales_a_small_image(tmp_path, capsys):
    src, out = tmp_path / "small.png", tmp_path / "out.png"
    dip.save_image(dip.load_image("camera", size=64), src)
    assert main(["denoise", str(src), "--preset", "cpu", "--steps", "5", "-o", str(out)]) == 0   # cpu: 192 px
    assert Image.open(out).size == (64, 64)


def test_without_an_image_the_offline_fallback_is_announced(tmp_path, capsys, monkeypatch):
    """No image named and F16 unavailable (an empty mirror): 'coffee' is used, and it says so."""
    monkeypatch.setenv("DIP_DATA_DIR", str(tmp_path))
    out = tmp_path / "out.png"
    assert main(["denoise", "--preset", "test", "--steps", "5", "--size", "64", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "note: F16 is unavailable" in text and "'coffee' is used instead" in text
    assert out.exists()


def test_denoise_job_reports_a_missing_file_clearly(tmp_path, capsys):
    assert main(["denoise", str(tmp_path / "missing.png"), "--preset", "test", "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.png" in err and err.count("\n") == 1


@pytest.mark.parametrize("device, why", [("tpu", "is not a device"), ("cuda:7", "no such device")])
def test_a_bad_device_is_one_line_not_a_traceback(tmp_path, capsys, device, why):
    out = tmp_path / "out.png"
    assert main(["denoise", "camera", "--preset", "test", "--device", device, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert repr(device) in err and why in err
    assert not out.exists()                      # it failed before fitting anything


def test_a_bad_device_from_the_shell_exits_2_without_a_traceback():
    r = _run("denoise", "camera", "--preset", "test", "--device", "tpu")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "error: device='tpu' is not a device: use cpu, cuda, cuda:N or mps"


def test_unknown_command_and_help(capsys):
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown command 'frobnicate'") and "sr" in err and "deblur" in err
    assert main([]) == 0
    text = capsys.readouterr().out
    for verb in VERBS:
        assert f"python -m dip_lib {verb}" in text
    assert "python -m dip_lib data" in text


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_has_help_with_the_common_flags(capsys, verb):
    assert main([verb, "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--output", "--preset", "--steps", "--size", "--device", "--seed", "--force", "--clean"):
        assert flag in text, (verb, flag)


def test_info_in_process(capsys, monkeypatch):
    monkeypatch.setenv("DIP_PRESET", "cpu")
    monkeypatch.setenv("DIP_DEVICE", "cpu")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "device: cpu  preset: cpu" in out and "dip_lib 0." in out and "CUDA:" in out
    monkeypatch.setenv("DIP_DEVICE", "tpu")
    assert main(["info"]) == 2
    assert "DIP_DEVICE='tpu' is not a device" in capsys.readouterr().err


def test_module_entry_point_runs_info():
    r = _run("info", DIP_PRESET="test", DIP_DEVICE="cpu")
    assert r.returncode == 0, r.stderr
    assert "device: cpu  preset: test" in r.stdout and "DIP_DATA_DIR" in r.stdout


def test_data_is_dispatched_to_the_mirror_module(capsys, monkeypatch):
    import types
    seen = []
    fake = types.ModuleType("dip_lib.core.mirror")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "dip_lib.core.mirror", fake)
    assert main(["data", "verify", "/some/dir"]) == 0
    assert seen == [["verify", "/some/dir"]]


# --- dip_lib.core.outputs --------------------------------------------------------------------------------

def test_atomic_write_replaces_only_when_complete(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with outputs.atomic_write(target) as f:
            f.write(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.bin"]
    with outputs.atomic_write(target) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_save_image_is_atomic_and_checks_the_extension(tmp_path):
    img = dip.load_image("camera", size=32)
    with pytest.raises(ValueError, match="not an image format"):
        dip.save_image(img, tmp_path / "x.txt")
    assert not list(tmp_path.iterdir())
    p = dip.save_image(img, tmp_path / "sub" / "x.png")        # the API still creates the folder
    assert Image.open(p).size == (32, 32)
    assert oct(p.stat().st_mode & 0o777) != oct(0o600)          # not mkstemp's private mode


def test_check_output_refuses_what_would_lose_data(tmp_path):
    src = tmp_path / "in.png"
    src.write_bytes(b"x")
    with pytest.raises(ValueError, match="is the input"):
        outputs.check_output(tmp_path / "." / "in.png", inputs=[src], force=True)
    with pytest.raises(FileExistsError, match="--force"):
        outputs.check_output(src, force=False)
    assert outputs.check_output(tmp_path / "new.png") == tmp_path / "new.png"
    with pytest.raises(ValueError, match="does not exist"):
        outputs.check_output(tmp_path / "no" / "new.png")


def test_a_blind_fit_gets_the_blind_budget_and_early_stopping_decides(tmp_path, capsys, monkeypatch):
    src, seen = _spy_on_solve(tmp_path, monkeypatch, steps=3)      # the budget is recorded, not run
    assert main(["denoise", str(src), "--real", "--preset", "test", "-o", str(tmp_path / "o.png")]) == 0
    p = dip.preset("denoising", "test")
    assert [(s.steps, s.early_stop) for s in seen] == [(p.real_steps, "stop")] and p.real_steps != p.steps
    seen.clear()
    assert main(["denoise", str(src), "--real", "--no-early-stop", "--preset", "test", "-o", str(tmp_path / "p.png")]) == 0
    assert [(s.steps, s.early_stop) for s in seen] == [(p.steps, "off")]
