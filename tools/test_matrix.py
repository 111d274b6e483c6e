"""The portability matrix: every `test`-preset notebook and exercise in numerically different environments.

(With ``--preset cpu``: the `cpu` lessons of notebooks 00, 03, 05, 06 and 12 over seeds 0-2, plus
seed 0 with the kernels capped at AVX2: ``make test-cpu-matrix``, slow, not in CI. Seed 0 runs in
this machine's own environment, two threads, alone: those runs are timed (in seconds and reference
steps) and write the figure gallery, ``docs/figures``; the other cells run one thread each, two
side by side.)

A check that passes on one machine may fail on the next: thread counts, CPU kernels and seeds
each change a fit's floating-point path. This script simulates other machines on this one and
collects **every check's margin** (``dip.check``: value minus threshold, in the claim's unit):

    python tools/test_matrix.py                       # the whole matrix (about 30 min on 2 cores)
    python tools/test_matrix.py --envs t1-default t2-default --only notebooks   # CI's slice
    python tools/test_matrix.py --list                # the environments and what each runs
    python tools/test_matrix.py --report-only         # rebuild the tables from finished cells

Environments (one per column; each sets variables read before torch starts):

- ``t1``: ``OMP_NUM_THREADS=1``, the CPU's best kernels, seed 0 (what ``make test`` runs);
- ``t2``: two threads;
- ``t1-default`` / ``t2-default``: ``ATEN_CPU_CAPABILITY=default`` (no vector kernels in ATen);
- ``t1-avx2``: ATen and oneDNN capped at AVX2 (an AVX2-only CPU such as a Zen 3);
- ``t1-sse41``: ``ONEDNN_MAX_CPU_ISA=SSE41`` and ATen's default kernels, the slowest path: only on
  the short notebooks (it ran one notebook for over 25 min on a Zen 3);
- ``seed1`` / ``seed2``: ``DIP_SEED`` 1 and 2 (other θ, z, noise and masks), one thread.

Each cell (environment x notebook) runs in its own process with ``DIP_CHECKS_SOFT=1``, so a
failing check is recorded and the notebook goes on; its lines land in
``build/test-matrix/cells/ENV/NOTEBOOK.jsonl`` and a rerun skips finished cells (``--force``
reruns them). Cells run in parallel on the machine's cores (a two-thread cell takes two).

The report (``--out``, default ``benchmarks/results/test-matrix-<machine>-<date>``, ``.md`` and
``.json``) has one row per check: its smallest margin, where it happened, the spread (max - min) of
its value across the numeric environments (seed 0) and across seeds, its standard deviation σ over
all cells, and whether the smallest margin is at least 3σ (the threshold sits outside the spread
the matrix measured; "tight" otherwise). The exit status is 1 when a check fails, or a notebook fails, in any cell.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "test-matrix"
SHORT = ("00_tour", "02_prior_samples", "07_detail_enhancement", "08_flash_no_flash", "02_prior_samples_without_skips")

# name -> (variables, scope): scope 'all', 'short' (SHORT only) or 'lessons' (CPU_NOTEBOOKS only)
ENVS: dict[str, tuple[dict, str]] = {
    "t1": ({"OMP_NUM_THREADS": "1"}, "all"),
    "t2": ({"OMP_NUM_THREADS": "2"}, "all"),
    "t1-default": ({"OMP_NUM_THREADS": "1", "ATEN_CPU_CAPABILITY": "default"}, "all"),
    "t2-default": ({"OMP_NUM_THREADS": "2", "ATEN_CPU_CAPABILITY": "default"}, "all"),
    "t1-avx2": ({"OMP_NUM_THREADS": "1", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}, "all"),
    "t1-sse41": ({"OMP_NUM_THREADS": "1", "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}, "short"),
    "seed1": ({"OMP_NUM_THREADS": "1", "DIP_SEED": "1"}, "all"),
    "seed2": ({"OMP_NUM_THREADS": "1", "DIP_SEED": "2"}, "all"),
    # the `cpu` preset: this machine's own environment (2 threads: the timed runs, the gallery) at seed 0; seeds 1
    # and 2 and the AVX2 kernels one thread each, two cells side by side (more runs per hour than one at a time)
    "cpu-t2": ({"OMP_NUM_THREADS": "2"}, "all"),
    "cpu-seed1": ({"OMP_NUM_THREADS": "1", "DIP_SEED": "1"}, "lessons"),
    "cpu-seed2": ({"OMP_NUM_THREADS": "1", "DIP_SEED": "2"}, "lessons"),
    "cpu-t1-avx2": ({"OMP_NUM_THREADS": "1", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}, "lessons"),
}
PRESET_ENVS = {"test": ["t1", "t2", "t1-default", "t2-default", "t1-avx2", "t1-sse41", "seed1", "seed2"],
               "cpu": ["cpu-t2", "cpu-seed1", "cpu-seed2", "cpu-t1-avx2"]}
CPU_NOTEBOOKS = ("00", "03", "05", "06", "12")      # the cpu lessons run over seeds and kernels
CPU_TIMED = ("04", "11")                            # ... and these only once, timed (seed 0, two threads)
NUMERIC = ("t1", "t2", "t1-default", "t2-default", "t1-avx2", "t1-sse41",   # seed 0: only the arithmetic differs
           "cpu-t2", "cpu-t1-avx2")
SEEDS = ("t1", "seed1", "seed2", "cpu-t2", "cpu-seed1", "cpu-seed2")  # one environment, three seeds
# relative cost of a cell (measured on a 2-core Xeon: a 64 px fit step, one thread = 1)
COST = {"t1": 1.0, "t2": 0.8, "t1-default": 1.5, "t2-default": 1.2, "t1-avx2": 1.0, "t1-sse41": 2.0,
        "seed1": 1.0, "seed2": 1.0, "cpu-t2": 1.0, "cpu-seed1": 1.4, "cpu-seed2": 1.4, "cpu-t1-avx2": 1.4}

__all__ = ["ENVS", "NUMERIC", "SEEDS", "notebooks", "cells", "run_cell", "collect", "summarise", "markdown", "main"]


def notebooks(only: str = "all") -> dict[str, Path]:
    """name -> path of every `test`-preset notebook (``notebooks/``) and exercise solution (``exercises/``)."""
    out = {}
    if only in ("all", "notebooks"):
        out.update({p.stem: p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))})
    if only in ("all", "exercises"):
        out.update({f"ex{p.stem}": p for p in sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))})
    return out


def _short(name: str) -> bool:
    return name.removeprefix("ex") in SHORT


def cells(envs, names) -> list[tuple[str, str]]:
    """The (environment, notebook) pairs to run: every notebook in an 'all' environment, the short ones in 'short',
    the cpu lessons (00 03 05 06 12) in 'lessons'."""
    scope = {"all": lambda n: True, "short": _short, "lessons": lambda n: n[:2] in CPU_NOTEBOOKS}
    return [(e, n) for e in envs for n in names if scope[ENVS[e][1]](n)]


def _seconds(preset: str) -> dict:
    try:
        data = json.loads((ROOT / "dip_lib" / "problems" / "runtimes.json").read_text(encoding="utf-8"))
        return {k: v["seconds"][preset] for k, v in data["notebooks"].items()}
    except (OSError, KeyError, ValueError):
        return {}


def _cell_paths(env: str, name: str) -> tuple[Path, Path]:
    d = BUILD / "cells" / env
    return d / f"{name}.jsonl", d / f"{name}.run.json"


def _preset_of(env: str) -> str:
    return "cpu" if env.startswith("cpu-") else "test"


def run_cell(env: str, name: str, path: Path, timeout: int) -> dict:
    """Run one notebook in one environment (its own process); return its run record."""
    checks, record = _cell_paths(env, name)
    checks.parent.mkdir(parents=True, exist_ok=True)
    checks.unlink(missing_ok=True)
    variables, _ = ENVS[env]
    environ = {k: v for k, v in os.environ.items()
               if k not in ("OMP_NUM_THREADS", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DIP_SEED")}
    environ.update(DIP_PRESET=_preset_of(env), DIP_DEVICE="cpu", MPLBACKEND="Agg", PYDEVD_DISABLE_FILE_VALIDATION="1",
                   DIP_CHECKS=str(checks), DIP_CHECKS_SOFT="1", DIP_CHECKS_NOTEBOOK=name, **variables)
    mirror = ROOT.parent / "shared" / "data"
    if "DIP_DATA_DIR" not in environ and mirror.exists():
        environ["DIP_DATA_DIR"] = str(mirror)
    if env == "cpu-t2" and not name.startswith("ex"):      # seed 0, own environment: the gallery's figures
        environ["DIP_GALLERY"] = str(ROOT / "docs" / "figures")
    out_dir = BUILD / "executed" / env
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
           f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", str(out_dir), "--output", name, str(path)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=path.parent, env=environ, capture_output=True, text=True, timeout=timeout + 120)
        ok, tail = proc.returncode == 0, proc.stderr[-2000:]
    except subprocess.TimeoutExpired:
        ok, tail = False, f"timed out after {timeout + 120} s"
    error = None
    if not ok:
        found = re.findall(r"^(\w*(?:Error|Exception|CheckFailed)\b.*)$", tail, flags=re.M)
        error = found[-1] if found else tail.strip().splitlines()[-1] if tail.strip() else "failed"
    rec = {"env": env, "notebook": name, "ok": ok, "error": error, "seconds": round(time.perf_counter() - t0, 1),
           "variables": variables}
    record.write_text(json.dumps(rec) + "\n", encoding="utf-8")
    return rec


def run_all(todo: list[tuple[str, str]], paths: dict[str, Path], slots: int, timeout: int, verbose: bool = True):
    """Run the cells, each taking as many of ``slots`` as it has threads: those that fill the machine first
    (one at a time, so a timed run has the machine to itself), then the others side by side, longest first."""
    est = {c: _seconds(_preset_of(c[0])).get(c[1].removeprefix("ex"), 30) * COST[c[0]] for c in todo}
    threads = {c: min(slots, int(ENVS[c[0]][0].get("OMP_NUM_THREADS", "1"))) for c in todo}
    todo = sorted(todo, key=lambda c: (-threads[c], -est[c]))   # the many-thread cells alone first, then pairs
    free = [slots]
    lock = threading.Condition()
    done = []

    def work(cell):
        env, name = cell
        need = threads[cell]
        with lock:
            lock.wait_for(lambda: free[0] >= need)
            free[0] -= need
        try:
            rec = run_cell(env, name, paths[name], timeout)
        finally:
            with lock:
                free[0] += need
                lock.notify_all()
        done.append(rec)
        if verbose:
            state = "ok" if rec["ok"] else f"FAILED: {rec['error']}"
            print(f"[{len(done)}/{len(todo)}] {env:11s} {name:34s} {rec['seconds']:6.0f} s  {state}", flush=True)
        return rec

    with ThreadPoolExecutor(max_workers=slots) as pool:
        return list(pool.map(work, todo))


def collect(envs=None) -> tuple[list[dict], list[dict]]:
    """(check records, run records) of every finished cell under build/test-matrix/cells."""
    checks, runs = [], []
    for d in sorted((BUILD / "cells").glob("*")):
        if envs and d.name not in envs:
            continue
        for f in sorted(d.glob("*.run.json")):
            runs.append(json.loads(f.read_text(encoding="utf-8")))
        for f in sorted(d.glob("*.jsonl")):
            for line in f.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    checks.append(dict(json.loads(line), env=d.name))
    return checks, runs


def _finite(values) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _spread(values) -> float | None:
    finite = _finite(values)
    return (max(finite) - min(finite)) if len(finite) >= 2 else None


def _std(values) -> float | None:
    finite = _finite(values)
    return statistics.stdev(finite) if len(finite) >= 2 else None


def summarise(checks: list[dict], runs: list[dict]) -> dict:
    """One row per (notebook, claim): smallest margin and where, spreads, and the 3x-spread rule."""
    by = {}
    for c in checks:
        key = (c["notebook"], c["claim"])
        row = by.setdefault(key, {"notebook": c["notebook"], "claim": c["claim"], "op": c["op"],
                                  "threshold": c["threshold"], "cells": {}})
        prev = row["cells"].get(c["env"])
        if prev is None or c["margin"] < prev["margin"]:       # a claim made twice in one run: its worst
            row["cells"][c["env"]] = {"value": c["value"], "margin": c["margin"], "passed": c["passed"]}
    rows = []
    for row in by.values():
        cells_ = row["cells"]
        worst_env = min(cells_, key=lambda e: cells_[e]["margin"])
        m = cells_[worst_env]["margin"]
        numeric = _spread([cells_[e]["value"] for e in NUMERIC if e in cells_])
        seeds = _spread([cells_[e]["value"] for e in SEEDS if e in cells_])
        overall = _spread([v["value"] for v in cells_.values()])
        sd = _std([v["value"] for v in cells_.values()])
        row.update(min_margin=m, worst_env=worst_env, passed=all(v["passed"] for v in cells_.values()),
                   spread_numeric=numeric, spread_seeds=seeds, spread_all=overall, std=sd, n_cells=len(cells_),
                   margin_over_std=(m / sd if sd else None),
                   honest=bool(m > 0 and (sd is None or sd == 0 or m >= 3 * sd)))
        rows.append(row)
    rows.sort(key=lambda r: (r["notebook"], r["claim"]))
    failed_runs = [r for r in runs if not r["ok"]]
    return {"rows": rows, "runs": runs, "failed_runs": failed_runs,
            "passed": bool(rows) and all(r["passed"] for r in rows) and not failed_runs}


def _num(v, fmt="{:+.3g}") -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return fmt.format(v)


def markdown(summary: dict, meta: dict) -> str:
    env_names = [e for e in ENVS if any(e in r["cells"] for r in summary["rows"])]
    lines = [f"# Portability matrix: `{meta['preset']}` preset, {meta['machine']}", "",
             f"{meta['date']}, torch {meta['torch']}, {meta['cores']} cores; command: `{meta['command']}`. "
             f"Margin = value − threshold in the claim's unit (threshold − value for `<`); spreads are max − min "
             f"of the value: *numeric* over {', '.join(e for e in NUMERIC if e in env_names)} (seed 0), *seeds* over "
             f"{', '.join(e for e in SEEDS if e in env_names)}; *σ*: the standard deviation of the value over every "
             f"cell (all environments and seeds). *3σ*: the smallest margin is at least 3σ, so the threshold sits "
             f"outside the spread the matrix measured.", "",
             "| environment | variables | cells | failed | time |", "|---|---|---|---|---|"]
    for e in env_names:
        rs = [r for r in summary["runs"] if r["env"] == e]
        lines.append(f"| `{e}` | {' '.join(f'{k}={v}' for k, v in ENVS[e][0].items())} | {len(rs)} | "
                     f"{sum(not r['ok'] for r in rs)} | {sum(r['seconds'] for r in rs) / 60:.1f} min |")
    ref = meta.get("reference_step")
    if ref:
        lines += ["", f"Reference step (plain fp32 step of the default network at 256 px, {ref['threads']} threads, "
                  f"{ref['machine']}): **{ref['seconds']:.3f} s**. Each notebook run, in seconds and reference steps:",
                  "", "| notebook | " + " | ".join(f"`{e}`" for e in env_names) + " |",
                  "|---|" + "---|" * len(env_names)]
        for nb in sorted({r["notebook"] for r in summary["runs"]}):
            row = []
            for e in env_names:
                r = next((r for r in summary["runs"] if r["env"] == e and r["notebook"] == nb), None)
                row.append("—" if r is None else f"{r['seconds']:.0f} s · {r['seconds'] / ref['seconds']:.0f} ref")
            lines.append(f"| {nb} | " + " | ".join(row) + " |")
    lines += ["", f"**{'All checks pass in every cell' if summary['passed'] else 'FAILURES'}**: "
              f"{len(summary['rows'])} checks, {sum(r['n_cells'] for r in summary['rows'])} check-cells, "
              f"{len(summary['runs'])} notebook runs, {len(summary['failed_runs'])} failed runs.", ""]
    for r in summary["failed_runs"]:
        lines.append(f"- run failed: `{r['env']}` {r['notebook']}: {r['error']}")
    lines += ["", "| notebook | check | op threshold | smallest margin (where) | numeric spread | seed spread | σ | 3σ |",
              "|---|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        flag = "✓" if r["honest"] else ("✗ fails" if not r["passed"] else "tight")
        lines.append(f"| {r['notebook']} | {r['claim']} | {r['op']} {r['threshold']:.4g} | "
                     f"{_num(r['min_margin'])} ({r['worst_env']}) | {_num(r['spread_numeric'], '{:.3g}')} | "
                     f"{_num(r['spread_seeds'], '{:.3g}')} | {_num(r['std'], '{:.3g}')} | {flag} |")
    return "\n".join(lines) + "\n"


def update_runtimes(preset: str, runs: list[dict], reference: dict | None) -> list[str]:
    """Store the seed-0 runs that passed as the notebooks' run times: `cpu` from ``cpu-t2`` (two threads,
    alone) with the reference step; `test` from ``t1`` (one thread, as CI; two cells side by side)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import runtimes
    data = runtimes.load()
    env = "cpu-t2" if preset == "cpu" else "t1"
    done = []
    for r in runs:
        if r["env"] == env and r["ok"] and r["notebook"] in data["notebooks"]:
            data["notebooks"][r["notebook"]]["seconds"][preset] = r["seconds"]
            done.append(r["notebook"][:2])
    if reference:
        data.setdefault("reference_step", {})[preset] = reference
    how = ("OMP_NUM_THREADS=2, alone" if preset == "cpu" else "OMP_NUM_THREADS=1, two notebooks side by side")
    old = data.setdefault("measured", {}).get(preset, "").split(" | earlier: ")[-1]
    data["measured"][preset] = (f"{datetime.date.today().isoformat()}: {', '.join(done)} by tools/test_matrix.py --preset "
                                f"{preset} (nbconvert, {how}, on {machine_tag()}) | earlier: " + old)
    runtimes.save(data)
    runtimes.write()
    return done


def machine_tag() -> str:
    """'cpu-<cores>core-<kind>' from the CPU's name (benchmarks/bench_fit.py's ``cpu_name``)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_fit import cpu_name
    name = cpu_name()
    kind = "xeon" if "Xeon" in name else "epyc" if "EPYC" in name else re.sub(r"[^a-z0-9]+", "-", name.lower())[:20]
    return f"cpu-{os.cpu_count()}core-{kind}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="test", choices=list(PRESET_ENVS),
                    help="test (default): every notebook and exercise; cpu: the cpu lessons of 00 03 05 06 12 "
                         "over seeds (and 04, 11 once, timed)")
    ap.add_argument("--envs", nargs="+", default=None, choices=list(ENVS), help="environments (default: the preset's)")
    ap.add_argument("--only", default="all", choices=["all", "notebooks", "exercises"])
    ap.add_argument("--notebooks", nargs="+", default=None, help="only these (e.g. 04 06 ex01)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="cores to fill (default: all)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per notebook")
    ap.add_argument("--force", action="store_true", help="rerun finished cells")
    ap.add_argument("--fresh", action="store_true", help="forget every finished cell first")
    ap.add_argument("--report-only", action="store_true", help="rebuild the report from finished cells")
    ap.add_argument("--out", default=None, help="report path without suffix (default: benchmarks/results/test-matrix-...)")
    ap.add_argument("--no-report", action="store_true", help="print the table, write no file")
    ap.add_argument("--update-runtimes", action="store_true",
                    help="write the seed-0 runs (test: t1; cpu: cpu-t2, with the reference step) into "
                         "dip_lib/problems/runtimes.json, then `python tools/runtimes.py write`")
    ap.add_argument("--build", default=None, help="folder of the finished cells (default: build/test-matrix[-cpu])")
    ap.add_argument("--list", action="store_true", help="list the environments and cells, run nothing")
    a = ap.parse_args(argv)
    global BUILD
    if a.preset == "cpu":
        BUILD = ROOT / "build" / "test-matrix-cpu"
    if a.build:
        BUILD = Path(a.build).resolve()
    if a.preset == "cpu":
        a.notebooks = a.notebooks or list(CPU_NOTEBOOKS + CPU_TIMED)
        a.only = "notebooks" if a.only == "all" else a.only
    a.envs = a.envs or PRESET_ENVS[a.preset]
    wrong = [e for e in a.envs if _preset_of(e) != a.preset]
    if wrong:
        print(f"error: {', '.join(wrong)} belong(s) to the other preset; --preset {a.preset} takes "
              f"{', '.join(PRESET_ENVS[a.preset])}", file=sys.stderr)
        return 2
    paths = notebooks(a.only)
    if a.notebooks:
        pick = {n for n in paths if any(n.startswith(k) for k in a.notebooks)}
        if not pick:
            print(f"error: no notebook matches {' '.join(a.notebooks)}; names: {', '.join(paths)}", file=sys.stderr)
            return 2
        paths = {n: p for n, p in paths.items() if n in pick}
    todo = cells(a.envs, paths)
    if a.list:
        for e in a.envs:
            n = sum(1 for c in todo if c[0] == e)
            print(f"{e:11s} {' '.join(f'{k}={v}' for k, v in ENVS[e][0].items()):60s} {n} notebooks")
        return 0
    if a.fresh and (BUILD / "cells").exists():
        import shutil
        shutil.rmtree(BUILD / "cells")
    reference = None
    if a.preset == "cpu":
        ref_file = BUILD / "reference_step.json"
        if not a.report_only and not ref_file.exists():
            sys.path.insert(0, str(ROOT / "tools"))
            from runtimes import measure_reference
            ref_file.parent.mkdir(parents=True, exist_ok=True)
            ref_file.write_text(json.dumps(measure_reference(threads=2)) + "\n", encoding="utf-8")
        if ref_file.exists():
            reference = json.loads(ref_file.read_text(encoding="utf-8"))
            print(f"reference step: {reference['seconds']} s ({reference['machine']}, {reference['threads']} threads)")
    if not a.report_only:
        pending = [c for c in todo if a.force or not _cell_paths(*c)[1].exists()]
        if len(pending) < len(todo):
            print(f"skipping {len(todo) - len(pending)} finished cells (--force reruns them)")
        t0 = time.perf_counter()
        run_all(pending, paths, max(1, a.jobs), a.timeout)
        print(f"matrix: {len(pending)} cells in {(time.perf_counter() - t0) / 60:.1f} min")
    wanted = set(todo)
    checks, runs = collect(a.envs)
    checks = [c for c in checks if (c["env"], c["notebook"]) in wanted]
    runs = [r for r in runs if (r["env"], r["notebook"]) in wanted]
    summary = summarise(checks, runs)
    import torch
    meta = {"preset": a.preset, "machine": machine_tag(), "date": datetime.date.today().isoformat(), "torch": torch.__version__,
            "cores": os.cpu_count(), "command": "python tools/test_matrix.py " + " ".join(argv or sys.argv[1:]),
            "reference_step": reference}
    text = markdown(summary, meta)
    if a.no_report:
        print(text)
    else:
        kind = "test-matrix" if a.preset == "test" else "cpu-matrix"
        out = Path(a.out) if a.out else ROOT / "benchmarks" / "results" / f"{kind}-{meta['machine']}-{meta['date']}"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text(text, encoding="utf-8")
        out.with_suffix(".json").write_text(json.dumps({"meta": meta, **summary}, indent=1, default=str) + "\n",
                                            encoding="utf-8")
        print(text)
        print(f"wrote {out.with_suffix('.md')} and .json")
    if a.update_runtimes:
        update_runtimes(a.preset, summary["runs"], reference)
    for r in summary["rows"]:
        if not r["passed"]:
            print(f"FAILED check: {r['notebook']}: {r['claim']} (margin {_num(r['min_margin'])} in {r['worst_env']})",
                  file=sys.stderr)
    for r in summary["failed_runs"]:
        print(f"FAILED run: {r['env']} {r['notebook']}: {r['error']}", file=sys.stderr)
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
