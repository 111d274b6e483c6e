"""``python -m dip_lib data fetch|verify``: an offline mirror in one command.

Never the network: every fetch copies from a local folder (``--from DIR`` or a file:// URL), and
sockets are blocked. Most tests use a small fake registry built in a temporary folder, so they run
without the data mirror; the last ones copy real registry files from ../shared/data when it exists.
"""
import hashlib
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import dip_lib as dip
from dip_lib.core import data, mirror
from markers import needs_mirror

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a mirror test tried to use the network")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A three-file registry (a set, an alias, a folder) whose files live in ``tmp_path/src``."""
    src = tmp_path / "src"
    files = {"Set5/a.png": b"first image" * 100, "Set5/b.png": b"second image" * 100,
             "paper/denoising/F16_GT.png": b"the F16 stand-in" * 50}
    reg = {}
    for key, raw in files.items():
        (src / key).parent.mkdir(parents=True, exist_ok=True)
        (src / key).write_bytes(raw)
        reg[key] = (hashlib.sha256(raw).hexdigest(), f"https://example.invalid/{key}")
    monkeypatch.setattr(data, "_registry", lambda: reg)
    monkeypatch.delenv("DIP_DATA_DIR", raising=False)
    return src, reg


def _fetch(*args):
    return mirror.main(["fetch", *map(str, args), "-q"])


def test_fetch_copies_checks_and_writes_the_manifest(fake, tmp_path, capsys):
    src, reg = fake
    dst = tmp_path / "mirror"
    assert _fetch("Set5", "F16", "--to", dst, "--from", src) == 0
    for key in reg:
        assert (dst / key).read_bytes() == (src / key).read_bytes()
    out = capsys.readouterr().out
    assert "3 files: 3 fetched" in out and f"export DIP_DATA_DIR={dst.resolve()}" in out
    rows = [ln.split("\t") for ln in (dst / "MANIFEST.tsv").read_text().splitlines()]
    assert rows[0] == ["path", "sha256", "bytes", "source_url"]
    assert {r[0]: (r[1], int(r[2]), r[3]) for r in rows[1:]} == {
        k: (sha, len((src / k).read_bytes()), url) for k, (sha, url) in reg.items()}
    assert not list(dst.rglob("*.part"))
    # a second run skips what is there and valid
    assert _fetch("Set5", "F16", "--to", dst, "--from", src) == 0
    assert "0 fetched (0.0 MB), 3 already present and valid" in capsys.readouterr().out


def test_the_fetched_mirror_is_what_DIP_DATA_DIR_expects(fake, tmp_path, monkeypatch):
    src, reg = fake
    dst = tmp_path / "mirror"
    assert _fetch("F16", "--to", dst, "--from", src.resolve().as_uri()) == 0     # a file:// base URL
    monkeypatch.setenv("DIP_DATA_DIR", str(dst))
    assert dip.fetch("F16") == dst / "paper/denoising/F16_GT.png"
    with pytest.raises(dip.DataUnavailable, match="data fetch Set5/a.png"):     # not fetched: says how to
        dip.fetch("Set5/a.png")


def test_selection_by_set_alias_path_and_folder(fake):
    assert mirror.select(["Set5"]) == ["Set5/a.png", "Set5/b.png"]
    assert mirror.select(["F16", "Set5/b.png"]) == ["paper/denoising/F16_GT.png", "Set5/b.png"]
    assert mirror.select(["paper"]) == ["paper/denoising/F16_GT.png"]
    assert mirror.select([]) == sorted(fake[1])
    assert mirror.select(["Set5", "Set5/a.png"]) == ["Set5/a.png", "Set5/b.png"]      # no duplicates


def test_verify_passes_on_a_good_mirror(fake, tmp_path, capsys):
    src, _ = fake
    dst = tmp_path / "mirror"
    assert _fetch("--to", dst, "--from", src) == 0
    capsys.readouterr()
    assert mirror.main(["verify", str(dst)]) == 0
    assert capsys.readouterr().out.strip().endswith("3 files checked, 3 ok, 0 missing, 0 bad")


def test_a_tampered_file_fails_verify_with_its_name_and_fetch_repairs_it(fake, tmp_path, capsys):
    src, _ = fake
    dst = tmp_path / "mirror"
    assert _fetch("--to", dst, "--from", src) == 0
    f = dst / "Set5/b.png"
    raw = bytearray(f.read_bytes())
    raw[7] ^= 0x01                                      # one bit of one byte
    f.write_bytes(bytes(raw))
    capsys.readouterr()
    assert mirror.main(["verify", str(dst)]) == 1
    cap = capsys.readouterr()
    assert "BAD Set5/b.png: sha256" in cap.out and "Set5/a.png" not in cap.out
    assert "2 ok, 0 missing, 1 bad" in cap.out
    assert "python -m dip_lib data fetch Set5/b.png --to" in cap.err
    assert _fetch("--to", dst, "--from", src) == 0      # the damaged file is replaced
    assert "1 fetched" in capsys.readouterr().out
    assert mirror.main(["verify", str(dst)]) == 0


def test_a_missing_file_is_reported(fake, tmp_path, capsys):
    src, _ = fake
    dst = tmp_path / "mirror"
    assert _fetch("Set5", "--to", dst, "--from", src) == 0
    (dst / "Set5/a.png").unlink()
    capsys.readouterr()
    assert mirror.main(["verify", str(dst)]) == 1
    out = capsys.readouterr().out
    assert "MISSING Set5/a.png" in out and "1 ok, 1 missing, 0 bad" in out
    # fetching something else later keeps the missing file in the manifest: still reported
    assert _fetch("F16", "--to", dst, "--from", src) == 0
    capsys.readouterr()
    assert mirror.main(["verify", str(dst)]) == 1
    assert "MISSING Set5/a.png" in capsys.readouterr().out


def test_a_source_with_a_wrong_file_is_refused_and_nothing_half_written(fake, tmp_path, capsys):
    src, _ = fake
    (src / "Set5/a.png").write_bytes(b"not the registry's file")
    dst = tmp_path / "mirror"
    assert _fetch("Set5", "--to", dst, "--from", src) == 1
    err = capsys.readouterr().err
    assert "FAILED Set5/a.png" in err and "sha256" in err and "run the same command again" in err
    assert not (dst / "Set5/a.png").exists() and (dst / "Set5/b.png").exists()
    assert not list(dst.rglob("*.part"))
    assert mirror.main(["verify", str(dst)]) == 1       # the manifest lists what was asked for


def test_progress_bar(fake, tmp_path, capsys):
    src, _ = fake
    assert mirror.main(["fetch", "--to", str(tmp_path / "m"), "--from", str(src)]) == 0
    err = capsys.readouterr().err
    assert "fetch" in err and "3/3" in err and "file" in err


@pytest.mark.parametrize("argv, phrase", [
    (["fetch", "Set6"], "did you mean 'Set5'"),
    (["fetch", "F17"], "did you mean 'F16'"),
    (["verify", "/no/such/mirror"], "no mirror at /no/such/mirror"),
    (["fetch", "--from", "/no/such/source"], "neither a folder nor a URL"),
    (["fetch", "--bogus"], "unrecognized arguments: --bogus"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_usage_is_one_line_and_exit_2(fake, tmp_path, capsys, argv, phrase):
    assert mirror.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and phrase in err and "\n" not in err and "Traceback" not in err


def test_default_folder_is_DIP_DATA_DIR(fake, tmp_path, monkeypatch):
    src, _ = fake
    monkeypatch.setenv("DIP_DATA_DIR", str(tmp_path / "env_mirror"))
    assert _fetch("F16", "--from", src) == 0
    assert (tmp_path / "env_mirror/paper/denoising/F16_GT.png").is_file()
    assert mirror.main(["verify"]) == 0


# --- the real registry, copied from ../shared/data ---------------------------------------------------

SHARED = ROOT.parent / "shared" / "data"


@needs_mirror
@pytest.mark.skipif(not (SHARED / "MANIFEST.tsv").is_file(), reason="no ../shared/data mirror to copy from")
def test_a_full_copy_reproduces_the_reference_mirror(tmp_path, monkeypatch, capsys):
    dst = tmp_path / "mirror"
    assert _fetch("--to", dst, "--from", SHARED) == 0
    assert (dst / "MANIFEST.tsv").read_text() == (SHARED / "MANIFEST.tsv").read_text()
    capsys.readouterr()
    assert mirror.main(["verify", str(dst)]) == 0
    n = len(data._registry())
    assert f"{n} files checked, {n} ok, 0 missing, 0 bad" in capsys.readouterr().out
    monkeypatch.setenv("DIP_DATA_DIR", str(dst))
    a = dip.load_image("Set5/bird.png", size=64, verbose=False)
    monkeypatch.setenv("DIP_DATA_DIR", str(SHARED))
    b = dip.load_image("Set5/bird.png", size=64, verbose=False)
    assert a.shape == (1, 3, 64, 64) and (a == b).all()


@needs_mirror
@pytest.mark.skipif(not (SHARED / "MANIFEST.tsv").is_file(), reason="no ../shared/data mirror to copy from")
def test_the_command_line(tmp_path, capsys):
    dst = tmp_path / "mirror"
    assert _fetch("Set5", "--to", dst, "--from", SHARED) == 0
    assert "5 files: 5 fetched" in capsys.readouterr().out
    (dst / "Set5/head.png").unlink()
    r = subprocess.run([sys.executable, "-m", "dip_lib", "data", "verify", str(dst)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "MISSING Set5/head.png" in r.stdout and "5 files checked, 4 ok, 1 missing, 0 bad" in r.stdout
