"""dip_lib.sweep (architecture ablations, the sweep helper) and the ablation widget panel."""
import pytest
import torch

import dip_lib as dip
from dip_lib.sweep import Ablation, Cache, Table, grid, run_ablation, sweep

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def task():
    # a synthetic 32x32 image (no data mirror needed): smooth gradients plus a square
    y, x = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    clean = torch.stack([x, y, 0.5 * (x + y)])[None]
    clean[..., 8:20, 10:22] = 0.9
    noisy = dip.gaussian_noise(clean, 25 / 255)
    return dip.AblationTask("denoising", clean, noisy, None, ("denoising", "synthetic", 32), input_depth=8)


def tiny(**kw):
    kw = {"depth": 2, "width": 4, "skip_width": 2, "steps": 6, "lr": 0.01, **kw}
    return Ablation(**kw)


@pytest.mark.parametrize("mode,n_skip,k_skip", [("none", 0, 1), ("1x1", 3, 1), ("full", 8, 3)])
def test_skip_modes_map_onto_skipconfig(mode, n_skip, k_skip):
    cfg = Ablation(depth=4, width=8, skip=mode, skip_width=3).skip_config(in_channels=5)
    assert list(cfg.n_down) == [8] * 4 and list(cfg.n_up) == [8] * 4
    assert list(cfg.n_skip) == [n_skip] * 4
    assert cfg.k_skip == k_skip and cfg.in_channels == 5


def test_skips_add_parameters_and_build_runs():
    counts = {m: dip.count_parameters(Ablation(depth=3, width=8, skip=m).build(8)) for m in ("none", "1x1", "full")}
    assert counts["none"] < counts["1x1"] < counts["full"]
    net = Ablation(depth=3, width=8, upsample="nearest").build(2)
    out = net(dip.meshgrid(32, 32))
    assert out.shape == (1, 3, 32, 32) and 0 <= out.min() and out.max() <= 1


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="skip"):
        Ablation(skip="dense")
    with pytest.raises(ValueError, match="upsample"):
        Ablation(upsample="transposed")
    with pytest.raises(ValueError, match="input"):
        Ablation(input="image")
    with pytest.raises(ValueError, match="unknown ablation field"):
        grid(Ablation(), dept=[1, 2])


def test_depth_too_large_for_the_image_is_a_clear_error(task):
    with pytest.raises(ValueError, match="depth 5 .* at least 64x64"):
        run_ablation(tiny(depth=5), task, cache=None)


def test_grid_is_a_cartesian_product_in_order():
    cfgs = grid(tiny(), depth=[1, 2], skip=["none", "full"])
    assert [(c.depth, c.skip) for c in cfgs] == [(1, "none"), (1, "full"), (2, "none"), (2, "full")]
    assert len({c.label for c in cfgs}) == 4


def test_sweep_returns_a_table_and_caches(task):
    cache = Cache()
    table = sweep(task, tiny(), skip=["none", "1x1"], cache=cache)
    assert isinstance(table, Table) and len(table) == 2 and len(cache) == 2
    row = table.one(skip="none")
    for key in ("depth", "skip", "params", "loss", "psnr", "psnr_ema", "best_psnr", "best_step", "seconds"):
        assert key in row
    assert row["steps"] == 6 and row["cached"] is False
    assert len(table.runs[0].history["psnr"]) == len(table.runs[0].history["step"]) >= 1
    again = sweep(task, [tiny(skip="none")], cache=cache)
    assert again[0]["cached"] is True and again[0]["psnr"] == row["psnr"]
    assert table[0]["cached"] is False          # the cache hit does not rewrite the first table
    md = table.to_markdown(["depth", "skip", "psnr"])
    lines = md.splitlines()
    assert lines[0] == "| depth | skip | psnr |" and len(lines) == 4
    assert "1x1·2" in md and table.to_html().startswith("<table>")
    assert table.best("loss") in table.rows
    assert set(table.histories()) == {c.label for c in (tiny(skip="none"), tiny(skip="1x1"))}


def test_runs_are_deterministic_on_cpu(task):
    a = run_ablation(tiny(), task, cache=None)
    b = run_ablation(tiny(), task, cache=None)
    assert a.row["loss"] == b.row["loss"]
    assert torch.equal(a.image, b.image)


def test_inpainting_task_uses_the_mask():
    clean = torch.rand(1, 3, 32, 32)
    mask = dip.bernoulli_mask(clean, keep=0.5)
    t = dip.AblationTask("inpainting", clean, clean * mask, mask, ("inpainting", "random", 32), input_depth=4)
    e = t.energy()
    x = clean.clone()
    x[mask.expand_as(x) == 0] = 0.123          # changing only the missing pixels costs nothing
    assert float(e(x)) == pytest.approx(0.0, abs=1e-10)
    assert run_ablation(tiny(input="meshgrid"), t, cache=None).row["input"] == "meshgrid"


def test_ablation_from_preset():
    p = dip.preset("ablation", "test")
    cfg = Ablation.from_preset(p, depth=2)
    assert (cfg.width, cfg.lr, cfg.steps, cfg.depth) == (p.width, p.lr, p.steps, 2)
    assert p.skip_depth in p.depths and max(p.depths) <= 6


def test_panel_fits_adds_rows_and_uses_the_cache(task):
    from dip_lib.widgets import AblationPanel
    p = dip.preset("ablation", "test", size=32, steps=6, every=3, input_depth=8)
    panel = AblationPanel(p, cache=Cache(), live=False, depth=2, width=4)
    panel._tasks["denoising"] = task              # skip loading F16: the synthetic task
    assert panel.depth.max == 4                   # 32 px: the bottleneck keeps 2x2 pixels
    panel.skip.value = "none"
    panel.fit_button.click()                      # what pressing "fit" does
    assert len(panel.table) == 1 and panel.table[0]["skip"] == "none" and not panel.table[0]["cached"]
    assert panel.figure is not None and "PSNR" in panel.status.value
    panel.skip.value, panel.upsample.value, panel.sigma_p.value = "full", "nearest", 0.0
    panel.lr.value, panel.steps.value = 0.02, 9
    panel.fit_button.click()
    row = panel.table[1]
    assert (row["skip"], row["upsample"], row["sigma_p"], row["lr"], row["steps"]) == ("full", "nearest", 0.0,
                                                                                    0.02, 9)
    panel.skip.value, panel.upsample.value, panel.sigma_p.value = "none", "bilinear", round(p.reg_noise, 4)
    panel.lr.value, panel.steps.value = p.lr, 6
    run = panel.fit()                              # revisit the first configuration: from the cache
    assert run.row["cached"] and "cached" in panel.status.value
    assert len(panel.table) == 2                   # not added twice
    assert "<table>" in panel.table_out.value
    panel.clear_button.click()
    assert len(panel.table) == 0 and len(panel.cache) == 2


def test_panel_reports_errors_instead_of_raising(task):
    from dip_lib.widgets import AblationPanel
    p = dip.preset("ablation", "test", size=64, steps=3, every=3, input_depth=8)
    panel = AblationPanel(p, cache=Cache(), live=False, width=4)
    panel._tasks["denoising"] = task              # a 32x32 image: depth 5 does not fit
    panel.depth.value = 5
    assert panel.fit() is None and "cannot fit" in panel.status.value
    assert len(panel.table) == 0
