"""Jobs of ``reproduce``: result files, locks, executors (local, one process per GPU, dask).

A *job* is one (table, image, method, seed): one DIP fit, one baseline, or the average of a
table's DIP fits. Each finished job is one JSON file ``OUT/TABLE/<image>.<method>.seed<N>.json``
(plus its pictures), so a table is built from result files alone and a rerun only runs what is
missing. How the files stay consistent when runs are killed or run side by side:

- **Atomic writes.** A file is written to a unique temporary name in its own folder
  (``tempfile.mkstemp``: ``.<name>.XXXXXXXX.tmp``), flushed, fsync'ed and renamed over the final
  name (``os.replace``). A reader sees the old file or the whole new one, never half of one; two
  writers never share a temporary file. The JSON is written last: its presence means "done".
- **One lock per job.** Before running a job, a run creates ``<result>.lock`` with
  ``O_CREAT | O_EXCL`` (it fails if the file exists) and writes its pid, host and a random
  token into it; the lock is removed once the result is written (or the job failed). A second
  run on the same ``--out`` that finds a job locked waits for it and takes the result, so two
  runs never run the same job. A lock whose pid is dead *on this host* (a run killed by
  SIGKILL), or that names this very process but none of the locks it holds (an interrupted call
  in a notebook), is stale and taken over; the take-over itself is serialised by ``fcntl.flock`` on
  ``OUT/TABLE/.locks`` where available. A lock held by another host is never broken: if that
  run is dead, delete the ``.lock`` file by hand (the message names it).
- **Who writes.** The *driver* (the process running ``reproduce``) holds the locks and writes
  every file; executors only compute and return the record and the files' bytes. So workers need
  the data but no shared filesystem, and a dask cluster on several machines resumes exactly like
  a local run: the driver's ``--out`` is the only state. A SIGKILL of the driver loses only the
  jobs in flight (one per worker); their stale locks are taken over on the next run.

Executors follow ``concurrent.futures.Executor``: :class:`InlineExecutor` (sequential, in this
process), a spawn ``ProcessPoolExecutor`` with one worker pinned per visible CUDA device
(``torch.cuda.set_device``), or a dask.distributed cluster (``Client(address).get_executor()``,
which calls ``client.submit`` per job). The driver keeps at most ``slots`` jobs in flight (one
per worker), so a job is locked only while it really runs.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import os
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

__all__ = ["Job", "JobLock", "write_atomic", "read_result", "REQUIRED_KEYS", "InlineExecutor", "make_executor",
           "run_jobs", "RunSummary", "DASK_MISSING"]

# a result file without one of these is incomplete: reported by name and run again
REQUIRED_KEYS = ("format", "table", "image", "method", "seed", "settings", "psnr", "device", "versions")

DASK_MISSING = ('--scheduler needs dask.distributed, which is not installed: pip install "dip_lib[dask]" '
                '(or: pip install "dask[distributed]")')


@dataclass
class Job:
    """One unit of work: ``method`` ('DIP', 'DIP avg' or a baseline) on one image of ``table``.

    ``seed`` is the fit's seed for 'DIP' (the table's seed + the run number) and the table's
    seed otherwise; ``settings`` (the resolved settings, JSON-able) hold the table's seed, which
    draws the noise / mask. ``needs``: the jobs whose results this one reads ('DIP avg')."""
    table: str
    name: str            # registry name, e.g. 'CBM3D9/image_House256rgb.png'
    key: str             # file stem, e.g. 'image_House256rgb'
    set: str
    method: str
    seed: int
    settings: dict = field(repr=False)
    needs: tuple = ()
    device: str | None = None     # None: the worker's own (DIP_DEVICE or its best device)

    @property
    def stem(self) -> str:
        return f"{self.key}.{self.method.lower().replace(' ', '-')}.seed{self.seed}"

    @property
    def filename(self) -> str:
        return self.stem + ".json"

    def describe(self) -> str:
        return f"{self.key} {self.method} seed {self.seed}"

    def as_dict(self) -> dict:
        return {"table": self.table, "name": self.name, "key": self.key, "set": self.set, "method": self.method,
                "seed": self.seed, "settings": self.settings, "needs": [n.stem for n in self.needs],
                "device": self.device}


# --- files -----------------------------------------------------------------------------------

def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a unique temporary file in the same folder + rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)            # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _same(a, b) -> bool:
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def read_result(path: Path, settings: dict | None = None) -> tuple[dict | None, str | None]:
    """``(record, None)`` for a complete result written with ``settings`` (any settings when None);
    ``(None, why)`` otherwise, ``why`` naming the file and the problem (None when it is absent)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, None
    except OSError as e:
        return None, f"{path}: unreadable ({e.strerror})"
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as e:
        return None, f"{path}: corrupt or partial result file ({e.msg} at line {e.lineno})"
    if not isinstance(rec, dict):
        return None, f"{path}: corrupt result file (not a JSON object)"
    missing = [k for k in REQUIRED_KEYS if k not in rec]
    if missing:
        return None, f"{path}: incomplete result file (missing {', '.join(missing)})"
    if settings is not None and not _same(rec["settings"], settings):
        return None, f"{path}: written with other settings"
    return rec, None


# --- locks -----------------------------------------------------------------------------------

HOST = socket.gethostname()
_HELD: set = set()      # tokens of the locks this process holds now


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


class JobLock:
    """``<result>.lock``, created with O_CREAT|O_EXCL and holding ``{"pid", "host", "token"}``."""

    def __init__(self, result_path: Path):
        self.path = Path(str(result_path) + ".lock")
        self.token = uuid.uuid4().hex
        self.held = False

    def owner(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError):
            return {}            # being written or garbled: treat as held, check again later

    def stale(self, owner: dict | None) -> bool:
        """A lock left by a dead process of this host (garbled locks older than a minute too)."""
        if owner is None:
            return False
        if not owner:
            try:
                return time.time() - self.path.stat().st_mtime > 60
            except FileNotFoundError:
                return False
        if owner.get("host") != HOST:
            return False
        pid = int(owner.get("pid", -1))
        if pid == os.getpid():          # this process, but no lock it holds now (an interrupted call)
            return owner.get("token") not in _HELD
        return not _pid_alive(pid)

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump({"pid": os.getpid(), "host": HOST, "token": self.token, "since": time.time()}, f)
        self.held = True
        _HELD.add(self.token)
        return True

    def acquire(self) -> bool:
        """Take the lock (taking over a stale one); False while another live run holds it."""
        if self._create():
            return True
        if not self.stale(self.owner()):
            return False
        with _guard(self.path.parent):          # one take-over at a time
            if not self.stale(self.owner()):    # someone else took it over meanwhile
                return False
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            return self._create()

    def release(self) -> None:
        if self.held and (self.owner() or {}).get("token") == self.token:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        self.held = False
        _HELD.discard(self.token)

    def holder(self) -> str:
        o = self.owner() or {}
        return f"pid {o.get('pid', '?')} on {o.get('host', '?')}"


class _guard:
    """``fcntl.flock`` on ``FOLDER/.locks`` (a no-op where fcntl does not exist)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / ".locks"

    def __enter__(self):
        try:
            import fcntl
        except ImportError:
            self.f = None
            return self
        self.f = open(self.path, "a")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.f is not None:
            import fcntl
            fcntl.flock(self.f, fcntl.LOCK_UN)
            self.f.close()


# --- executors -------------------------------------------------------------------------------

class InlineExecutor(cf.Executor):
    """A ``concurrent.futures`` executor that runs each job at submission, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        f = cf.Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as e:      # noqa: BLE001 - handed to the caller through the future
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            f.set_exception(e)
        return f


_WORKER_DEVICE = None


def _pin_worker(queue) -> None:
    """Initializer of a local GPU worker: take one device index and make it current."""
    global _WORKER_DEVICE
    import torch
    index = queue.get()
    torch.cuda.set_device(index)
    _WORKER_DEVICE = f"cuda:{index}"


def worker_device(default=None):
    """The device this process was pinned to (local GPU pool), else ``default``."""
    return _WORKER_DEVICE if _WORKER_DEVICE is not None else default


@dataclass
class ExecutorChoice:
    executor: cf.Executor
    slots: int               # jobs in flight at once
    description: str
    close: Callable = lambda: None


def make_executor(device=None, scheduler: str | None = None, workers: int | None = None) -> ExecutorChoice:
    """The executor ``reproduce`` uses.

    ``scheduler='tcp://HOST:PORT'``: a dask.distributed cluster (one job per worker thread).
    Otherwise local: when ``device`` is CUDA without an index and more than one device is
    visible, one process per GPU (``workers`` processes, pinned to the GPUs in turn, if given);
    else ``workers`` processes if > 1; else sequential in this process.
    """
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise ValueError(DASK_MISSING) from None
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise ValueError(f"cannot reach the dask scheduler at {scheduler}: {e}; start one with "
                             f"'dask scheduler' and workers with 'dask worker {scheduler}'") from None
        nthreads = sum(client.nthreads().values())
        if nthreads == 0:
            client.wait_for_workers(1, timeout=60)
            nthreads = sum(client.nthreads().values())
        return ExecutorChoice(client.get_executor(pure=False), max(1, nthreads),
                              f"dask cluster {scheduler} ({len(client.nthreads())} workers, {nthreads} threads)",
                              client.close)
    import torch
    dev = None if device is None else torch.device(device)
    n_gpu = torch.cuda.device_count() if (dev is not None and dev.type == "cuda" and dev.index is None) else 0
    if n_gpu > 1 and (workers is None or workers > 1):
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        n = workers or n_gpu
        q = ctx.Queue()
        for i in range(n):
            q.put(i % n_gpu)             # GPUs in turn when --workers asks for more processes than GPUs
        ex = cf.ProcessPoolExecutor(n, mp_context=ctx, initializer=_pin_worker, initargs=(q,))
        what = "one per GPU" if n == n_gpu else f"on {n_gpu} GPUs in turn"
        return ExecutorChoice(ex, n, f"{n} local worker processes, {what}", lambda: ex.shutdown(cancel_futures=True))
    if workers and workers > 1:
        import multiprocessing as mp
        ex = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))
        return ExecutorChoice(ex, workers, f"{workers} local worker processes",
                              lambda: ex.shutdown(cancel_futures=True))
    return ExecutorChoice(InlineExecutor(), 1, "sequential, in this process")


# --- the driver ---------------------------------------------------------------------------

def _remove_old_temporaries(folder: Path, age: float = 3600.0) -> None:
    """Delete temporary files of :func:`write_atomic` left by killed runs (older than ``age`` s:
    a live writer holds one for milliseconds)."""
    now = time.time()
    for f in Path(folder).glob(".*.tmp"):
        try:
            if now - f.stat().st_mtime > age:
                f.unlink()
        except FileNotFoundError:
            pass


@dataclass
class RunSummary:
    records: dict            # job stem -> record
    skipped: list            # jobs finished before this run
    ran: list                # jobs run by this run
    others: list             # jobs finished by another run while this one waited
    failed: dict             # job stem -> error message


def run_jobs(jobs: list, folder: Path, fn: Callable, write: Callable, choice: ExecutorChoice, force=False,
             log=print, poll: float = 1.0, gather: Callable | None = None,
             done: Callable | None = None) -> RunSummary:
    """Run the ``jobs`` whose results are missing in ``folder`` and return every record.

    ``fn(job_dict, inputs)`` computes one job on the executor (``inputs = gather(job)``, by
    default the records of the jobs it ``needs``) and returns ``{"record": ..., "files":
    {suffix: bytes}}``; ``write(job, output)`` writes it (atomically) in this process, then
    ``done(job, record)`` is called (progress lines).
    """
    folder = Path(folder)
    _remove_old_temporaries(folder)
    records, skipped, ran, others, failed = {}, [], [], [], {}
    todo = []
    for job in jobs:
        rec, why = (None, None) if force else read_result(folder / job.filename, job.settings)
        if rec is not None:
            records[job.stem] = rec
            skipped.append(job)
            continue
        if why:
            log(f"  {why}: running {job.describe()} again")
        todo.append(job)
    if skipped:
        log(f"skipping {len(skipped)} finished job{'s' * (len(skipped) != 1)} (results in {folder})")
    if not todo:
        return RunSummary(records, skipped, ran, others, failed)
    log(f"running {len(todo)} job{'s' * (len(todo) != 1)}: {choice.description}")

    in_flight: dict = {}          # future -> (job, lock)
    waiting_note = set()
    stems_failed = set()

    def ready(job) -> bool | None:
        """True when the jobs it needs are done, None when one of them failed."""
        if any(n.stem in stems_failed for n in job.needs):
            return None
        return all(n.stem in records for n in job.needs)

    pending = list(todo)
    try:
        while pending or in_flight:
            progressed = False
            for job in list(pending):
                if len(in_flight) >= choice.slots:
                    break
                r = ready(job)
                if r is None:
                    pending.remove(job)
                    failed[job.stem] = "a job it needs failed"
                    stems_failed.add(job.stem)
                    continue
                if not r:
                    continue
                path = folder / job.filename
                lock = JobLock(path)
                if not lock.acquire():
                    if job.stem not in waiting_note:
                        log(f"  {job.describe()}: being run by another run ({lock.holder()}, {lock.path}); waiting")
                        waiting_note.add(job.stem)
                    rec, _ = read_result(path, job.settings)
                    if rec is not None and not force:
                        records[job.stem] = rec
                        others.append(job)
                        pending.remove(job)
                        progressed = True
                    continue
                rec, _ = (None, None) if force else read_result(path, job.settings)
                if rec is not None:           # finished by another run just before we locked
                    lock.release()
                    records[job.stem] = rec
                    others.append(job)
                    pending.remove(job)
                    progressed = True
                    continue
                try:
                    inputs = gather(job) if gather else {n.stem: records[n.stem] for n in job.needs}
                except OSError as e:
                    lock.release()
                    log(f"  {job.describe()}: FAILED (cannot read its inputs: {e})")
                    failed[job.stem] = str(e)
                    stems_failed.add(job.stem)
                    pending.remove(job)
                    continue
                try:
                    fut = choice.executor.submit(fn, job.as_dict(), inputs)
                except BaseException:       # Ctrl-C in an inline job, a closed executor: unlock first
                    lock.release()
                    raise
                in_flight[fut] = (job, lock)
                pending.remove(job)
                progressed = True
            if not in_flight:
                if pending and not progressed:
                    time.sleep(poll)
                continue
            finished, _ = cf.wait(list(in_flight), timeout=poll, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                job, lock = in_flight.pop(fut)
                try:
                    try:
                        out = fut.result()
                    except Exception as e:        # noqa: BLE001 - one failed job does not stop the table
                        msg = f"{type(e).__name__}: {e}".strip().splitlines()[0]
                        log(f"  {job.describe()}: FAILED ({msg})")
                        failed[job.stem] = msg
                        stems_failed.add(job.stem)
                        continue
                    write(job, out)
                    records[job.stem] = out["record"]
                    ran.append(job)
                    if done:
                        done(job, out["record"])
                finally:
                    lock.release()
    finally:
        for fut, (job, lock) in in_flight.items():
            fut.cancel()
            lock.release()
    return RunSummary(records, skipped, ran, others, failed)


def versions() -> dict:
    import torch
    from .. import __version__
    return {"dip_lib": __version__, "torch": torch.__version__, "python": sys.version.split()[0]}
