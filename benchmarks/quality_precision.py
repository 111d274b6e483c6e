"""Does the automatic precision and layout (``precision='auto'``: what the probe chose on this
machine, e.g. bf16 or channels_last) keep the quality, and how close does
ES-WMV stop to the oracle? Denoising (σ=25) on the 9 CBM3D images of the paper, in a preset
(default: the `cpu` preset of `reproduce denoising`).

    python benchmarks/quality_precision.py [--preset cpu] [--images kodim01 ...] [--es-factor 2]

Per image: fp32 with seeds 0 and 1 and the automatic mode with seed 0, all for the preset's
steps; the automatic run goes on to ``es-factor`` x steps with ES-WMV watching (never stopping),
so the same run gives the equal-steps PSNR, the PSNR at equal wall-clock time (the step where the
automatic run had used the fp32 run's seconds) and the early-stopping gap. Prints one JSON line
per image and a summary line (means), all PSNRs of the running average (the kit's output).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import dip_lib as dip


def _at(history, key, step):
    """The value of history[key] at the last check <= step."""
    i = max(j for j, s in enumerate(history["step"]) if s <= step)
    return history[key][i]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--images", nargs="*", default=None, help="CBM3D9 image names (default: all 9)")
    ap.add_argument("--es-factor", type=float, default=2.0, help="the watching run lasts this many x steps")
    ap.add_argument("--every", type=int, default=25, help="steps between PSNR checks")
    ap.add_argument("--es-only", action="store_true", help="only the automatic run with ES-WMV watching")
    ap.add_argument("--es-window", type=int, default=50)
    ap.add_argument("--es-patience", type=int, default=300)
    a = ap.parse_args(argv)
    names = dip.image_set("CBM3D9")
    if a.images:
        names = [n for n in names if any(k in n for k in a.images)]
    rows = []
    for name in names:
        s = dip.preset("reproduce", a.preset).for_image("denoising", name.split("/")[-1], "denoising")
        s = s.replace(every=a.every, es_window=a.es_window, es_patience=a.es_patience)
        clean = dip.load_image(name, size=s.size, multiple=32, verbose=False)
        problem = dip.denoising(clean, sigma=25, seed=0)
        t = time.perf_counter()
        f0 = f1 = None
        if not a.es_only:
            f0 = dip.solve(problem, s, seed=0, precision="fp32")
            f1 = dip.solve(problem, s, seed=1, precision="fp32")
        long = int(round(s.steps * a.es_factor))
        au = dip.solve(problem, s, seed=0, precision="auto", steps=long, early_stop="watch",
                       es_window=s.es_window, es_patience=s.es_patience)
        chosen = au.stop_ema_image if au.stop_ema_image is not None else au.stop_image
        oracle = max(max(au.history["psnr_ema"]), max(au.history["psnr"]))
        es_psnr = dip.psnr(chosen, clean)
        row = dict(image=name, size=list(clean.shape[-2:]), steps=s.steps, precision=au.precision,
                   auto_seed0=round(_at(au.history, "psnr_ema", s.steps), 3), s_per_it_auto=round(au.seconds_per_step, 4))
        if f0 is not None:
            # equal wall-clock: the step at which the automatic run had used the fp32 run's time
            sec_fp32 = f0.seconds_per_step * s.steps
            eq_step = next((st for st, sec in zip(au.history["step"], au.history["seconds"]) if sec >= sec_fp32), long)
            row.update(fp32_seed0=round(f0.history["psnr_ema"][-1], 3), fp32_seed1=round(f1.history["psnr_ema"][-1], 3),
                       s_per_it_fp32=round(f0.seconds_per_step, 4), equal_time_step=eq_step,
                       auto_equal_time=round(_at(au.history, "psnr_ema", eq_step), 3))
        # the old choice, for comparison: the average at the variance minimum (at the last check before it)
        at_min = _at(au.history, "psnr_ema", au.stop_step) if au.stop_step else float("nan")
        row.update(es_window=s.es_window, es_patience=s.es_patience, es_step=au.stop_step, es_stopped_at=au.stopped_at,
                   es_chosen_step=au.stop_ema_step,
                   es_psnr=round(es_psnr, 3), es_gap_average_at_minimum=round(oracle - at_min, 3), oracle_psnr=round(oracle, 3), es_gap=round(oracle - es_psnr, 3),
                   es_steps_saved=(long - au.stopped_at) if au.stopped_at else 0, watch_steps=long,
                   seconds=round(time.perf_counter() - t, 1))
        rows.append(row)
        print(json.dumps(row), flush=True)
    mean = lambda k: round(statistics.mean(r[k] for r in rows), 3)  # noqa: E731
    summary = dict(summary=True, images=len(rows), preset=a.preset, auto_seed0=mean("auto_seed0"),
                   es_gap_mean=mean("es_gap"), es_gap_median=round(statistics.median(r["es_gap"] for r in rows), 3),
                   es_gap_average_at_minimum_mean=mean("es_gap_average_at_minimum"), es_gap_max=round(max(r["es_gap"] for r in rows), 3),
                   es_fired=sum(1 for r in rows if r["es_stopped_at"]),
                   es_steps_saved_mean=round(statistics.mean(r["es_steps_saved"] for r in rows), 1))
    if not a.es_only:
        seed_spread = [abs(r["fp32_seed0"] - r["fp32_seed1"]) for r in rows]
        summary.update(fp32_seed0=mean("fp32_seed0"), fp32_seed1=mean("fp32_seed1"),
                       mean_diff_auto_minus_fp32=round(mean("auto_seed0") - mean("fp32_seed0"), 3),
                       mean_diff_fp32_seeds=round(mean("fp32_seed1") - mean("fp32_seed0"), 3),
                       mean_abs_seed_spread=round(float(np.mean(seed_spread)), 3),
                       auto_equal_time=mean("auto_equal_time"),
                       speedup=round(statistics.mean(r["s_per_it_fp32"] / r["s_per_it_auto"] for r in rows), 2))
    print(json.dumps(summary), flush=True)
    return rows, summary


if __name__ == "__main__":
    main()
