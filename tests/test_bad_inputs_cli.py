"""The command line's catalogue of bad inputs (issue 14): one row per case.

Each row runs ``python -m dip_lib ...`` in-process and asserts exit code 2, exactly one line
``error: ...`` on stderr that names the problem, no traceback, no output written and no input
touched. Ctrl-C rows assert exit code 130 and that nothing is lost or corrupted. A few rows run
in a subprocess (environment variables, the real exit status of the shell command).
"""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dip_lib.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Good and bad inputs in a fresh folder, which is also the working directory."""
    import skimage.data
    monkeypatch.chdir(tmp_path)
    astro = Image.fromarray(skimage.data.astronaut())
    astro.resize((64, 64)).save("img.png")
    astro.resize((96, 64)).save("wide.png")
    astro.resize((16, 16)).save("low.png")
    m = np.full((64, 64), 255, np.uint8)
    m[20:40, 20:40] = 0
    Image.fromarray(m).save("mask.png")
    Image.fromarray(m).resize((32, 32)).save("small_mask.png")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save("black.png")
    Path("text.png").write_text("this is not an image\n")
    Path("empty.png").write_bytes(b"")
    Path("trunc.png").write_bytes(Path("img.png").read_bytes()[:300])
    Path("folder").mkdir()
    Path("emptyfolder").mkdir()
    (Path("folder") / "a.png").write_bytes(Path("img.png").read_bytes())
    Path("existing.png").write_bytes(Path("wide.png").read_bytes())
    return tmp_path


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _error_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


T = ["--preset", "test", "--steps", "5"]
O = ["-o", "out.png"]

CATALOGUE = [
    # --- paths that are not images -----------------------------------------------------------------
    pytest.param(["denoise", "", *O, *T], "path is empty", id="image-empty-string"),
    pytest.param(["denoise", "empty.png", *O, *T], "empty file", id="image-empty-file"),
    pytest.param(["denoise", "text.png", *O, *T], "not an image file", id="image-text-named-png"),
    pytest.param(["denoise", "trunc.png", *O, *T], "truncated", id="image-truncated-png"),
    pytest.param(["denoise", "missing.png", *O, *T], "missing.png", id="image-missing"),
    pytest.param(["denoise", "Foo", *O, *T], "'Foo'", id="image-unknown-name"),
    pytest.param(["denoise", "emptyfolder", "-o", "outdir", *T], "has no image files", id="image-empty-folder"),
    pytest.param(["denoise", "folder", *T], "give an output folder with -o", id="folder-without-output"),
    pytest.param(["denoise", "folder", "-o", "existing.png", *T], "must be one too", id="folder-into-a-file"),
    pytest.param(["inpaint", "img.png", "--mask", "folder", *O, *T], "is a folder, not an image", id="mask-is-folder"),
    pytest.param(["denoise", "img.png", "--clean", "folder", *O, *T], "is a folder, not an image",
                 id="clean-is-folder"),
    pytest.param(["denoise", "img.png", "--clean", "empty.png", *O, *T], "empty file", id="clean-empty-file"),
    # --- outputs ----------------------------------------------------------------------------------------
    pytest.param(["denoise", "img.png", "--real", "-o", "img.png", *T], "is the input", id="output-is-input"),
    pytest.param(["denoise", "img.png", "--real", "-o", "./folder/../img.png", "--force", *T], "is the input",
                 id="output-is-input-even-with-force"),
    pytest.param(["denoise", "img.png", "-o", "existing.png", *T], "pass --force", id="output-exists"),
    pytest.param(["denoise", "img.png", "-o", "out.txt", *T], "not an image format", id="output-bad-extension"),
    pytest.param(["denoise", "img.png", "-o", "out", *T], "has no extension", id="output-no-extension"),
    pytest.param(["denoise", "img.png", "-o", "nowhere/out.png", *T], "does not exist", id="output-folder-missing"),
    pytest.param(["denoise", "img.png", "-o", "folder", *T], "is a folder", id="output-is-a-folder"),
    pytest.param(["denoise", "img.png", "-o", "text.png/out.png", *T], "not a folder", id="output-under-a-file"),
    pytest.param(["denoise", "img.png", "-o", "", *T], "output path is empty", id="output-empty-string"),
    # --- numbers ----------------------------------------------------------------------------------------
    pytest.param(["denoise", "img.png", "--sigma", "-5", *O, *T], "(0, 255]", id="sigma-negative"),
    pytest.param(["denoise", "img.png", "--sigma", "300", *O, *T], "(0, 255]", id="sigma-300"),
    pytest.param(["denoise", "img.png", "--sigma", "nan", *O, *T], "(0, 255]", id="sigma-nan"),
    pytest.param(["denoise", "img.png", "--sigma", "abc", *O, *T], "must be a number", id="sigma-text"),
    pytest.param(["denoise", "img.png", *O, "--steps", "0"], "at least 1", id="steps-0"),
    pytest.param(["denoise", "img.png", *O, "--steps", "2.5"], "whole number", id="steps-2.5"),
    pytest.param(["denoise", "img.png", *O, "--steps", "1e10"], "maximum 100,000", id="steps-1e10"),
    pytest.param(["denoise", "img.png", *O, "--steps", "-3"], "at least 1", id="steps-negative"),
    pytest.param(["denoise", "img.png", *O, *T, "--size", "100000"], "maximum 4,096", id="size-100000"),
    pytest.param(["denoise", "img.png", *O, *T, "--size", "10"], "at least", id="size-10"),
    pytest.param(["denoise", "img.png", *O, *T, "--size", "40"], "smaller than the network allows", id="size-40"),
    pytest.param(["denoise", "img.png", *O, *T, "--seed", "-1"], "at least 0", id="seed-negative"),
    pytest.param(["enhance", "img.png", *O, *T, "--boost", "nan"], "--boost", id="boost-nan"),
    # --- devices, presets, unknown options -------------------------------------------------------------
    pytest.param(["denoise", "img.png", *O, *T, "--device", "tpu"], "'tpu' is not a device", id="device-tpu"),
    pytest.param(["denoise", "img.png", *O, *T, "--device", "cuda:7"], "no such device", id="device-cuda7"),
    pytest.param(["denoise", "img.png", *O, "--preset", "bogus"], "invalid choice", id="preset-bogus"),
    pytest.param(["denoise", "img.png", *O, *T, "--stpes", "5"], "unrecognized arguments", id="unknown-option"),
    pytest.param(["info", "extra"], "takes no arguments", id="info-with-argument"),
    # --- super-resolution factors --------------------------------------------------------------------
    pytest.param(["sr", "low.png", "--factor", "3", *O, *T], "--factor must be 4 or 8", id="factor-3"),
    pytest.param(["sr", "low.png", "--factor", "0", *O, *T], "--factor must be 4 or 8", id="factor-0"),
    pytest.param(["sr", "low.png", "--factor", "x4", *O, *T], "--factor must be 4 or 8", id="factor-text"),
    pytest.param(["sr", "low.png", "--factor", "4", "--clean", "wide.png", *O, *T], "same picture",
                 id="sr-reference-wrong-aspect"),
    # --- blur kernels -------------------------------------------------------------------------------------
    pytest.param(["deblur", "img.png", "--kernel", "box:3", *O, *T], "bad kernel 'box:3'", id="kernel-unknown"),
    pytest.param(["deblur", "img.png", "--kernel", "gaussian:-1", *O, *T], "sigma must be in", id="kernel-sigma-neg"),
    pytest.param(["deblur", "img.png", "--kernel", "gaussian:nan", *O, *T], "sigma must be in",
                 id="kernel-sigma-nan"),
    pytest.param(["deblur", "img.png", "--kernel", "gaussian:100", *O, *T], "sigma must be in",
                 id="kernel-sigma-huge"),
    pytest.param(["deblur", "img.png", "--kernel", "motion:0,10", *O, *T], "motion length", id="kernel-motion-0"),
    pytest.param(["deblur", "img.png", "--kernel", "motion:2.5,10", *O, *T], "motion length",
                 id="kernel-motion-fraction"),
    pytest.param(["deblur", "img.png", "--kernel", "motion:9,nan", *O, *T], "angle", id="kernel-angle-nan"),
    pytest.param(["deblur", "img.png", "--kernel", "motion:65,0", *O, *T], "as large as", id="kernel-too-large"),
    pytest.param(["deblur", "img.png", *O, *T], "required: --kernel", id="kernel-missing"),
    # --- masks and image pairs -----------------------------------------------------------------------------
    pytest.param(["inpaint", "img.png", "--mask", "wide.png", *O, *T], "give a mask of the image's size",
                 id="mask-wrong-size"),
    pytest.param(["inpaint", "img.png", "--mask", "small_mask.png", *O, *T],
                 "the mask 'small_mask.png' is 32x32 but the image 'img.png' is 64x64", id="mask-smaller-same-aspect"),
    pytest.param(["inpaint", "img.png", "--mask", "wide.png", "--resize-mask", *O, *T], "give a mask of the image's size",
                 id="mask-resize-other-aspect"),
    pytest.param(["inpaint", "img.png", "--mask", "black.png", *O, *T], "no known pixel", id="mask-all-holes"),
    pytest.param(["inpaint", "img.png", "--mask", "mask.png", "--mask-white", "hole", "--clean", "text.png", *O, *T],
                 "not an image file", id="inpaint-bad-reference"),
    pytest.param(["inpaint", "img.png", *O, *T], "required: --mask", id="mask-missing"),
    pytest.param(["flash", "img.png", "wide.png", *O, *T], "same size", id="flash-pair-sizes-differ"),
    pytest.param(["denoise", "img.png", "--clean", "wide.png", *O, *T], "same picture", id="clean-wrong-aspect"),
]


@pytest.mark.parametrize("argv, phrase", CATALOGUE)
def test_bad_input_is_one_line_and_exit_code_2(files, capsys, argv, phrase):
    before = _digest(files)
    code = main(list(argv))
    line = _error_line(capsys.readouterr().err)
    assert code == 2
    assert phrase in line, line
    assert _digest(files) == before                 # nothing written, nothing touched
    assert not Path("out.png").exists() and not Path("outdir").exists()


def test_resize_mask_accepts_a_smaller_mask_of_the_same_shape(files, capsys):
    """--resize-mask is the user's explicit consent: the 32x32 mask is resized to the 64x64 image and used."""
    code = main(["inpaint", "img.png", "--mask", "small_mask.png", "--resize-mask", *O, *T])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "resizing the mask 'small_mask.png' from 32x32 to the image's 64x64" in out.out + out.err
    assert Image.open("out.png").size == (64, 64)


def test_the_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 30


@pytest.mark.parametrize("variable, value, phrase", [
    ("DIP_DEVICE", "bogus", "DIP_DEVICE='bogus' is not a device"),
    ("DIP_PRESET", "bogus", "DIP_PRESET='bogus' is not a preset"),
])
def test_bad_environment_in_process(files, capsys, monkeypatch, variable, value, phrase):
    monkeypatch.setenv(variable, value)
    before = _digest(files)
    code = main(["denoise", "img.png", "-o", "out.png", "--steps", "5"])
    assert code == 2 and phrase in _error_line(capsys.readouterr().err)
    assert _digest(files) == before


def test_a_named_image_is_never_swapped_for_another(files, capsys, monkeypatch):
    """A tampered mirror copy of F16: `denoise F16` fails, it does not quietly use 'coffee'."""
    mirror = files / "mirror"
    (mirror / "paper" / "denoising").mkdir(parents=True)
    (mirror / "paper" / "denoising" / "F16_GT.png").write_bytes(Path("img.png").read_bytes())   # wrong sha256
    monkeypatch.setenv("DIP_DATA_DIR", str(mirror))
    code = main(["denoise", "F16", "-o", "out.png", "--steps", "5"])
    out = capsys.readouterr()
    line = _error_line(out.err)
    assert code == 2 and "F16" in line and "coffee" not in out.out + out.err
    assert not Path("out.png").exists()


# --- in a subprocess: the shell's exit status and environment variables ----------------------------------

def _shell(*args, **env):
    return subprocess.run([sys.executable, "-m", "dip_lib", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, "DIP_PRESET": "test", **env})


@pytest.mark.parametrize("args, env, phrase", [
    (("denoise", "camera", "--steps", "5", "-o", "/nonexistent/out.png"), {"DIP_DEVICE": "bogus"},
     "DIP_DEVICE='bogus' is not a device"),
    (("denoise", "camera", "--steps", "2.5"), {"DIP_DEVICE": "cpu"}, "whole number"),
    pytest.param(("denoise", "camera", "--steps", "5"), {"DIP_DEVICE": "cuda"}, "no such device",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
    pytest.param(("info",), {"DIP_DEVICE": "cuda"}, "no such device",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
], ids=["env-device-bogus", "steps-fraction-shell", "env-device-cuda-without-cuda", "info-cuda-without-cuda"])
def test_bad_input_from_the_shell(args, env, phrase):
    r = _shell(*args, **env)
    assert r.returncode == 2, r.stderr
    assert phrase in _error_line(r.stderr)
    assert "device: cuda" not in r.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_info_does_not_claim_cuda_without_it():
    r = _shell("info", DIP_DEVICE="")
    assert r.returncode == 0, r.stderr
    assert "CUDA: not available" in r.stdout and "device: cpu" in r.stdout and "cuda" not in r.stdout.split("CUDA:")[0]


# --- Ctrl-C: exit 130, nothing lost, nothing corrupted ----------------------------------------------------

def _interrupt_at(monkeypatch, step):
    """Make the progress bar raise KeyboardInterrupt (as Ctrl-C does) at the first check >= step."""
    import dip_lib.core.callbacks as callbacks
    check = callbacks.Progress.check

    def interrupting(self, state):
        check(self, state)
        if state.step + 1 >= step:
            raise KeyboardInterrupt

    monkeypatch.setattr(callbacks.Progress, "check", interrupting)


def test_ctrl_c_during_the_fit_saves_the_result_so_far(files, capsys, monkeypatch):
    _interrupt_at(monkeypatch, 5)
    code = main(["denoise", "img.png", "-o", "out.png", "--preset", "test", "--steps", "200"])
    err = capsys.readouterr().err
    assert code == 130 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("interrupted")]
    assert len(lines) == 1 and "saved the result so far to out.png" in lines[0] and "of 200" in lines[0]
    with Image.open("out.png") as im:
        assert im.size == (64, 64)


def test_ctrl_c_while_saving_keeps_the_old_file_whole(files, capsys, monkeypatch):
    """A second Ctrl-C while the result is written: the old output stays as it was, no temporary file."""
    before = Path("existing.png").read_bytes()
    save = Image.Image.save

    def interrupted_save(self, fp, *a, **kw):
        save(self, fp, *a, **kw)              # the bytes are written to the temporary file...
        raise KeyboardInterrupt               # ... and Ctrl-C arrives before it replaces the output

    monkeypatch.setattr(Image.Image, "save", interrupted_save)
    code = main(["denoise", "img.png", "-o", "existing.png", "--force", "--preset", "test", "--steps", "5"])
    err = capsys.readouterr().err
    assert code == 130 and "Traceback" not in err and "interrupted while writing" in err
    assert Path("existing.png").read_bytes() == before
    assert not [p for p in files.iterdir() if p.name.endswith(".tmp")]


def test_ctrl_c_before_the_fit_writes_nothing(files, capsys, monkeypatch):
    import dip_lib

    def interrupted_load(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(dip_lib, "load_image", interrupted_load)
    code = main(["denoise", "img.png", "-o", "out.png", "--preset", "test", "--steps", "5"])
    err = capsys.readouterr().err
    assert code == 130 and err.strip() == "interrupted: nothing was written"
    assert not Path("out.png").exists()
