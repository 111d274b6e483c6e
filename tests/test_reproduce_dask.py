"""``reproduce --scheduler``: a small table on a REAL dask.distributed cluster on 127.0.0.1.

The test starts ``dask scheduler`` and ``dask worker --nworkers 2 --nthreads 1`` as
subprocesses (test preset, CPU, one thread each), runs the inpainting table on two images
through ``--scheduler``, and checks that every job's result file exists, that the jobs ran on
the workers (not in the client), and that the table equals the one a local sequential run
writes for the same settings: on CPU with one thread a fit is deterministic, so the PSNRs agree
to 1e-6. A second call through the cluster skips every job (the client resumes from ``--out``).
Everything is killed (process groups) in a ``finally``. Skipped only when dask is not installed.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from markers import needs_data

pytest.importorskip("distributed", reason='dask.distributed is not installed: pip install "dip_lib[dask]"')

import torch  # noqa: E402

from dip_lib.paper import reproduce as rp  # noqa: E402

DASK = Path(sys.executable).with_name("dask")
IMAGES = ["boat", "house"]


def _start(args, env, log):
    return subprocess.Popen([str(DASK), *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(procs):
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-thread worker processes on loopback; yields the address."""
    if not DASK.exists():
        pytest.skip(f"no dask command next to {sys.executable}")
    env = {**os.environ, "DIP_PRESET": "test", "DIP_DEVICE": "cpu", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    sched_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "dask.log", "w")
    procs = []
    try:
        procs.append(_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                             "--scheduler-file", str(sched_file)], env, log))
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (tmp_path / "dask.log").read_text()
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(_start(["worker", address, "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1",
                             "--no-dashboard", "--memory-limit", "0", "--local-directory", str(tmp_path / "w")],
                            env, log))
        from distributed import Client
        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=90)
            assert len(c.nthreads()) == 2
        yield address
    finally:
        _stop(procs)
        log.close()


@needs_data
def test_a_table_through_a_dask_cluster_equals_the_local_run(cluster, tmp_path, capsys):
    out = tmp_path / "dask"
    assert rp.main(["inpainting", "--preset", "test", "--images", *IMAGES, "--out", str(out),
                    "--scheduler", cluster]) == 0
    text = capsys.readouterr().out
    assert "running 4 jobs: dask cluster " + cluster + " (2 workers, 2 threads)" in text
    folder = out / "inpainting"
    jobs = rp.table_jobs("inpainting", "test", IMAGES)
    assert sorted(j.filename for j in jobs) == sorted(
        ["boat.biharmonic.seed0.json", "boat.dip.seed0.json", "house.biharmonic.seed0.json", "house.dip.seed0.json"])
    for job in jobs:
        rec = json.loads((folder / job.filename).read_text())
        assert rec["method"] == job.method and rec["device"] == "cpu"
        assert rec["pid"] != os.getpid()              # computed on a worker, written by the client
        assert set(rec["versions"]) == {"dip_lib", "torch", "python"}
        assert (folder / f"{job.stem}_out.png").is_file()
    for f in ("table.md", "table.csv", "table.png"):
        assert (folder / f).is_file()
    assert not list(folder.glob("*.lock")) and not list(folder.glob(".*.tmp"))

    # the same table run locally, sequentially, in this process (one thread, as the workers)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = rp.reproduce("inpainting", "test", IMAGES, out=tmp_path / "local", device="cpu", verbose=False)
    finally:
        torch.set_num_threads(threads)
    remote = rp.reproduce("inpainting", "test", IMAGES, out=out, report_only=True, verbose=False)
    assert [r["image"] for r in remote.rows] == [r["image"] for r in local.rows]
    for a, b in zip(local.rows, remote.rows):
        for c in local.columns[1:]:
            if a[c] is None:
                assert b[c] is None
            else:
                assert b[c] == pytest.approx(a[c], abs=1e-6), (a["image"], c)
    assert local.markdown() == remote.markdown()

    # the client resumes from --out: nothing is sent to the cluster again
    again = rp.reproduce("inpainting", "test", IMAGES, out=out, scheduler=cluster, verbose=True)
    assert again.fitted == [] and len(again.skipped) == 4
    assert "skipping 4 finished jobs" in capsys.readouterr().out
