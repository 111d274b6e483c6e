"""Reproduce the paper's tables, side by side with the paper's numbers.

    python -m dip_lib reproduce denoising --preset cpu --images F16 House
    python -m dip_lib reproduce sr4 --images baby bird
    python -m dip_lib reproduce inpainting --preset paper --device cuda

Tables (protocols of Ulyanov, Vedaldi, Lempitsky, IJCV 2020):

- ``denoising``: CBM3D9, Gaussian noise σ=25; DIP's last iterate, its exponential average
  (EMA) and the average of ``restarts`` runs (the paper averages two); baselines NLM and CBM3D
  (when the optional ``bm3d`` package is installed).
- ``sr4`` / ``sr8``: Set5 and Set14, LR = Lanczos downscale of the HR image, E = ||d(f_θ(z)) − y||²
  with z at HR size; PSNR with the SR protocol (``dip.psnr_sr``: Y channel, border of ``factor``
  pixels cropped). HR is centre-cropped to a multiple of the factor and of the network's stride.
  Baselines: nearest neighbour and bicubic upsampling.
- ``inpainting``: Heide11 (grayscale), 50% of pixels dropped by a Bernoulli mask from the seed.

Every image writes ``OUT/TABLE/<image>.json`` (PSNRs, time, settings) and a figure
``<image>.png``; a rerun skips images whose result exists with the same settings, so an
interrupted run resumes. The table is printed as markdown and written to ``table.md`` and
``table.csv``. Settings come from ``dip.preset("reproduce")`` (``dip_lib/problems/settings.py``).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.data import image_set, load_image, resize, crop_to_multiple, save_image
from ..core.device import resolve_device
from ..core.nets import architecture
from ..core.operators import bernoulli_mask
from ..problems.problem import denoising, inpainting, super_resolution
from ..problems.run import solve
from .numbers import paper_entry, paper_name
from ..problems.settings import PRESETS, Reproduce, preset

__all__ = ["TABLES", "TableSpec", "Report", "reproduce", "table_images", "resolve_settings", "main"]

FORMAT = 1  # bump when the result files change meaning (old results are then recomputed)


@dataclass(frozen=True)
class TableSpec:
    name: str
    task: str                    # denoising | sr | inpainting
    sets: tuple[str, ...]
    title: str
    input_label: str             # the degraded input's column
    baselines: tuple[str, ...]   # baseline columns
    factor: int | None = None
    sigma: float | None = None   # noise std on the 0-255 scale
    keep: float | None = None    # fraction of pixels kept by the mask
    channels: int = 3
    paper_method: dict = field(default_factory=dict)  # our column -> the paper's method name


TABLES: dict[str, TableSpec] = {
    "denoising": TableSpec("denoising", "denoising", ("CBM3D9",),
                           "Colour denoising, CBM3D9, σ=25 (PSNR, dB)", "noisy", ("NLM", "CBM3D"),
                           sigma=25,
                           paper_method={"DIP last": "DIP last", "DIP EMA": "DIP EMA", "DIP avg": "DIP",
                                         "NLM": "NLM", "CBM3D": "CBM3D"}),
    "sr4": TableSpec("sr4", "sr", ("Set5", "Set14"), "4x super-resolution, Set5 and Set14 "
                     "(PSNR on Y, border of 4 px cropped)", "nearest", ("bicubic",), factor=4,
                     paper_method={"DIP last": "DIP", "bicubic": "Bicubic"}),
    "sr8": TableSpec("sr8", "sr", ("Set5", "Set14"), "8x super-resolution, Set5 and Set14 "
                     "(PSNR on Y, border of 8 px cropped)", "nearest", ("bicubic",), factor=8,
                     paper_method={"DIP last": "DIP", "bicubic": "Bicubic"}),
    "inpainting": TableSpec("inpainting", "inpainting", ("Heide11",),
                            "Inpainting, Heide11 (grayscale), 50% of pixels missing (PSNR, dB)",
                            "masked", ("biharmonic",), keep=0.5, channels=1,
                            paper_method={"DIP last": "DIP"}),
}


# --- images and settings -------------------------------------------------------------------

def _stem(name: str) -> str:
    return name.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def table_images(table: str, images=None) -> list[tuple[str, str, str]]:
    """(registry name, set, key) of the table's images, optionally a subset.

    ``images`` entries match a file stem ('baby', 'Lena512'), the paper's name ('C.man',
    'Lena'), 'Set5/baby' or a registry path, case-insensitively.
    """
    spec = _spec(table)
    rows = [(n, s, _stem(n)) for s in spec.sets for n in image_set(s)]
    if not images:
        return rows
    chosen = []
    for want in images:
        w = want.lower()
        hits = [r for r in rows if w in (r[2].lower(), paper_name(r[1], r[2]).lower(), r[0].lower(),
                                         f"{r[1]}/{r[2]}".lower())]
        if not hits:
            known = ", ".join(f"{r[2]} ({paper_name(r[1], r[2])})"
                              if paper_name(r[1], r[2]).lower() != r[2].lower() else r[2] for r in rows)
            raise KeyError(f"{want!r} is not an image of the {table} table; choose among: {known}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def _spec(table: str) -> TableSpec:
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
    return TABLES[table]


_RUN_KEYS = ("arch", "size", "width", "input", "input_depth", "steps", "lr", "sigma_p", "ema", "every", "backtrack",
             "restarts")


def resolve_settings(table: str, preset_name: str | None = None, image: str | None = None,
                     restarts: int | None = None, seed: int = 0) -> dict:
    """The settings one image of ``table`` runs with, as a JSON-able dict: the ``reproduce``
    preset with its scopes applied ('sr' for both SR tables, then the table, then 'TABLE/image')."""
    spec = _spec(table)
    p = preset("reproduce", preset_name).for_image(table, image, spec.task)
    if restarts is not None:
        if int(restarts) < 1:
            raise ValueError(f"restarts must be >= 1, got {restarts}")
        p = p.replace(restarts=int(restarts))
    s = {k: getattr(p, k) for k in _RUN_KEYS}
    s.update(table=table, preset=p.name, seed=int(seed), factor=spec.factor, sigma=spec.sigma, keep=spec.keep,
             channels=spec.channels, format=FORMAT)
    return s


def _settings(s: dict) -> Reproduce:
    return Reproduce(name=s["preset"], application="reproduce", **{k: s[k] for k in _RUN_KEYS})


def _load(name: str, s: dict, spec: TableSpec, stride: int) -> torch.Tensor:
    img = load_image(name, channels=spec.channels, verbose=False)
    multiple = math.lcm(stride, spec.factor) if spec.factor else stride
    if s["size"]:
        h, w = img.shape[-2:]
        # longer side = size, but the shorter one keeps >= 2 strides (reflect padding needs
        # at least 2 pixels at the deepest scale)
        scale = max(s["size"] / max(h, w), min(1.0, 2 * multiple / min(h, w)))
        img = resize(img, (round(h * scale), round(w * scale)))
    return crop_to_multiple(img, multiple, verbose=False)


# --- one image -------------------------------------------------------------------------------

def _baseline(kind: str, degraded: torch.Tensor, spec: TableSpec, mask=None):
    """A baseline's output, or None (with the reason) when it is unavailable."""
    from ..problems import baselines
    try:
        if kind == "NLM":
            return baselines.nlm(degraded, spec.sigma / 255), None
        if kind == "CBM3D":
            return baselines.cbm3d(degraded, spec.sigma / 255), None
        if kind == "bicubic":
            return baselines.bicubic(degraded, spec.factor), None
        if kind == "biharmonic":
            return baselines.biharmonic_inpaint(degraded, mask), None
    except baselines.MissingOptionalDependency as e:
        return None, str(e).split(":")[0]
    raise ValueError(f"unknown baseline {kind!r}")


def run_image(table: str, name: str, s: dict, device=None, verbose: bool = True) -> dict:
    """Degrade one image, fit DIP ``s['restarts']`` times, score it and the baselines.

    Returns the result record (JSON-able) plus the images under the key ``_images``.
    """
    spec = _spec(table)
    device = resolve_device(device)
    p = _settings(s)
    stride = architecture(p.arch, in_channels=p.input_depth, width=p.width).stride
    clean = _load(name, s, spec, stride)
    seed = s["seed"]
    mask = None
    if spec.task == "denoising":
        problem = denoising(clean, sigma=spec.sigma, seed=seed)
        degraded = shown_input = problem.observation
    elif spec.task == "sr":
        f = spec.factor
        degraded = resize(clean, (clean.shape[-2] // f, clean.shape[-1] // f))  # PIL Lanczos, as the paper
        problem = super_resolution(clean, f, low=degraded)
        shown_input = F.interpolate(degraded, scale_factor=f, mode="nearest")
    else:
        mask = bernoulli_mask(clean, keep=spec.keep, seed=seed)
        problem = inpainting(clean, mask)
        degraded = shown_input = problem.observation
    metric = problem.metric
    scores = {spec.input_label: metric(shown_input, clean)}
    outputs, notes = {}, {}
    for kind in spec.baselines:
        out, why = _baseline(kind, degraded, spec, mask)
        scores[kind] = None if out is None else metric(out, clean)
        if out is not None:
            outputs[kind] = out
        if why:
            notes[kind] = why

    t0 = time.perf_counter()
    results = []
    for r in range(s["restarts"]):
        if verbose:
            print(f"  {_stem(name)}: fit {r + 1}/{s['restarts']} ({p.steps} steps on {device})", flush=True)
        res = solve(problem, p, seed=seed + r, device=device)
        results.append(res)
    seconds = time.perf_counter() - t0
    first = results[0]
    scores["DIP last"] = metric(first.image, clean)
    scores["DIP EMA"] = None if first.ema_image is None else metric(first.ema_image, clean)
    if s["restarts"] > 1:
        finals = [(r.ema_image if r.ema_image is not None else r.image) for r in results]
        avg = torch.stack(finals).mean(0)
        scores["DIP avg"] = metric(avg, clean)
        outputs["DIP avg"] = avg
    outputs["DIP last"], outputs["DIP EMA"] = first.image, first.ema_image
    hist = {k: [round(v, 4) for v in first.history[k]] for k in ("step", "psnr", "psnr_ema")}
    set_name = next(sn for sn in spec.sets if name.startswith(sn + "/"))
    return {"image": _stem(name), "name": name, "set": set_name, "paper_name": paper_name(set_name, _stem(name)),
            "shape": list(clean.shape[-2:]), "psnr": scores, "notes": notes, "seconds": round(seconds, 2),
            "steps": p.steps, "device": str(device), "settings": s, "history": hist,
            "_images": {"clean": clean, spec.input_label: shown_input, **outputs}}


def _figure(rec: dict, spec: TableSpec, path: Path) -> None:
    import matplotlib
    if "matplotlib.pyplot" not in __import__("sys").modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ..view.viz import image_grid
    ims = rec["_images"]
    order = ["clean", spec.input_label, *spec.baselines, "DIP last", "DIP EMA", "DIP avg"]
    panels = {}
    for k in order:
        if ims.get(k) is not None:
            v = rec["psnr"].get(k)
            panels[k if v is None else f"{k} {v:.2f} dB"] = ims[k]
    fig = image_grid(panels, ncols=min(4, len(panels)), suptitle=f"{rec['paper_name']} ({spec.name})")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


# --- the table -------------------------------------------------------------------------------

@dataclass
class Report:
    """A reproduced table: ``rows`` (dicts column -> value), ``columns``, and where it was written."""
    table: str
    columns: list
    rows: list
    records: list
    folder: Path
    seconds: float
    fitted: list        # images fitted in this call (the others were loaded from OUT)
    sources: list

    def markdown(self) -> str:
        def cell(v):
            return "—" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(cell(r.get(c)) for c in self.columns) + " |" for r in self.rows]
        return "\n".join(lines)


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


def _rows(spec: TableSpec, records: list, restarts: int) -> tuple[list, list, list]:
    ours = [spec.input_label, *spec.baselines, "DIP last", "DIP EMA"] + (["DIP avg"] if restarts > 1 else [])
    main = "DIP avg" if restarts > 1 and spec.task == "denoising" else "DIP last"
    paper_col = "paper DIP"
    columns = ["image"] + (["set"] if len(spec.sets) > 1 else []) + ours + [paper_col]
    rows, sources = [], []

    def src(entry):
        if entry is not None and entry.source not in sources:
            sources.append(entry.source)
        return None if entry is None else entry.psnr

    for set_name in spec.sets:
        recs = [r for r in records if r["set"] == set_name]
        if not recs:
            continue
        for r in recs:
            row = {"image": r["paper_name"], "set": set_name, **{c: r["psnr"].get(c) for c in ours}}
            row[paper_col] = src(paper_entry(spec.name, set_name, r["paper_name"], spec.paper_method.get(main, "DIP")))
            rows.append(row)
        label = "mean" if len(spec.sets) == 1 else f"mean {set_name}"
        mean = {"image": f"**{label}** ({len(recs)})", "set": set_name}
        mean.update({c: _mean([r["psnr"].get(c) for r in recs]) for c in ours})
        per = [row[paper_col] for row in rows[-len(recs):]]
        mean[paper_col] = None if any(v is None for v in per) else _mean(per)
        rows.append(mean)
        # the paper's own set averages (over the full set), in the columns they belong to
        paper_row = {"image": f"paper, {set_name} average", "set": set_name}
        for c in ours:
            m = spec.paper_method.get(c)
            paper_row[c] = src(paper_entry(spec.name, set_name, None, m)) if m else None
        paper_row[paper_col] = src(paper_entry(spec.name, set_name, None, spec.paper_method.get(main, "DIP")))
        if any(paper_row[c] is not None for c in ours + [paper_col]):
            rows.append(paper_row)
    return columns, rows, sources


def _public(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if not k.startswith("_")}


def _same(a: dict, b: dict) -> bool:
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def reproduce(table: str, preset_name: str | None = None, images=None, seed: int = 0, device=None,
              restarts: int | None = None, out="reproduce_results", force: bool = False,
              verbose: bool = True) -> Report:
    """Run (or resume) one paper table and write ``OUT/TABLE/``: one JSON + figure per image,
    ``table.csv`` and ``table.md``. Returns the :class:`Report` (``report.markdown()``)."""
    spec = _spec(table)
    chosen = table_images(table, images)
    folder = Path(out) / table
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    records, fitted = [], []
    for name, set_name, key in chosen:
        s = resolve_settings(table, preset_name, key, restarts, seed)
        path = folder / f"{key}.json"
        if path.exists() and not force:
            try:
                old = json.loads(path.read_text())
            except (json.JSONDecodeError, OSError):
                old = None
            if old is not None and _same(old.get("settings"), s):
                if verbose:
                    print(f"  {key}: done before ({path}), skipped", flush=True)
                records.append(old)
                continue
            if verbose:
                print(f"  {key}: {path} has other settings, fitting again", flush=True)
        rec = run_image(table, name, s, device=device, verbose=verbose)
        _figure(rec, spec, folder / f"{key}.png")
        save_image(rec["_images"]["DIP avg" if "DIP avg" in rec["_images"] else "DIP last"],
                   folder / f"{key}_dip.png")
        rec = _public(rec)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(rec, indent=1))
        os.replace(tmp, path)   # atomic: an interrupted run never leaves half a result
        records.append(rec)
        fitted.append(key)
        if verbose:
            p = rec["psnr"]
            print(f"  {key}: DIP {p['DIP last']:.2f} dB (input {p[spec.input_label]:.2f}) "
                  f"in {rec['seconds']:.0f} s", flush=True)
    n_restarts = resolve_settings(table, preset_name, None, restarts, seed)["restarts"]
    columns, rows, sources = _rows(spec, records, n_restarts)
    rep = Report(table, columns, rows, records, folder, time.perf_counter() - t0, fitted, sources)
    with open(folder / "table.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({c: ("" if r.get(c) is None else (round(r[c], 4) if isinstance(r[c], float) else r[c]))
                        for c in columns})
    (folder / "table.md").write_text(_document(rep, spec, preset_name, n_restarts, seed))
    return rep


def _document(rep: Report, spec: TableSpec, preset_name, restarts, seed=0) -> str:
    s = resolve_settings(spec.name, preset_name, None, restarts, seed)
    main = "DIP avg" if restarts > 1 and spec.task == "denoising" else "DIP last"
    size = "native size" if not s["size"] else f"longer side {s['size']} px"
    lines = [f"### {spec.title}", "",
             f"preset `{s['preset']}`: {size}, width {s['width'] or 'paper'}, {s['steps']} steps, lr {s['lr']}, "
             f"σ_p {s['sigma_p']:.3g}, EMA {s['ema']}, {restarts} run(s), seed {s['seed']}", "",
             rep.markdown(), "",
             "`DIP last`: last iterate of the first run; `DIP EMA`: its exponential average"
             + ("; `DIP avg`: average of the runs' EMA outputs" if restarts > 1 else "")
             + f"; `paper DIP`: the paper's number for our `{main}` column (— where the paper gives none;"
             " in a mean row, the mean of the paper's per-image numbers over the same images, computed here)."
             " Paper rows are the paper's averages over the whole set, each under the column of ours it"
             " corresponds to (e.g. the paper's Bicubic row under `bicubic`): compare them with a mean row only"
             " when every image of the set ran in the paper preset."]
    notes = sorted({f"{k}: {v}" for r in rep.records for k, v in r.get("notes", {}).items()})
    lines += [f"Unavailable: {n}" for n in notes]
    lines += ["", "Sources of the paper's numbers:"] + [f"- {x}" for x in rep.sources]
    return "\n".join(lines) + "\n"


# --- command line --------------------------------------------------------------------------

def main(argv=None) -> int:
    """``python -m dip_lib reproduce TABLE [options]``; prints the markdown table."""
    ap = argparse.ArgumentParser(prog="python -m dip_lib reproduce",
                                 description="Reproduce a table of the Deep Image Prior paper (IJCV 2020) "
                                             "next to the paper's numbers; resumes where it stopped.")
    ap.add_argument("table", choices=[*TABLES, "all"], help="which table ('all': every table in turn)")
    ap.add_argument("--preset", choices=PRESETS, default=None,
                    help="settings preset (default: DIP_PRESET, else paper on a GPU and cpu otherwise)")
    ap.add_argument("--images", nargs="+", metavar="NAME", help="a subset of images, e.g. baby bird / Lena C.man")
    ap.add_argument("--seed", type=int, default=0, help="seed of the noise/mask and of the first run (default 0)")
    ap.add_argument("--device", default=None, help="cpu, cuda, mps (default: DIP_DEVICE or the best available)")
    ap.add_argument("--restarts", type=int, default=None,
                    help="number of runs averaged (default from the preset: 2 for denoising, else 1)")
    ap.add_argument("--out", default="reproduce_results", help="output folder (default ./reproduce_results)")
    ap.add_argument("--force", action="store_true", help="fit again even where a result exists")
    ap.add_argument("--quiet", action="store_true", help="print only the table")
    a = ap.parse_args(argv)
    try:
        device = resolve_device(a.device)      # a bad device fails at once, in one line
        if a.restarts is not None and a.restarts < 1:
            raise ValueError(f"--restarts must be >= 1, got {a.restarts}")
    except ValueError as e:
        raise SystemExit(f"error: {e}")
    tables = list(TABLES) if a.table == "all" else [a.table]
    for t in tables:
        if not a.quiet:
            print(f"reproducing {t} -> {Path(a.out) / t}", flush=True)
        try:
            rep = reproduce(t, a.preset, a.images, a.seed, device, a.restarts, a.out, a.force, not a.quiet)
        except KeyError as e:
            if a.table == "all" and a.images:
                continue  # the subset names images of other tables
            ap.error(str(e).strip("'\""))
        print()
        print((rep.folder / "table.md").read_text())
        if not a.quiet:
            print(f"{t}: {rep.seconds:.0f} s ({len(rep.fitted)} fitted, {len(rep.records) - len(rep.fitted)} "
                  f"resumed); CSV, figures and results in {rep.folder}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
