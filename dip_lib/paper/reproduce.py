"""Reproduce the paper's tables, side by side with the paper's numbers.

    python -m dip_lib reproduce denoising --preset cpu --images F16 House
    python -m dip_lib reproduce sr4 --images baby bird
    python -m dip_lib reproduce inpainting --preset paper --device cuda

Tables (protocols of Ulyanov, Vedaldi, Lempitsky, IJCV 2020):

- ``denoising``: CBM3D9, Gaussian noise σ=25; DIP's last iterate, its exponential average
  (EMA) and the average of ``restarts`` runs (the paper averages two); baselines NLM and CBM3D
  (when the optional ``bm3d`` package is installed).
- ``sr4`` / ``sr8``: Set5 and Set14 as the authors prepared them: at native size the HR image is
  ``dip.paper_sr_crop`` (cut to a multiple of the factor, centred crop to the network's stride)
  and LR its 8-bit PIL Lanczos resize (``downscale='pil'``: no inverse crime); E = ||d(f_θ(z)) − y||²
  with z at HR size; PSNR on the Y channel with the authors' border (4 px, 5 at the bottom/right).
  Baselines: nearest neighbour and bicubic upsampling.
- ``inpainting``: Heide11 (grayscale), 50% of pixels dropped by a Bernoulli mask from the seed.

Each table is a list of *jobs*, one per (image, method, seed): the baselines, one DIP fit per
seed (``restarts`` of them) and, for several fits, their average. Each finished job is one file
``OUT/TABLE/<image>.<method>.seed<N>.json`` (PSNRs, settings, versions of dip_lib/torch/python,
device and its name) with its pictures; it is written atomically under a per-job lock, so a
rerun skips finished jobs ("skipping N finished jobs"), a SIGKILL loses only the jobs running,
and two runs on one ``--out`` never run the same job (:mod:`dip_lib.paper.jobs`). The table
(``table.md``, ``table.csv`` and ``table.png``: ours vs the paper per image) is built from the
result files alone: ``--report-only`` rebuilds it without fitting anything.

Where jobs run: sequentially here by default; one worker process per GPU when several CUDA
devices are visible (or ``--workers N``); ``--scheduler tcp://HOST:PORT`` on a dask.distributed
cluster (the optional extra ``dip_lib[dask]``). Settings come from ``dip.preset("reproduce")``
(``dip_lib/problems/settings.py``).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import platform
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.data import image_set, load_image, resize, crop_to_multiple, to_pil
from ..core.device import resolve_device
from ..core.nets import architecture
from ..core.operators import bernoulli_mask
from ..problems.problem import PAPER_SR_BORDER, denoising, inpainting, paper_sr_crop, super_resolution
from ..problems.run import solve
from .jobs import DASK_MISSING, Job, make_executor, read_result, run_jobs, versions, worker_device, write_atomic
from .numbers import paper_entry, paper_name, paper_psnr
from ..problems.settings import PRESETS, Reproduce, preset

__all__ = ["TABLES", "TableSpec", "Report", "reproduce", "table_images", "table_jobs", "resolve_settings",
           "execute_job", "build_report", "main"]

FORMAT = 2  # bump when the result files change meaning (old results are then recomputed)


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
                     "(PSNR on Y, border of 4 px cropped, 5 at the bottom/right)", "nearest", ("bicubic",), factor=4,
                     paper_method={"DIP last": "DIP", "bicubic": "Bicubic"}),
    "sr8": TableSpec("sr8", "sr", ("Set5", "Set14"), "8x super-resolution, Set5 and Set14 "
                     "(PSNR on Y, border of 4 px cropped, 5 at the bottom/right)", "nearest", ("bicubic",), factor=8,
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
             "restarts", "bn_init", "precision")


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


# --- one job ---------------------------------------------------------------------------------

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


def prepare(table: str, name: str, s: dict) -> dict:
    """Load and degrade one image of ``table`` as ``s`` says: ``clean``, ``problem``, the
    ``degraded`` observation, the ``shown`` input (scored in the input column), ``mask``."""
    spec = _spec(table)
    p = _settings(s)
    stride = architecture(p.arch, in_channels=p.input_depth, width=p.width).stride
    mask = None
    if spec.task == "sr" and not s["size"]:
        # native size, as the authors: the HR crop of their files, LR = 8-bit PIL Lanczos resize
        clean = paper_sr_crop(load_image(name, channels=spec.channels, verbose=False), spec.factor,
                              multiple=math.lcm(stride, spec.factor))
    else:
        clean = _load(name, s, spec, stride)
    if spec.task == "denoising":
        problem = denoising(clean, sigma=spec.sigma, seed=s["seed"])
        degraded = shown = problem.observation
    elif spec.task == "sr":
        f = spec.factor
        problem = super_resolution(clean, f, downscale="pil", border=PAPER_SR_BORDER)
        degraded = problem.observation
        shown = F.interpolate(degraded, scale_factor=f, mode="nearest")
    else:
        mask = bernoulli_mask(clean, keep=spec.keep, seed=s["seed"])
        problem = inpainting(clean, mask)
        degraded = shown = problem.observation
    return {"clean": clean, "problem": problem, "degraded": degraded, "shown": shown, "mask": mask}


def table_jobs(table: str, preset_name: str | None = None, images=None, seed: int = 0,
               restarts: int | None = None, device=None) -> list[Job]:
    """The jobs of a table, in the order they run: per image, the baselines, the DIP fits
    (seeds ``seed`` .. ``seed + restarts - 1``) and, with several fits, their average."""
    spec = _spec(table)
    jobs = []
    dev = None if device is None else str(device)
    for name, set_name, key in table_images(table, images):
        s = resolve_settings(table, preset_name, key, restarts, seed)
        base = dict(table=table, name=name, key=key, set=set_name, settings=s, device=dev)
        jobs += [Job(method=kind, seed=seed, **base) for kind in spec.baselines]
        fits = [Job(method="DIP", seed=seed + r, **base) for r in range(s["restarts"])]
        jobs += fits
        if len(fits) > 1:
            jobs.append(Job(method="DIP avg", seed=seed, needs=tuple(fits), **base))
    return jobs


def _png(img: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    to_pil(img).save(buf, format="PNG")
    return buf.getvalue()


def _npy(img: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    np.save(buf, img.detach().float().cpu().numpy().astype(np.float32))
    return buf.getvalue()


def _figure_png(panels: dict, scores: dict, title: str) -> bytes:
    import matplotlib
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ..view.viz import image_grid
    shown = {(k if scores.get(k) is None else f"{k} {scores[k]:.2f} dB"): v for k, v in panels.items()
             if v is not None}
    fig = image_grid(shown, ncols=min(4, len(shown)), suptitle=title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def execute_job(job: dict, inputs: dict | None = None) -> dict:
    """Run one job (a dict from :meth:`Job.as_dict`) wherever the executor put it.

    ``inputs``: for 'DIP avg', the float outputs (``.npy`` bytes) of the fits it averages.
    Returns ``{"record": <the JSON-able result>, "files": {suffix: bytes}}``; nothing is written
    here: the driver writes the files (see :mod:`dip_lib.paper.jobs`)."""
    table, name, s, method = job["table"], job["name"], job["settings"], job["method"]
    spec = _spec(table)
    device = resolve_device(worker_device(job.get("device")))
    t0 = time.perf_counter()
    d = prepare(table, name, s)
    clean, metric = d["clean"], d["problem"].metric
    scores = {spec.input_label: metric(d["shown"], clean)}
    notes, files, extra = {}, {}, {}
    title = f"{paper_name(job['set'], job['key'])} ({table}, {method}, seed {job['seed']})"
    if method == "DIP":
        p = _settings(s)
        res = solve(d["problem"], p, seed=job["seed"], device=device)
        scores["DIP last"] = metric(res.image, clean)
        scores["DIP EMA"] = None if res.ema_image is None else metric(res.ema_image, clean)
        final = res.ema_image if res.ema_image is not None else res.image
        files[".npy"] = _npy(final)
        files["_out.png"] = _png(res.image)
        files[".png"] = _figure_png({"clean": clean, spec.input_label: d["shown"], "DIP last": res.image,
                                     "DIP EMA": res.ema_image}, scores, title)
        extra["history"] = {k: [round(v, 4) for v in res.history[k]] for k in ("step", "psnr", "psnr_ema")}
        extra["steps"] = p.steps
    elif method == "DIP avg":
        outs = [torch.from_numpy(np.load(io.BytesIO(b))) for _, b in sorted((inputs or {}).items())]
        if not outs:
            raise ValueError("'DIP avg' needs the outputs of the DIP fits")
        avg = torch.stack(outs).mean(0)
        scores["DIP avg"] = metric(avg, clean)
        extra["averaged"] = sorted(inputs)
        files["_out.png"] = _png(avg)
    elif method in spec.baselines:
        out, why = _baseline(method, d["degraded"], spec, d["mask"])
        scores[method] = None if out is None else metric(out, clean)
        if why:
            notes[method] = why
        if out is not None:
            files["_out.png"] = _png(out)
    else:
        raise ValueError(f"unknown method {method!r} for the {table} table")
    record = {"format": FORMAT, "table": table, "image": job["key"], "name": name, "set": job["set"],
              "paper_name": paper_name(job["set"], job["key"]), "method": method, "seed": job["seed"],
              "shape": list(clean.shape[-2:]), "psnr": scores, "notes": notes,
              "seconds": round(time.perf_counter() - t0, 2), "device": str(device),
              "device_name": _device_name(device), "host": socket.gethostname(), "pid": os.getpid(),
              "versions": versions(),
              "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "settings": s, **extra}
    return {"record": record, "files": files}


def _writer(folder: Path):
    def write(job: Job, out: dict) -> None:
        for suffix, data in out["files"].items():        # pictures first, the JSON ("done") last
            write_atomic(folder / f"{job.stem}{suffix}", data)
        write_atomic(folder / job.filename, (json.dumps(out["record"], indent=1) + "\n").encode())
    return write


def _gatherer(folder: Path):
    def gather(job: Job) -> dict:
        return {n.stem: (folder / f"{n.stem}.npy").read_bytes() for n in job.needs}
    return gather


# --- the table -------------------------------------------------------------------------------

@dataclass
class Report:
    """A reproduced table: ``rows`` (dicts column -> value), ``columns``, and where it was written."""
    table: str
    columns: list
    rows: list
    records: list       # one merged record per image: {"image", "set", "paper_name", "psnr", "notes"}
    folder: Path
    seconds: float
    fitted: list        # job stems run by this call
    sources: list
    skipped: list = field(default_factory=list)    # job stems finished before this call
    missing: list = field(default_factory=list)    # job stems with no (valid) result yet
    failed: dict = field(default_factory=dict)     # job stem -> error

    def markdown(self) -> str:
        def cell(v):
            return "—" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(cell(r.get(c)) for c in self.columns) + " |" for r in self.rows]
        return "\n".join(lines)


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


def _merge(spec: TableSpec, jobs: list[Job], records: dict) -> list[dict]:
    """One record per image from its jobs' result files (None where a job has no result yet)."""
    merged = {}
    for job in jobs:
        m = merged.setdefault(job.key, {"image": job.key, "name": job.name, "set": job.set,
                                        "paper_name": paper_name(job.set, job.key), "psnr": {}, "notes": {},
                                        "devices": []})
        rec = records.get(job.stem)
        if rec is None:
            continue
        if rec["device_name" if "device_name" in rec else "device"] not in m["devices"]:
            m["devices"].append(rec.get("device_name", rec["device"]))
        m["notes"].update(rec.get("notes", {}))
        ps = rec["psnr"]
        m["psnr"].setdefault(spec.input_label, ps.get(spec.input_label))
        if job.method == "DIP":
            if job.seed == job.settings["seed"]:          # the first fit fills the last / EMA columns
                m["psnr"]["DIP last"], m["psnr"]["DIP EMA"] = ps.get("DIP last"), ps.get("DIP EMA")
        else:
            m["psnr"][job.method] = ps.get(job.method)
    return [m for m in merged.values() if any(v is not None for v in m["psnr"].values())]


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


def _versus_png(rep: "Report", spec: TableSpec, main: str) -> bytes:
    """The figure of the table: ours (``main`` column) vs the paper's number, per image."""
    import matplotlib
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    recs = rep.records
    names = [r["paper_name"] for r in recs]
    x = np.arange(len(recs))
    fig, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(recs) + 2), 3.2))
    series = [(spec.input_label, "input", "x", "0.6"), (main, f"ours ({main})", "o", "C0")]
    for col, label, marker, colour in series:
        ys = [r["psnr"].get(col) for r in recs]
        ax.plot(x, [np.nan if v is None else v for v in ys], marker, color=colour, label=label)
    paper = [paper_psnr(spec.name, r["set"], r["paper_name"], spec.paper_method.get(main, "DIP")) for r in recs]
    ax.plot(x, [np.nan if v is None else v for v in paper], "s", mfc="none", color="C3", label="paper")
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(spec.title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def build_report(table: str, jobs: list[Job], records: dict, folder: Path, seconds: float = 0.0,
                 fitted=(), skipped=(), failed=None) -> Report:
    """The table from result records alone; writes ``table.md``, ``table.csv`` and ``table.png``."""
    spec = _spec(table)
    folder = Path(folder)
    s0 = jobs[0].settings
    restarts = s0["restarts"]
    merged = _merge(spec, jobs, records)
    columns, rows, sources = _rows(spec, merged, restarts)
    rep = Report(table, columns, rows, merged, folder, seconds, list(fitted), sources, list(skipped),
                 [j.stem for j in jobs if j.stem not in records], dict(failed or {}))
    lines = io.StringIO()
    w = csv.DictWriter(lines, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: ("" if r.get(c) is None else (round(r[c], 4) if isinstance(r[c], float) else r[c]))
                    for c in columns})
    write_atomic(folder / "table.csv", lines.getvalue().encode())
    write_atomic(folder / "table.md", _document(rep, spec, s0).encode())
    main = "DIP avg" if restarts > 1 and spec.task == "denoising" else "DIP last"
    if merged:
        write_atomic(folder / "table.png", _versus_png(rep, spec, main))
    return rep


def _document(rep: Report, spec: TableSpec, s: dict) -> str:
    restarts = s["restarts"]
    main = "DIP avg" if restarts > 1 and spec.task == "denoising" else "DIP last"
    size = "native size" if not s["size"] else f"longer side {s['size']} px"
    devices = sorted({d for r in rep.records for d in r.get("devices", [])})
    lines = [f"### {spec.title}", "",
             f"preset `{s['preset']}`: {size}, width {s['width'] or 'paper'}, {s['steps']} steps, lr {s['lr']}, "
             f"σ_p {s['sigma_p']:.3g}, EMA {s['ema']}, {restarts} run(s), seed {s['seed']}"
             + (f"; measured on {', '.join(devices)}" if devices else ""), "",
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
    if rep.missing:
        lines += ["", f"Not yet run ({len(rep.missing)} jobs; — in the table): " + ", ".join(rep.missing)]
    lines += ["", "Sources of the paper's numbers:"] + [f"- {x}" for x in rep.sources]
    return "\n".join(lines) + "\n"


# --- running a table -------------------------------------------------------------------------

def _infer_preset(folder: Path) -> str | None:
    """The preset of the result files in ``folder`` when they all agree (for ``--report-only``)."""
    found = set()
    for f in Path(folder).glob("*.json"):
        rec, _ = read_result(f)
        if rec is not None and isinstance(rec.get("settings"), dict):
            found.add(rec["settings"].get("preset"))
    return found.pop() if len(found) == 1 else None


def reproduce(table: str, preset_name: str | None = None, images=None, seed: int = 0, device=None,
              restarts: int | None = None, out="reproduce_results", force: bool = False,
              verbose: bool = True, scheduler: str | None = None, workers: int | None = None,
              report_only: bool = False) -> Report:
    """Run (or resume) one paper table and write ``OUT/TABLE/``: one JSON (+ pictures) per job,
    ``table.md``, ``table.csv`` and ``table.png``. Returns the :class:`Report`.

    Jobs already finished in ``OUT`` with the same settings are skipped; ``report_only`` runs
    nothing and builds the table from the result files there. ``scheduler='tcp://HOST:PORT'``
    runs the jobs on a dask.distributed cluster; ``workers`` > 1 in local processes (default:
    one per visible GPU when ``device`` is CUDA and there are several). See :mod:`.jobs`."""
    log = print if verbose else (lambda *a, **k: None)
    folder = Path(out) / table
    if report_only and preset_name is None:
        preset_name = _infer_preset(folder) or preset_name
    jobs = table_jobs(table, preset_name, images, seed, restarts, device)
    t0 = time.perf_counter()
    if report_only:
        records = {}
        for job in jobs:
            rec, why = read_result(folder / job.filename, job.settings)
            if rec is not None:
                records[job.stem] = rec
            elif why:
                log(f"  {why}: not used")
        rep = build_report(table, jobs, records, folder, time.perf_counter() - t0,
                           skipped=[j.stem for j in jobs if j.stem in records]) if folder.is_dir() else None
        if rep is None:
            raise FileNotFoundError(f"no results of the {table} table in {folder}: run it first (without "
                                    f"--report-only)")
        return rep
    folder.mkdir(parents=True, exist_ok=True)
    choice = make_executor(device, scheduler, workers)
    try:
        summary = run_jobs(jobs, folder, execute_job, _writer(folder), choice, force=force, log=log,
                           gather=_gatherer(folder), done=_progress(log, _spec(table)))
    finally:
        choice.close()
    return build_report(table, jobs, summary.records, folder, time.perf_counter() - t0,
                        [j.stem for j in summary.ran], [j.stem for j in summary.skipped], summary.failed)


def _progress(log, spec: TableSpec):
    def done(job: Job, rec: dict) -> None:
        p = rec["psnr"]
        col = {"DIP": "DIP last"}.get(job.method, job.method)
        v = p.get(col)
        log(f"  {job.describe()}: {col} {'—' if v is None else f'{v:.2f}'} dB "
            f"(input {p[spec.input_label]:.2f}) in {rec['seconds']:.0f} s on {rec['device']}", flush=True)
    return done


# --- command line --------------------------------------------------------------------------

def _fail(msg: str):
    """One line on stderr and exit status 2 (bad input at the command line)."""
    print(f"error: {msg}", file=sys.stderr)
    raise SystemExit(2)


def _images_for(tables: list[str], images) -> dict:
    """table -> its subset of ``images`` (None: all); an image of no table fails in one line."""
    if not images:
        return {t: None for t in tables}
    picked, known = {t: [] for t in tables}, []
    for t in tables:
        for name, set_name, key in table_images(t):
            pn = paper_name(set_name, key)
            label = key if pn.lower() == key.lower() else f"{key} ({pn})"
            if label not in known:
                known.append(label)
    unknown = []
    for want in images:
        hit = False
        for t in tables:
            try:
                table_images(t, [want])
            except KeyError:
                continue
            picked[t].append(want)
            hit = True
        if not hit:
            unknown.append(want)
    if unknown:
        where = f"the {tables[0]} table" if len(tables) == 1 else "any table"
        _fail(f"{', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not an image of {where}; "
              f"choose among: {', '.join(known)}")
    return {t: v for t, v in picked.items() if v}


def main(argv=None) -> int:
    """``python -m dip_lib reproduce TABLE [options]``; prints the markdown table."""
    ap = argparse.ArgumentParser(prog="python -m dip_lib reproduce",
                                 description="Reproduce a table of the Deep Image Prior paper (IJCV 2020) "
                                             "next to the paper's numbers; resumes where it stopped.")
    ap.add_argument("table", help=f"which table: {', '.join(TABLES)}, or 'all' (every table in turn)")
    ap.add_argument("--preset", choices=PRESETS, default=None,
                    help="settings preset (default: DIP_PRESET, else paper on a GPU and cpu otherwise)")
    ap.add_argument("--images", nargs="+", metavar="NAME", help="a subset of images, e.g. baby bird / Lena C.man")
    ap.add_argument("--seed", type=int, default=0, help="seed of the noise/mask and of the first run (default 0)")
    ap.add_argument("--device", default=None, help="cpu, cuda, cuda:N, mps (default: DIP_DEVICE or the best "
                    "available; on a dask cluster each worker's own)")
    ap.add_argument("--restarts", type=int, default=None,
                    help="number of runs averaged (default from the preset: 2 for denoising, else 1)")
    ap.add_argument("--out", default="reproduce_results", help="output folder (default ./reproduce_results)")
    ap.add_argument("--force", action="store_true", help="run every job again even where a result exists")
    ap.add_argument("--report-only", action="store_true",
                    help="run nothing: build the table from the result files in --out")
    ap.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                    help="run the jobs on a dask.distributed cluster (pip install \"dip_lib[dask]\")")
    ap.add_argument("--workers", type=int, default=None,
                    help="local worker processes (default: one per visible GPU when there are several, else 1)")
    ap.add_argument("--quiet", action="store_true", help="print only the table")
    a = ap.parse_args(argv)
    if a.table != "all" and a.table not in TABLES:
        _fail(f"unknown table {a.table!r}; choose one of {', '.join(TABLES)}, all")
    tables = list(TABLES) if a.table == "all" else [a.table]
    subsets = _images_for(tables, a.images)
    device = a.device
    try:
        if a.restarts is not None and a.restarts < 1:
            raise ValueError(f"--restarts must be >= 1, got {a.restarts}")
        if a.workers is not None and a.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {a.workers}")
        if a.scheduler and a.workers:
            raise ValueError("--workers is for local runs; on a dask cluster start one 'dask worker' per GPU")
        if a.scheduler and not a.report_only:
            import importlib.util
            if importlib.util.find_spec("distributed") is None:
                raise ValueError(DASK_MISSING)
        elif not a.report_only:
            device = resolve_device(a.device)      # a bad device fails at once, in one line
    except ValueError as e:
        _fail(str(e))
    for t, subset in subsets.items():
        if not a.quiet:
            print(f"reproducing {t} -> {Path(a.out) / t}", flush=True)
        try:
            rep = reproduce(t, a.preset, subset, a.seed, device, a.restarts, a.out, a.force, not a.quiet,
                            scheduler=a.scheduler, workers=a.workers, report_only=a.report_only)
        except (ValueError, FileNotFoundError) as e:
            _fail(str(e))
        print()
        print((rep.folder / "table.md").read_text())
        if not a.quiet:
            print(f"{t}: {rep.seconds:.0f} s ({len(rep.fitted)} jobs run, {len(rep.skipped)} finished before"
                  + (f", {len(rep.missing)} without a result" if rep.missing else "")
                  + f"); table.md, table.csv, table.png and the results in {rep.folder}", flush=True)
        if rep.failed:
            print(f"{t}: {len(rep.failed)} job(s) failed: "
                  + "; ".join(f"{k}: {v}" for k, v in rep.failed.items()), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
