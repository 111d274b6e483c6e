"""One source for the notebooks' run times: ``dip_lib/problems/runtimes.json``.

The file holds, for every notebook and preset, how long the notebook takes to run top to bottom
(seconds, measured with nbconvert on this machine; the ``paper`` column is an estimate for one GPU
until someone measures it). Everything else is written from it:

- the README's notebook table (the ``test``, ``cpu`` and ``paper`` columns);
- each notebook's header table (``| `test` | CI | ~30 s |``);
- the presets' ``minutes`` (``dip.preset(app).minutes``: settings.py reads the file).

Seconds belong to one machine. The file also keeps, per preset, the machine's *reference step*
(``reference_step``: the plain fp32 step of the default network at 256 px, measured by
``benchmarks/bench_fit.py``'s ``reference_step`` in the same run, with the same threads), so
each time is also a machine-independent cost: seconds / reference step. The `cpu` column of the
README and the notebook headers give both; the goal is every `cpu` notebook <= 200 reference steps
(5 min on the slowest machine met so far, whose reference step is 1.5 s).

Commands (run from the repository root)::

    python tools/runtimes.py --preset test                 # time every notebook in a preset, then write
    python tools/runtimes.py --preset cpu --notebooks 00 03  # only some notebooks
    python tools/runtimes.py write                         # rewrite the README and the headers from the file
    python tools/runtimes.py check                         # exit 1 when they disagree with the file
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIMES = ROOT / "dip_lib" / "problems" / "runtimes.json"
README = ROOT / "README.md"
PRESETS = ("test", "cpu", "paper")
WHERE = {"test": "CI", "cpu": "Binder / laptop", "paper": "GPU (Colab)"}

__all__ = ["load", "save", "fmt", "notebook_source", "header_rows", "readme_cells", "write", "check", "measure",
           "main"]


def load(path: Path | str = RUNTIMES) -> dict:
    """The run-times file as a dict (``notebooks``: name -> application, seconds per preset, notes)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    for name, entry in data["notebooks"].items():
        missing = [p for p in PRESETS if p not in entry.get("seconds", {})]
        if missing:
            raise ValueError(f"{path}: notebook {name} has no run time for preset(s) {', '.join(missing)}")
    return data


def save(data: dict, path: Path | str = RUNTIMES) -> None:
    Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def fmt(seconds: float) -> str:
    """'30 s' under a minute, '1.1 min' under ten, '20 min' above."""
    if seconds < 59.5:
        return f"{max(1, round(seconds))} s"
    minutes = seconds / 60
    text = f"{minutes:.1f}" if minutes < 9.95 else f"{minutes:.0f}"
    return f"{text.rstrip('0').rstrip('.') if '.' in text else text} min"


def minutes(seconds: float) -> float:
    """The presets' ``minutes``: one decimal, at least 0.1 (the same rule as settings.py)."""
    return max(0.1, round(seconds / 60, 1))


def notebook_source(name: str, root: Path = ROOT) -> Path:
    return root / "notebooks" / f"{name}.py"


def _note(entry: dict, preset: str) -> str:
    note = entry.get("notes", {}).get(preset)
    return f" ({note})" if note else ""


def reference_steps(data: dict, entry: dict, preset: str) -> int | None:
    """The notebook's cost in reference steps in ``preset`` (None: no reference step measured for it)."""
    ref = data.get("reference_step", {}).get(preset)
    if not ref:
        return None
    return round(entry["seconds"][preset] / ref["seconds"])


def _cost(data: dict, entry: dict, preset: str, sep: str = " ≈ ") -> str:
    """The `cpu` cost in reference steps as text (empty for the other presets or without a reference step)."""
    n = reference_steps(data, entry, preset) if preset == "cpu" else None
    return "" if n is None else f"{sep}{n} ref. steps"


def header_rows(entry: dict, data: dict | None = None) -> list[str]:
    """The three rows of a notebook's header table."""
    data = data or {}
    return [f"# | `{p}` | {WHERE[p]} | ~{fmt(entry['seconds'][p])}{_cost(data, entry, p)}{_note(entry, p)} |"
            for p in PRESETS]


_HEADER = re.compile(r"^# \| `(test|cpu|paper)` \| [^|\n]*\| [^\n]*\|$", re.M)
_ROW = re.compile(r"^\| (\d\d) \|.*\|$", re.M)


def readme_cells(entry: dict, data: dict | None = None) -> list[str]:
    """The README's three run-time cells of a notebook (†: measured with random AlexNet weights); the
    `cpu` cell also gives the cost in reference steps."""
    data = data or {}
    return [fmt(entry["seconds"][p]) + ("†" if "random" in entry.get("notes", {}).get(p, "") else "")
            + _cost(data, entry, p, sep=" · ") for p in PRESETS]


def _new_header(text: str, entry: dict, name: str, data: dict | None = None) -> str:
    rows = iter(header_rows(entry, data))
    found = len(_HEADER.findall(text))
    if found != len(PRESETS):
        raise ValueError(f"notebooks/{name}.py: expected the run-time table of the template "
                         f"(rows | `test` | CI | ... |), found {found} of its rows")
    return _HEADER.sub(lambda m: next(rows), text)


def _new_readme(text: str, data: dict) -> str:
    by_number = {name[:2]: entry for name, entry in data["notebooks"].items()}
    seen = set()

    def row(m):
        entry = by_number.get(m.group(1))
        if entry is None:
            return m.group(0)
        seen.add(m.group(1))
        cells = m.group(0).strip().strip("|").split(" | ")
        cells = [c.strip() for c in cells]
        cells[-3:] = readme_cells(entry, data)
        return "| " + " | ".join(cells) + " |"

    out = _ROW.sub(row, text)
    missing = sorted(set(by_number) - seen)
    if missing:
        raise ValueError(f"README.md has no row for notebook(s) {', '.join(missing)} in its notebook table")
    return out


def _targets(data: dict, root: Path = ROOT) -> list[tuple[Path, str, str]]:
    """(path, current text, text written from the file) for the README and every notebook source."""
    out = []
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    out.append((readme, text, _new_readme(text, data)))
    for name, entry in data["notebooks"].items():
        path = notebook_source(name, root)
        text = path.read_text(encoding="utf-8")
        out.append((path, text, _new_header(text, entry, name, data)))
    return out


def _settings_problems(data: dict) -> list[str]:
    import dip_lib as dip
    problems = []
    for name, entry in data["notebooks"].items():
        for p in PRESETS:
            want = minutes(entry["seconds"][p])
            got = dip.preset(entry["application"], p).minutes
            if got != want:
                problems.append(f"dip.preset({entry['application']!r}, {p!r}).minutes is {got}, the file says {want}")
    return problems


def check(root: Path = ROOT, path: Path | str = RUNTIMES, settings: bool = True) -> list[str]:
    """What disagrees with the run-times file (empty: all in sync)."""
    data = load(path)
    problems = [f"{p.relative_to(root)} is out of date with {Path(path).name}"
                for p, old, new in _targets(data, root) if old != new]
    return problems + (_settings_problems(data) if settings else [])


def write(root: Path = ROOT, path: Path | str = RUNTIMES, verbose: bool = True) -> list[Path]:
    """Rewrite the README table and the notebook headers from the file; return the files changed.
    (The notebooks' .ipynb pairs follow with ``jupytext --sync``, which this runs when it can.)"""
    data = load(path)
    changed = []
    for p, old, new in _targets(data, root):
        if old != new:
            p.write_text(new, encoding="utf-8")
            changed.append(p)
            if verbose:
                print("wrote", p.relative_to(root))
    sources = [str(p) for p in changed if p.suffix == ".py" and "formats: ipynb" in p.read_text(encoding="utf-8")[:1000]]
    if sources:
        import subprocess
        jupytext = Path(sys.executable).with_name("jupytext")
        cmd = [str(jupytext)] if jupytext.exists() else [sys.executable, "-m", "jupytext"]
        subprocess.run(cmd + ["--sync", "--quiet", *sources], check=True, cwd=root)
    return changed


def _execute(notebook: Path, timeout: int) -> float:
    """Seconds ``jupyter nbconvert --execute`` takes for the notebook (a fresh process and kernel each)."""
    import subprocess
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [str(jupyter) if jupyter.exists() else "jupyter", "nbconvert", "--to", "notebook", "--execute", "--stdout",
           f"--ExecutePreprocessor.timeout={timeout}", str(notebook)]
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=notebook.parent)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(done.stderr.strip() or f"nbconvert exited with {done.returncode}")
    return seconds


def measure_reference(threads: int | None = None) -> dict:
    """This machine's reference step (benchmarks/bench_fit.py), in a fresh process with ``threads``."""
    import subprocess
    code = ("import json, sys, torch; sys.path.insert(0, 'benchmarks'); import bench_fit as b; "
            "print(json.dumps({'seconds': round(b.reference_step('cpu'), 4), 'machine': b.cpu_name(), "
            "'threads': torch.get_num_threads(), 'date': __import__('datetime').date.today().isoformat()}))")
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"could not measure the reference step: {done.stderr.strip()[-300:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(preset: str, numbers: list[str] | None = None, path: Path | str = RUNTIMES, threads: int | None = None,
            timeout: int = 3600, verbose: bool = True) -> dict:
    """Run notebooks top to bottom in ``preset`` (nbconvert, one at a time) and store their run times."""
    if preset not in ("test", "cpu"):
        raise ValueError(f"measure the test or cpu preset here (paper needs a GPU), not {preset!r}")
    data = load(path)
    names = list(data["notebooks"])
    if numbers:
        unknown = [n for n in numbers if not any(name.startswith(n) for name in names)]
        if unknown:
            raise ValueError(f"no notebook numbered {', '.join(unknown)}; choose from {', '.join(n[:2] for n in names)}")
        names = [name for name in names if any(name.startswith(n) for n in numbers)]
    env = {"DIP_PRESET": preset, "DIP_DEVICE": "cpu", "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    if threads is None and preset == "test":
        threads = 1                       # as CI runs the notebooks (make test: OMP_NUM_THREADS=1)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    mirror = ROOT.parent / "shared" / "data"
    if "DIP_DATA_DIR" not in os.environ and mirror.is_dir():
        env["DIP_DATA_DIR"] = str(mirror)
    os.environ.update(env)
    ref = measure_reference(threads)
    if verbose:
        print(f"reference step ({ref['machine']}, {ref['threads']} threads): {ref['seconds']:.3f} s", flush=True)
    data.setdefault("reference_step", {})[preset] = ref
    failed = []
    for name in names:
        try:
            seconds = _execute(ROOT / "notebooks" / f"{name}.ipynb", timeout)
        except Exception as e:          # a failing cell: keep the old number, go on with the others
            lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in str(e).splitlines() if line.strip()]
            print(f"error: notebooks/{name}.ipynb failed in preset {preset} ({lines[-1][:200] if lines else e!r}); "
                  f"its run time is not updated", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        data["notebooks"][name]["seconds"][preset] = round(seconds, 1)
        if verbose:
            print(f"{name:<32} {preset}: {seconds:6.1f} s ({fmt(seconds)})", flush=True)
        save(data, path)                  # keep what is measured even if a later notebook fails
    import torch
    data.setdefault("measured", {})[preset] = (
        f"{datetime.date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', 'unset')}; jupyter nbconvert --execute, one notebook at a time"
        + ("" if len(names) == len(data["notebooks"]) else f" (last run: {', '.join(n[:2] for n in names)})"))
    save(data, path)
    if failed:
        raise ValueError(f"{len(failed)} notebook(s) failed and kept their old run time: "
                         f"{', '.join(n[:2] for n in failed)}")
    return data


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in ("write", "check", "measure") else "measure"
    parser = argparse.ArgumentParser(prog=f"python tools/runtimes.py {command}", description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", default=str(RUNTIMES), help="the run-times file (default: %(default)s)")
    if command == "measure":
        parser.add_argument("--preset", required=True, choices=("test", "cpu"), help="the preset to time")
        parser.add_argument("--notebooks", nargs="+", metavar="NN", help="notebook numbers (default: all)")
        parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS (test: 1, as in CI)")
        parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell before giving up")
        parser.add_argument("--no-write", action="store_true", help="only update the file")
    args = parser.parse_args(argv)
    try:
        if command == "check":
            problems = check(path=args.file)
            for p in problems:
                print("error:", p, file=sys.stderr)
            if problems:
                print("run `python tools/runtimes.py write` (and commit the result).", file=sys.stderr)
                return 1
            print("README, notebook headers and presets agree with", Path(args.file).name)
            return 0
        if command == "measure":
            measure(args.preset, args.notebooks, args.file, args.threads, args.timeout)
            if args.no_write:
                return 0
        changed = write(path=args.file)
        print(f"{len(changed)} file(s) written" if changed else "README and notebook headers already up to date")
        return 0
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
