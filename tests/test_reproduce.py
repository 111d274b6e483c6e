"""``reproduce``: the paper's numbers, settings, and each table in the `test` preset (offline).

What the end-to-end tests assert (test preset: 64 px images, width 16, 100-200 steps): the table
has the expected columns, DIP beats the degraded input (noisy image, nearest-neighbour
upsampling, masked image); one result file per (image, method, seed) with settings, versions
and device; a second call skips finished jobs; a corrupt or incomplete result file is named and
run again; ``--report-only`` rebuilds the table from the files; a run killed with SIGKILL loses
only its running job; two runs on one ``--out`` never run a job twice; bad input at the command
line is one line with exit status 2. Beating bicubic or the paper's numbers needs the paper
preset and is not asserted here. ``test_reproduce_dask.py`` runs a table on a dask cluster.
"""
import concurrent.futures
import csv
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dip_lib.paper import jobs
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
    for image in ("barbara", "boat"):       # the authors' restoration setting for every Heide11 image
        b = rp.resolve_settings("inpainting", "paper", image=image)
        assert (b["arch"], b["steps"], b["lr"]) == ("restoration", 11000, 0.001)
    assert rp.resolve_settings("sr4", "cpu")["size"] is None         # SR at native size on CPU too
    with pytest.raises(KeyError, match="denoising"):
        rp.resolve_settings("deblurring", "test")


def test_image_scopes_use_the_key_reproduce_uses():
    (name, set_name, key), = rp.table_images("inpainting", ["barbara"])
    assert name == "Heide11/barbara.png" and set_name == "Heide11"
    p = dip.preset("reproduce", "paper")
    # a 'TABLE/image' scope applies to that image only, under the key reproduce uses
    q = p.replace(tables=p.tables + (("inpainting/" + key, (("steps", 123),)),))
    assert q.for_image("inpainting", key, "inpainting").steps == 123
    assert q.for_image("inpainting", "boat", "inpainting").steps == p.for_image("inpainting", "boat").steps
    assert q.for_image("sr4", key, "sr").steps == 2000           # the SR tables do not see it
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

DENOISING_JOBS = ["image_House256rgb.cbm3d.seed0.json", "image_House256rgb.dip-avg.seed0.json",
                  "image_House256rgb.dip.seed0.json", "image_House256rgb.dip.seed1.json",
                  "image_House256rgb.nlm.seed0.json"]


@pytest.fixture(scope="module")
def denoising(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep")
    return out, rp.reproduce("denoising", "test", ["House"], out=out, verbose=False)


def _fake_execute(calls):
    """An ``execute_job`` that fits nothing: a complete record with fixed PSNRs."""
    def fake(job, inputs=None):
        calls.append((job["key"], job["method"], job["seed"]))
        spec = rp.TABLES[job["table"]]
        col = {"DIP": "DIP last"}.get(job["method"], job["method"])
        rec = {"format": rp.FORMAT, "table": job["table"], "image": job["key"], "name": job["name"], "set": job["set"],
               "paper_name": rp.paper_name(job["set"], job["key"]), "method": job["method"], "seed": job["seed"],
               "settings": job["settings"], "psnr": {spec.input_label: 20.0, col: 30.0 + job["seed"]},
               "device": "cpu", "versions": {}, "seconds": 0.0}
        files = {".npy": np.zeros((1, 3, 4, 4), np.float32).tobytes()} if job["method"] == "DIP" else {}
        return {"record": rec, "files": files}
    return fake


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
    # one result file per (image, method, seed), plus pictures; nothing temporary left behind
    assert sorted(f.name for f in folder.glob("*.json")) == DENOISING_JOBS
    assert sorted(rep.fitted) == sorted(f[:-5] for f in DENOISING_JOBS)
    for f in ("image_House256rgb.dip.seed0.png", "image_House256rgb.dip.seed0.npy",
              "image_House256rgb.dip.seed1_out.png", "image_House256rgb.dip-avg.seed0_out.png",
              "table.csv", "table.md", "table.png"):
        assert (folder / f).is_file(), f
    assert not list(folder.glob(".*.tmp")) and not list(folder.glob("*.lock"))
    with open(folder / "table.csv") as f:
        assert next(csv.reader(f)) == rep.columns
    fit0 = json.loads((folder / "image_House256rgb.dip.seed0.json").read_text())
    fit1 = json.loads((folder / "image_House256rgb.dip.seed1.json").read_text())
    avg = json.loads((folder / "image_House256rgb.dip-avg.seed0.json").read_text())
    assert fit0["settings"]["preset"] == "test" and fit0["settings"]["restarts"] == 2
    assert (fit0["method"], fit0["seed"], fit1["seed"], fit1["settings"]["seed"]) == ("DIP", 0, 1, 0)
    assert fit0["device"] == "cpu" and "CPU" in fit0["device_name"]
    assert fit0["versions"]["torch"] == torch.__version__ and fit0["versions"]["dip_lib"] == dip.__version__
    assert fit0["versions"]["python"] == platform.python_version()
    assert fit0["psnr"]["DIP last"] != fit1["psnr"]["DIP last"]          # two seeds, two fits
    assert row["DIP last"] == fit0["psnr"]["DIP last"] and row["DIP avg"] == avg["psnr"]["DIP avg"]
    assert avg["averaged"] == ["image_House256rgb.dip.seed0", "image_House256rgb.dip.seed1"]
    assert "Sources of the paper's numbers" in (folder / "table.md").read_text()


@needs_data
def test_resume_does_not_refit(denoising, tmp_path, monkeypatch, capsys):
    out, first = denoising
    path = out / "denoising" / "image_House256rgb.dip.seed0.json"
    mtime = path.stat().st_mtime_ns

    def refit(*a, **k):
        raise AssertionError("fitted again although the result exists")

    monkeypatch.setattr(rp, "execute_job", refit)
    again = rp.reproduce("denoising", "test", ["House"], out=out)
    assert "skipping 5 finished jobs" in capsys.readouterr().out
    assert again.fitted == [] and len(again.skipped) == 5 and path.stat().st_mtime_ns == mtime
    assert again.rows == first.rows

    # other settings (here the seed) make every job run again, with the new seeds (on a copy)
    out = tmp_path / "copy"
    shutil.copytree(denoising[0] / "denoising", out / "denoising")
    calls = []
    monkeypatch.setattr(rp, "execute_job", _fake_execute(calls))
    rep = rp.reproduce("denoising", "test", ["House"], seed=1, out=out, verbose=False)
    key = "image_House256rgb"
    assert calls == [(key, "NLM", 1), (key, "CBM3D", 1), (key, "DIP", 1), (key, "DIP", 2), (key, "DIP avg", 1)]
    assert rep.rows[0]["DIP last"] == 31.0                  # the seed-1 fit fills the first-run columns
    assert json.loads((out / "denoising" / f"{key}.dip.seed2.json").read_text())["settings"]["seed"] == 1


@needs_data
def test_corrupt_or_incomplete_results_are_named_and_run_again(denoising, tmp_path, monkeypatch, capsys):
    out = tmp_path / "copy"
    shutil.copytree(denoising[0] / "denoising", out / "denoising")
    folder = out / "denoising"
    corrupt, partial = folder / "image_House256rgb.nlm.seed0.json", folder / "image_House256rgb.dip.seed1.json"
    corrupt.write_text(corrupt.read_text()[:40])                     # cut short, as by a crash mid-write
    rec = json.loads(partial.read_text())
    del rec["psnr"]
    partial.write_text(json.dumps(rec))
    calls = []
    monkeypatch.setattr(rp, "execute_job", _fake_execute(calls))
    rep = rp.reproduce("denoising", "test", ["House"], out=out)
    text = capsys.readouterr().out
    assert f"{corrupt}: corrupt or partial result file" in text
    assert f"{partial}: incomplete result file (missing psnr)" in text
    assert "skipping 3 finished jobs" in text
    assert calls == [("image_House256rgb", "NLM", 0), ("image_House256rgb", "DIP", 1)]
    assert rep.rows[0]["NLM"] == 30.0 and json.loads(partial.read_text())["psnr"]["DIP last"] == 31.0


@needs_data
def test_report_only_rebuilds_the_table_from_the_result_files(denoising, tmp_path, monkeypatch, capsys):
    out = tmp_path / "copy"
    shutil.copytree(denoising[0] / "denoising", out / "denoising")
    folder = out / "denoising"
    expected = (folder / "table.md").read_text()
    for f in ("table.md", "table.csv", "table.png"):
        (folder / f).unlink()
    monkeypatch.setattr(rp, "execute_job", lambda *a, **k: pytest.fail("--report-only fitted something"))
    monkeypatch.delenv("DIP_PRESET")                               # the preset is read from the files
    assert rp.main(["denoising", "--images", "House", "--out", str(out), "--report-only", "--quiet"]) == 0
    assert (folder / "table.md").read_text() == expected
    assert (folder / "table.csv").is_file() and (folder / "table.png").is_file()
    # a missing job is shown as not yet run, not invented
    (folder / "image_House256rgb.dip-avg.seed0.json").unlink()
    rep = rp.reproduce("denoising", "test", ["House"], out=out, report_only=True, verbose=False)
    assert rep.rows[0]["DIP avg"] is None and rep.missing == ["image_House256rgb.dip-avg.seed0"]
    assert "Not yet run (1 jobs" in (folder / "table.md").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        rp.main(["sr4", "--out", str(tmp_path / "none"), "--report-only"])
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith("error: no results of the sr4 table in ")


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
    fit = json.loads((tmp_path / "sr4" / "baby.dip.seed0.json").read_text())
    assert rec["image"] == "baby" and fit["shape"][0] % 32 == 0 and fit["shape"][1] % 32 == 0


@needs_data
def test_sr8_from_the_command_line(tmp_path, capsys):
    assert rp.main(["sr8", "--preset", "test", "--images", "baby", "--out", str(tmp_path), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "| image | set | nearest | bicubic | DIP last | DIP EMA | paper DIP |" in text
    assert "25.88" in text and "8x super-resolution" in text     # the paper's Set5 average (tab:sr_s5)
    rec = json.loads((tmp_path / "sr8" / "baby.dip.seed0.json").read_text())
    assert rec["psnr"]["DIP last"] > rec["psnr"]["nearest"]


@needs_data
def test_inpainting_table(tmp_path):
    rep = rp.reproduce("inpainting", "test", ["house"], out=tmp_path, verbose=False)
    assert rep.columns[:2] == ["image", "masked"] and rep.columns[-1] == "paper DIP"
    row = rep.rows[0]
    assert row["image"] == "House" and row["paper DIP"] == 39.16
    assert row["DIP last"] > row["masked"] + 10           # far above the masked input
    assert json.loads((tmp_path / "inpainting" / "house.dip.seed0.json").read_text())["settings"]["channels"] == 1


# --- killed runs, runs side by side, local worker processes ----------------------------------

ENV = {**os.environ, "DIP_PRESET": "test", "DIP_DEVICE": "cpu", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
CMD = [sys.executable, "-m", "dip_lib", "reproduce", "inpainting", "--preset", "test"]


@needs_data
def test_sigkill_loses_only_the_running_job(tmp_path):
    out = tmp_path / "out"
    folder = out / "inpainting"
    first, running = folder / "boat.biharmonic.seed0.json", folder / "boat.dip.seed0.json"
    proc = subprocess.Popen([*CMD, "--images", "boat", "--out", str(out)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (first.exists() and Path(f"{running}.lock").exists()):   # the first job done, the fit started
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not running.exists()                      # the running job is lost, and only it
    mtime = first.stat().st_mtime_ns
    lock = json.loads(Path(f"{running}.lock").read_text())
    assert lock["pid"] == proc.pid                   # its lock is left behind by the dead run...
    again = subprocess.run([*CMD, "--images", "boat", "--out", str(out)], env=ENV, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert "skipping 1 finished job (" in again.stdout   # ...taken over by the rerun, which skips the first job
    assert "boat DIP seed 0: DIP last" in again.stdout and "boat biharmonic" not in again.stdout
    assert first.stat().st_mtime_ns == mtime and running.exists()
    assert not Path(f"{running}.lock").exists() and "Not yet run" not in (folder / "table.md").read_text()


@needs_data
def test_two_runs_on_one_out_never_run_a_job_twice(tmp_path):
    out = tmp_path / "out"
    cmd = [*CMD, "--images", "boat", "house", "--out", str(out)]
    procs = [subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True) for _ in range(2)]
    try:
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    ran = [line for o, _ in outs for line in o.splitlines() if " s on cpu" in line]
    assert len(ran) == 4 and len({line.split(":")[0] for line in ran}) == 4, ran   # each job exactly once
    folder = out / "inpainting"
    assert len(list(folder.glob("*.json"))) == 4
    assert not list(folder.glob(".*.tmp")) and not list(folder.glob("*.lock"))
    tables = [o.split("### ", 1)[1].split("\n\n`DIP last`")[0] for o, _ in outs]
    assert tables[0] == tables[1] and "—" not in tables[0].split("paper,")[0]      # both print the whole table


@needs_data
def test_local_worker_processes(tmp_path):
    rep = rp.reproduce("inpainting", "test", ["boat"], out=tmp_path, device="cpu", workers=2, verbose=False)
    assert sorted(rep.fitted) == ["boat.biharmonic.seed0", "boat.dip.seed0"]
    pids = {json.loads((tmp_path / "inpainting" / f"{s}.json").read_text())["pid"] for s in rep.fitted}
    assert os.getpid() not in pids                   # computed in the worker processes, written here
    assert rep.rows[0]["DIP last"] > rep.rows[0]["masked"] + 10


# --- files and locks -------------------------------------------------------------------------

def test_atomic_writes_use_unique_temporary_files(tmp_path):
    path = tmp_path / "r.json"
    errors = []

    def writer(i):
        try:
            for k in range(30):
                jobs.write_atomic(path, json.dumps({"writer": i, "k": k, "pad": "x" * 5000}).encode())
                json.loads(path.read_text())           # never half a file
        except Exception as e:                         # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads(path.read_text())["k"] == 29 and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_job_locks(tmp_path):
    result = tmp_path / "a.dip.seed0.json"
    a, b = jobs.JobLock(result), jobs.JobLock(result)
    assert a.acquire() and not b.acquire()           # held by a live process (this one)
    assert "pid %d" % os.getpid() in b.holder()
    b.release()                                      # not b's: stays
    assert a.path.exists()
    a.release()
    assert not a.path.exists() and b.acquire()
    b.release()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    a.path.write_text(json.dumps({"pid": int(dead.stdout), "host": jobs.HOST, "token": "x"}))
    assert b.acquire() and json.loads(b.path.read_text())["pid"] == os.getpid()   # stale: taken over
    b.release()
    a.path.write_text(json.dumps({"pid": os.getpid(), "host": jobs.HOST, "token": "left-by-a-crashed-call"}))
    assert b.acquire()                               # this process, but not a lock it holds: stale
    b.release()
    a.path.write_text(json.dumps({"pid": int(dead.stdout), "host": "another-host", "token": "x"}))
    assert not b.acquire()                           # another host's lock is never broken


def test_ctrl_c_in_a_job_leaves_no_lock(tmp_path):
    job = jobs.Job("inpainting", "Heide11/boat.png", "boat", "Heide11", "DIP", 0, {"seed": 0})

    def interrupted(*a):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        jobs.run_jobs([job], tmp_path, interrupted, lambda *a: None,
                      jobs.ExecutorChoice(jobs.InlineExecutor(), 1, "inline"), log=lambda *a: None)
    assert list(tmp_path.iterdir()) == []


def test_a_job_locked_by_another_run_is_waited_for_not_run(tmp_path):
    s = {"seed": 0}
    job = jobs.Job("inpainting", "Heide11/boat.png", "boat", "Heide11", "DIP", 0, s)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = Path(f"{tmp_path / job.filename}.lock")
        lock.write_text(json.dumps({"pid": other.pid, "host": jobs.HOST, "token": "t"}))
        rec = {k: None for k in jobs.REQUIRED_KEYS} | {"settings": s, "psnr": {"DIP last": 33.0}}

        def finish():                                # the other run writes the result, then unlocks
            time.sleep(0.5)
            jobs.write_atomic(tmp_path / job.filename, json.dumps(rec).encode())
            lock.unlink()

        t = threading.Thread(target=finish)
        t.start()
        summary = jobs.run_jobs([job], tmp_path, lambda *a: pytest.fail("ran a locked job"), lambda *a: None,
                                jobs.ExecutorChoice(jobs.InlineExecutor(), 1, "inline"), log=lambda *a: None,
                                poll=0.1)
        t.join()
    finally:
        other.kill()
        other.wait()
    assert [j.stem for j in summary.others] == ["boat.dip.seed0"] and summary.ran == []
    assert summary.records["boat.dip.seed0"]["psnr"] == {"DIP last": 33.0}


# --- the command line ------------------------------------------------------------------------

def _error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as e:
        rp.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_command_line_refuses_bad_input_in_one_line(tmp_path, capsys):
    out = ["--out", str(tmp_path)]
    assert _error(capsys, ["sr4", "--images", "baby", "--device", "tpu", *out]) == \
        "error: device='tpu' is not a device: use cpu, cuda, cuda:N or mps"
    msg = _error(capsys, ["all", "--images", "Foo", *out])                   # issue 14
    assert msg.startswith("error: 'Foo' is not an image of any table; choose among: ")
    assert all(n in msg for n in ("baby", "zebra", "image_House256rgb", "Cameraman256 (C.man)", "barbara"))
    msg = _error(capsys, ["sr8", "--images", "baby", "nope", *out])
    assert msg.startswith("error: 'nope' is not an image of the sr8 table; choose among: baby, bird")
    assert _error(capsys, ["sr3", *out]) == \
        "error: unknown table 'sr3'; choose one of denoising, sr4, sr8, inpainting, all"
    assert "must be >= 1" in _error(capsys, ["sr4", "--restarts", "0", *out])
    assert not (tmp_path / "sr4").exists() and not (tmp_path / "sr8").exists()     # nothing was started


def test_scheduler_without_dask_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)                  # as if dask were not installed
    msg = _error(capsys, ["sr4", "--images", "baby", "--scheduler", "tcp://127.0.0.1:8786", "--out", str(tmp_path)])
    assert msg.startswith("error: --scheduler needs dask.distributed") and 'pip install "dip_lib[dask]"' in msg
    with pytest.raises(ValueError, match=r'dip_lib\[dask\]'):
        jobs.make_executor(scheduler="tcp://127.0.0.1:8786")


def test_images_of_all_tables_go_to_the_tables_that_have_them():
    assert rp._images_for(list(rp.TABLES), ["baby", "C.man"]) == {"sr4": ["baby"], "sr8": ["baby"],
                                                                   "inpainting": ["C.man"]}
    assert rp._images_for(["sr4"], None) == {"sr4": None}


def test_the_executor_is_one_process_per_visible_gpu(monkeypatch):
    assert isinstance(jobs.make_executor("cpu").executor, jobs.InlineExecutor)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    choice = jobs.make_executor("cuda")                 # CUDA, no index, 3 devices: a pool of 3, nothing started
    try:
        assert choice.slots == 3 and "one per GPU" in choice.description
        assert isinstance(choice.executor, concurrent.futures.ProcessPoolExecutor)
    finally:
        choice.close()
    assert jobs.make_executor("cuda:1").slots == 1     # a named device: sequential
    assert jobs.make_executor("cuda", workers=1).slots == 1
