"""``reproduce``: the paper's numbers, settings, and each table in the `test` preset (offline).

What the end-to-end tests assert (test preset: 64 px images, width 16, 200 steps): the table
has the expected columns, DIP beats the degraded input (noisy image, nearest-neighbour
upsampling, masked image), and a second call resumes without fitting again. Beating bicubic
or the paper's numbers needs the paper preset and is not asserted here.
"""
import csv
import json

import pytest

from dip_lib.paper import reproduce as rp
from dip_lib.paper.numbers import PAPER, PAPER_NAMES, paper_psnr, paper_name
import dip_lib as dip
from dip_lib import image_set
from markers import needs_data


# --- the paper's numbers ---------------------------------------------------------------------

def test_paper_numbers_have_sources_and_sane_values():
    assert PAPER
    for p in PAPER:
        assert p.table in rp.TABLES and p.set in rp.TABLES[p.table].sets
        assert "IJCV" in p.source and len(p.source) > 40
        assert 15 < p.psnr < 45
    assert paper_psnr("denoising", "CBM3D9", None, "DIP") == 31.00
    assert paper_psnr("sr4", "Set5", None) == 29.89              # tab:sr_s5 of the IJCV tex
    assert paper_psnr("inpainting", "Heide11", "Barbara") == 32.22
    assert paper_psnr("denoising", "CBM3D9", "F16") is None      # not published: None, never invented


def test_every_inpainting_image_has_its_paper_number():
    for name in image_set("Heide11"):
        stem = name.split("/")[1].rsplit(".", 1)[0]
        assert stem in PAPER_NAMES["Heide11"]
        assert paper_psnr("inpainting", "Heide11", paper_name("Heide11", stem)) is not None


# --- settings and images ---------------------------------------------------------------------

def test_settings_overrides():
    s = rp.resolve_settings("sr8", "paper")
    assert (s["steps"], s["sigma_p"], s["factor"], s["restarts"], s["size"]) == (4000, 0.05, 8, 1, None)
    assert rp.resolve_settings("sr4", "paper")["sigma_p"] == 0.03
    assert rp.resolve_settings("sr4", "paper")["steps"] == 2000
    assert rp.resolve_settings("denoising", "paper")["restarts"] == 2
    assert rp.resolve_settings("denoising", "paper", restarts=3)["restarts"] == 3
    with pytest.raises(ValueError, match="restarts"):
        rp.resolve_settings("denoising", "paper", restarts=0)
    b = rp.resolve_settings("inpainting", "paper", image="barbara")
    assert (b["steps"], b["lr"]) == (11000, 0.001)
    assert (rp.resolve_settings("inpainting", "paper", image="boat")["steps"],
            rp.resolve_settings("inpainting", "paper", image="boat")["lr"]) == (6000, 0.01)
    assert rp.resolve_settings("sr4", "cpu")["size"] is None         # SR at native size on CPU too
    with pytest.raises(KeyError, match="denoising"):
        rp.resolve_settings("deblurring", "test")


def test_barbara_scope_matches_the_key_reproduce_uses():
    (name, set_name, key), = rp.table_images("inpainting", ["barbara"])
    assert name == "Heide11/barbara.png" and set_name == "Heide11"
    p = dip.preset("reproduce", "paper")
    b = p.for_image("inpainting", key, "inpainting")
    assert (b.steps, b.lr, b.arch, b.sigma_p) == (11000, 0.001, "inpainting-text", 0.03)
    other = p.for_image("inpainting", "boat", "inpainting")
    assert (other.steps, other.lr) == (6000, 0.01)
    # the scope is narrower than the table: the SR tables do not see it
    assert p.for_image("sr4", key, "sr").steps == 2000
    # scopes apply broad to narrow: 'sr' (the task), then 'sr8'
    s8 = p.for_image("sr8", "baby", "sr")
    assert (s8.arch, s8.steps, s8.sigma_p) == ("sr", 4000, 0.05)


def test_image_subsets():
    assert [r[2] for r in rp.table_images("inpainting", ["C.man", "lena"])] == ["Cameraman256", "Lena512"]
    assert [r[1] for r in rp.table_images("sr4", ["baby", "zebra"])] == ["Set5", "Set14"]
    assert len(rp.table_images("sr8")) == 19
    with pytest.raises(KeyError, match="Cameraman256"):
        rp.table_images("inpainting", ["nope"])


# --- end to end, test preset -----------------------------------------------------------------

@pytest.fixture(scope="module")
def denoising(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep")
    return out, rp.reproduce("denoising", "test", ["House"], out=out, verbose=False)


@needs_data
def test_denoising_table(denoising):
    out, rep = denoising
    assert rep.columns == ["image", "noisy", "NLM", "CBM3D", "DIP last", "DIP EMA", "DIP avg", "paper DIP"]
    row = rep.rows[0]
    assert row["image"] == "House"
    assert row["DIP last"] > row["noisy"] + 1            # DIP beats the noisy input
    assert row["DIP avg"] > row["noisy"]
    assert row["NLM"] > row["noisy"]
    assert rep.rows[-1]["DIP avg"] == 31.00 and rep.rows[-1]["CBM3D"] == 31.42   # the paper's averages
    md = rep.markdown()
    assert md.splitlines()[0] == "| " + " | ".join(rep.columns) + " |" and "—" in md
    folder = out / "denoising"
    for f in ("image_House256rgb.json", "image_House256rgb.png", "image_House256rgb_dip.png", "table.csv",
              "table.md"):
        assert (folder / f).is_file(), f
    with open(folder / "table.csv") as f:
        assert next(csv.reader(f)) == rep.columns
    rec = json.loads((folder / "image_House256rgb.json").read_text())
    assert rec["settings"]["preset"] == "test" and rec["settings"]["restarts"] == 2
    assert "Sources of the paper's numbers" in (folder / "table.md").read_text()


@needs_data
def test_resume_does_not_refit(denoising, monkeypatch):
    out, first = denoising
    path = out / "denoising" / "image_House256rgb.json"
    mtime = path.stat().st_mtime_ns

    def refit(*a, **k):
        raise AssertionError("fitted again although the result exists")

    monkeypatch.setattr(rp, "run_image", refit)
    again = rp.reproduce("denoising", "test", ["House"], out=out, verbose=False)
    assert first.fitted == ["image_House256rgb"]
    assert sorted(f.name for f in (out / "denoising").glob("*.json")) == ["image_House256rgb.json"]   # one per image
    assert again.fitted == [] and path.stat().st_mtime_ns == mtime
    assert again.rows[0] == first.rows[0]

    # other settings (here the seed) make it fit again
    calls = []

    def fake(table, name, s, device=None, verbose=True):
        calls.append(name)
        rec = json.loads(path.read_text())
        rec["settings"] = s
        return {**rec, "_images": {"DIP last": None}}

    monkeypatch.setattr(rp, "run_image", fake)
    monkeypatch.setattr(rp, "_figure", lambda *a: None)
    monkeypatch.setattr(rp, "save_image", lambda *a: None)
    rp.reproduce("denoising", "test", ["House"], seed=1, out=out, verbose=False)
    assert calls == ["CBM3D9/image_House256rgb.png"]
    assert json.loads(path.read_text())["settings"]["seed"] == 1


@needs_data
def test_sr4_table(tmp_path):
    rep = rp.reproduce("sr4", "test", ["baby"], out=tmp_path, verbose=False)
    assert rep.columns == ["image", "set", "nearest", "bicubic", "DIP last", "DIP EMA", "paper DIP"]
    row = rep.rows[0]
    assert row["DIP last"] > row["nearest"]               # beats nearest-neighbour upsampling
    assert row["bicubic"] > row["nearest"]
    assert rep.rows[0]["paper DIP"] == 31.49                     # the paper's own number for Baby
    assert rep.rows[-1]["image"] == "paper, Set5 average" and rep.rows[-1]["paper DIP"] == 29.89
    assert rep.rows[-1]["bicubic"] == 28.44                      # the paper's Bicubic row, beside ours
    rec = rep.records[0]
    assert rec["shape"][0] % 32 == 0 and rec["shape"][1] % 32 == 0


@needs_data
def test_sr8_from_the_command_line(tmp_path, capsys):
    assert rp.main(["sr8", "--preset", "test", "--images", "baby", "--out", str(tmp_path), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "| image | set | nearest | bicubic | DIP last | DIP EMA | paper DIP |" in text
    assert "25.88" in text and "8x super-resolution" in text     # the paper's Set5 average (tab:sr_s5)
    rec = json.loads((tmp_path / "sr8" / "baby.json").read_text())
    assert rec["psnr"]["DIP last"] > rec["psnr"]["nearest"]
    with pytest.raises(SystemExit):
        rp.main(["sr8", "--images", "nope", "--out", str(tmp_path)])


@needs_data
def test_inpainting_table(tmp_path):
    rep = rp.reproduce("inpainting", "test", ["house"], out=tmp_path, verbose=False)
    assert rep.columns[:2] == ["image", "masked"] and rep.columns[-1] == "paper DIP"
    row = rep.rows[0]
    assert row["image"] == "House" and row["paper DIP"] == 39.16
    assert row["DIP last"] > row["masked"] + 10           # far above the masked input
    assert rep.records[0]["settings"]["channels"] == 1


def test_command_line_refuses_a_bad_device_in_one_line(tmp_path):
    with pytest.raises(SystemExit) as e:
        rp.main(["sr4", "--images", "baby", "--device", "tpu", "--out", str(tmp_path)])
    msg = str(e.value.code)
    assert msg == "error: device='tpu' is not a device: use cpu, cuda, cuda:N or mps"
    assert not (tmp_path / "sr4").exists()            # nothing was started
