"""dip_lib.experiments.ablation (architecture ablations, the sweep helper) and the ablation widget panel."""
import pytest
import torch

import dip_lib as dip
from dip_lib.experiments.ablation import Ablation, Cache, Table, grid, run_ablation, sweep

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


BASE = dip.preset("ablation", "test", input_depth=8)   # what the configurations do not set: the code depth


def synthetic(side=32):
    # a synthetic image (no data mirror needed): smooth gradients plus a square
    y, x = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
    clean = torch.stack([x, y, 0.5 * (x + y)])[None]
    clean[..., side // 4:side * 5 // 8, side // 3:side * 2 // 3] = 0.9
    return clean


@pytest.fixture(scope="module")
def task():
    return dip.denoising(synthetic(32), sigma=25, seed=0)


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
    assert counts["none"] == dip.count_parameters(dip.build(Ablation(depth=3, width=8, skip="none").skip_config(8)))
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
        run_ablation(tiny(depth=5), task, cache=None, base=BASE)


def test_grid_is_a_cartesian_product_in_order():
    cfgs = grid(tiny(), depth=[1, 2], skip=["none", "full"])
    assert [(c.depth, c.skip) for c in cfgs] == [(1, "none"), (1, "full"), (2, "none"), (2, "full")]
    assert len({c.label for c in cfgs}) == 4


def test_sweep_returns_a_table_and_caches(task):
    cache = Cache()
    table = sweep(task, tiny(), skip=["none", "1x1"], cache=cache, base=BASE)
    assert isinstance(table, Table) and len(table) == 2 and len(cache) == 2
    row = table.one(skip="none")
    for key in ("depth", "skip", "params", "loss", "psnr", "psnr_ema", "best_psnr", "best_step", "seconds"):
        assert key in row
    assert row["steps"] == 6 and row["cached"] is False
    assert len(table.runs[0].history["psnr"]) == len(table.runs[0].history["step"]) >= 1
    again = sweep(task, [tiny(skip="none")], cache=cache, base=BASE)
    assert again[0]["cached"] is True and again[0]["psnr"] == row["psnr"]
    assert table[0]["cached"] is False          # the cache hit does not rewrite the first table
    md = table.to_markdown(["depth", "skip", "psnr"])
    lines = md.splitlines()
    assert lines[0] == "| depth | skip | psnr |" and len(lines) == 4
    assert "1x1·2" in md and table.to_html().startswith("<table>")
    assert table.best("loss") in table.rows
    assert set(table.histories()) == {c.label for c in (tiny(skip="none"), tiny(skip="1x1"))}


def test_runs_are_deterministic_on_cpu(task):
    a = run_ablation(tiny(), task, cache=None, base=BASE)
    b = run_ablation(tiny(), task, cache=None, base=BASE)
    assert a.row["loss"] == b.row["loss"]
    assert torch.equal(a.image, b.image)


def test_inpainting_task_uses_the_mask():
    clean = torch.rand(1, 3, 32, 32)
    mask = dip.bernoulli_mask(clean, keep=0.5)
    t = dip.inpainting(clean, mask)
    e = t.energy()
    x = clean.clone()
    x[mask.expand_as(x) == 0] = 0.123          # changing only the missing pixels costs nothing
    assert float(e(x)) == pytest.approx(0.0, abs=1e-10)
    assert run_ablation(tiny(input="meshgrid"), t, cache=None, base=BASE).row["input"] == "meshgrid"


def test_ablation_from_preset():
    p = dip.preset("ablation", "test")
    cfg = Ablation.from_preset(p, depth=2)
    assert (cfg.width, cfg.lr, cfg.steps, cfg.depth) == (p.width, p.lr, p.steps, 2)
    assert p.skip_depth in p.depths and max(p.depths) <= 6


def test_panel_fits_adds_rows_and_uses_the_cache(task):
    from dip_lib.view.widgets import AblationPanel
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
    panel.skip.value, panel.upsample.value, panel.sigma_p.value = "none", "bilinear", round(p.sigma_p, 4)
    panel.lr.value, panel.steps.value = p.lr, 6
    run = panel.fit()                              # revisit the first configuration: from the cache
    assert run.row["cached"] and "cached" in panel.status.value
    assert len(panel.table) == 2                   # not added twice
    assert "<table>" in panel.table_out.value
    panel.clear_button.click()
    assert len(panel.table) == 0 and len(panel.cache) == 2


def test_panel_reports_errors_instead_of_raising(task):
    from dip_lib.view.widgets import AblationPanel
    p = dip.preset("ablation", "test", size=64, steps=3, every=3, input_depth=8)
    panel = AblationPanel(p, cache=Cache(), live=False, width=4)
    panel._tasks["denoising"] = task              # a 32x32 image: depth 5 does not fit
    panel.depth.value = 5
    assert panel.fit() is None and "cannot fit" in panel.status.value
    assert len(panel.table) == 0


def test_deep_decoder_is_a_network_of_the_ablations():
    dd = Ablation.from_preset(dip.preset("ablation", "test"), network="deep_decoder", depth=2, skip="full",
                              sigma_p=0.05)
    # Heckel & Hand: 64 channels, no perturbation of z; the hourglass knobs do not apply
    assert (dd.width, dd.sigma_p, dd.skip) == (64, 0.0, "none")
    assert dd == dd.replace(depth=3, upsample="nearest")      # one Deep Decoder fit, one cache key
    assert "deep decoder 6x64" in dd.label and "σp0" in dd.label
    assert dip.count_parameters(dd.build()) == dip.count_parameters(dip.build("deep_decoder"))
    assert dip.count_parameters(dd.replace(width=32).build()) < 32 * 32 * 3 * 8
    with pytest.raises(ValueError, match="network"):
        Ablation(network="resnet")
    with pytest.raises(ValueError, match="noise code"):
        Ablation(network="deep_decoder", input="meshgrid")
    with pytest.raises(ValueError, match="not an hourglass"):
        dd.skip_config(8)


def test_sweep_fits_the_deep_decoder_and_the_table_says_so():
    problem = dip.denoising(synthetic(64), sigma=25, seed=0)
    cache = Cache()
    table = sweep(problem, tiny(steps=4), network=["hourglass", "deep_decoder"], cache=cache, base=BASE)
    hg, dd = table.runs
    assert (hg.row["network"], dd.row["network"]) == ("hourglass", "deep decoder")
    assert dd.row["sigma_p"] == 0.0 and dd.row["skip"] is None and dd.row["width"] == 4
    assert dd.row["params"] == dip.count_parameters(dip.build("deep_decoder", width=4))
    assert "| network |" in table.to_markdown() and "deep decoder" in table.to_markdown()
    assert "network" not in Table([hg]).to_markdown().splitlines()[0]   # hourglasses only: no column
    with pytest.raises(ValueError, match="Deep Decoder .* 64x64"):
        run_ablation(tiny(network="deep_decoder"), dip.denoising(synthetic(32)), cache=None, base=BASE)


def test_panel_starting_configuration_hits_the_sweep_cache(task):
    """Slider positions round lr (log steps) and σ_p (0.001 steps): the panel snaps them back to the
    preset's values, so fitting the starting configuration reuses the run of dip.sweep."""
    from dip_lib.view.widgets import AblationPanel
    p = dip.preset("ablation", "test", size=32, steps=6, every=3, input_depth=8)   # lr 0.02, σ_p 1/30
    cache = Cache()
    base = Ablation.from_preset(p, depth=2, width=4)
    first = sweep(task, base, cache=cache, base=p)[0]
    panel = AblationPanel(p, cache=cache, live=False, depth=2, width=4)
    panel._tasks["denoising"] = task
    panel.lr.value, panel.sigma_p.value = 10 ** -1.7, 0.0333     # where the sliders sit for 0.02 and 1/30
    assert panel.config() == base
    run = panel.fit()
    assert run.row["cached"] and run.row["psnr"] == first["psnr"] and len(cache) == 1
    panel.lr.value, panel.sigma_p.value = 10 ** -1.6, 0.031      # a slider step away: a new configuration
    assert (panel.config().lr, panel.config().sigma_p) == (pytest.approx(10 ** -1.6), 0.031)


def test_panel_network_control_fits_the_deep_decoder():
    from dip_lib.view.widgets import AblationPanel
    p = dip.preset("ablation", "test", size=64, steps=4, every=2, input_depth=8)
    panel = AblationPanel(p, cache=Cache(), live=True, depth=2, width=4)
    panel._tasks["denoising"] = dip.denoising(synthetic(64), sigma=25, seed=0)
    panel.network.value = "deep_decoder"
    assert panel.depth.disabled and panel.sigma_p.disabled and panel.width.value == 64
    panel.width.value = 8
    run = panel.fit()
    assert run.config.network == "deep_decoder" and run.row["network"] == "deep decoder"
    assert run.row["params"] == dip.count_parameters(dip.build("deep_decoder", width=8))
    assert panel.plot_image.value[:4] == b"\x89PNG"
    panel.network.value = "hourglass"                  # back: the hourglass keeps its own width
    assert not panel.depth.disabled and panel.width.value == 4 and panel.config().network == "hourglass"


def test_live_view_draws_into_an_image_widget():
    import ipywidgets as W
    image = W.Image(format="png")
    problem = dip.denoising(synthetic(32), sigma=25, seed=0)
    dip.solve(problem, BASE, arch=tiny().skip_config(8), steps=4, every=2,
              callbacks=[dip.LiveView(image=image, force=True, min_seconds=0)])
    assert image.value[:4] == b"\x89PNG"
