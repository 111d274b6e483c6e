"""The ablation panel as a browser sees it (tests/browser/ drives a real one):

- its cache key comes from the values the fit uses, not from where the sliders sit: a browser snaps
  the lr slider (log steps of 0.1) from 0.02 to 10^-1.7 = 0.0199526 and the σ_p slider (steps of 0.001)
  from 1/30 to 0.033, yet fitting the panel's starting configuration must hit the run notebook 11
  cached for its baseline;
- the live view draws into an ``ipywidgets.Image`` (display updates inside an ``ipywidgets.Output`` do
  not render in JupyterLab), with a new picture at each check.
"""
import math

import pytest
import torch

import dip_lib as dip
from dip_lib.core.callbacks import Callback
from dip_lib.experiments.ablation import Ablation, Cache

pytest.importorskip("ipywidgets")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def synthetic(side=32):
    y, x = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
    clean = torch.stack([x, y, 0.5 * (x + y)])[None]
    clean[..., side // 4:side * 5 // 8, side // 3:side * 2 // 3] = 0.9
    return clean


def as_browser(slider, log=False):
    """Where the browser's slider puts a value: the nearest slider step (of the exponent for a log slider)."""
    if log:
        e = slider.min + round((math.log(slider.value, slider.base) - slider.min) / slider.step) * slider.step
        return slider.base ** e
    return slider.min + round((slider.value - slider.min) / slider.step) * slider.step


@pytest.mark.parametrize("preset", dip.PRESETS)
def test_panel_default_has_the_key_of_the_notebook_baseline(preset):
    from dip_lib.view.widgets import AblationPanel
    p = dip.preset("ablation", preset)
    problem = dip.denoising(synthetic(32), sigma=25, seed=0)
    base = dip.Ablation.from_preset(p, depth=p.skip_depth)           # notebook 11's baseline run
    every = min(p.every, base.steps)
    panel = AblationPanel(p, task="denoising", depth=p.skip_depth, cache=Cache(), live=False)
    panel.lr.value, panel.sigma_p.value = as_browser(panel.lr, log=True), as_browser(panel.sigma_p)
    assert panel.sigma_p.value != p.sigma_p                               # the slider really moved off 1/30
    assert preset != "test" or panel.lr.value != p.lr                     # and off 0.02 (the test preset)
    cfg = panel.config()
    assert (cfg.lr, cfg.sigma_p) == (p.lr, p.sigma_p)                     # the values the fit uses
    assert Cache.key(problem, cfg, panel.p, every) == Cache.key(problem, base, p, every)
    # one slider step away is another configuration, with another key
    panel.lr.value = panel.lr.value * 10 ** panel.lr.step
    assert Cache.key(problem, panel.config(), p, every) != Cache.key(problem, base, p, every)


def test_panel_refit_of_the_baseline_is_the_cached_run():
    from dip_lib.view.widgets import AblationPanel
    p = dip.preset("ablation", "test", size=32, steps=6, every=3, input_depth=8, width=4)
    problem = dip.denoising(synthetic(32), sigma=25, seed=0)
    cache = Cache()
    first = dip.run_ablation(Ablation.from_preset(p, depth=2), problem, cache=cache, base=p)
    panel = AblationPanel(p, depth=2, cache=cache, live=False)
    panel._tasks["denoising"] = problem
    panel.lr.value, panel.sigma_p.value = as_browser(panel.lr, log=True), as_browser(panel.sigma_p)
    run = panel.fit()
    assert run.row["cached"] and run.row["psnr"] == first.row["psnr"] and len(cache) == 1
    assert "cached" in panel.status.value and f"{first.row['psnr']:.2f}" in panel.status.value


class _Frames(Callback):
    """Records the live image's PNG at every check (after the live view has drawn)."""

    def __init__(self, image):
        self.image, self.frames = image, []

    def check(self, state):
        self.frames.append(bytes(self.image.value))


def test_live_view_image_changes_between_two_checks():
    import ipywidgets as W
    image = W.Image(format="png")
    frames = _Frames(image)
    problem = dip.denoising(synthetic(32), sigma=25, seed=0)
    p = dip.preset("ablation", "test", input_depth=8)
    dip.solve(problem, p, arch=Ablation(depth=2, width=4).skip_config(8), steps=6, every=3,
              callbacks=[dip.LiveView(image=image, force=True, min_seconds=0), frames])
    assert len(frames.frames) == 2 and all(f[:4] == b"\x89PNG" for f in frames.frames)
    assert frames.frames[0] != frames.frames[1], "the live image must be redrawn at each check"


def test_panel_live_view_draws_into_its_image_widget():
    from dip_lib.view.widgets import AblationPanel
    p = dip.preset("ablation", "test", size=32, steps=6, every=3, input_depth=8, width=4)
    panel = AblationPanel(p, depth=2, cache=Cache(), live=True)
    panel._tasks["denoising"] = dip.denoising(synthetic(32), sigma=25, seed=0)
    assert panel.live_image.value == b""
    run = panel.fit()
    assert not run.row["cached"] and panel.live_image.value[:4] == b"\x89PNG"
    assert panel.live_image in panel.widget.children and not any(
        type(w).__name__ == "Output" for w in panel.widget.children)
