"""ipywidgets panels for the notebooks ("try it" cells). The logic lives here and is unit-tested
without a browser: construct a panel, set its values, trigger a run, read its results."""
from __future__ import annotations


# --- prior samples (notebook 02, paper Fig. 4) ---------------------------------------------

def render_prior_sample(depth: int = 5, skips: bool = True, upsample: str = "bilinear", seed: int = 0,
                        size: int = 64, width: int = 128, input_depth: int = 32):
    """The pure function behind :class:`PriorSamplePanel`: one sample x = f_θ(z) of the prior
    for an hourglass of ``depth`` scales, with or without skip connections, bilinear or
    nearest upsampling, θ and z seeded by ``seed``. Returns a 1x3xHxW tensor in [0, 1]."""
    from ..experiments.samples import prior_sample, sample_config
    cfg = sample_config(depth, skips, upsample, width=width, input_depth=input_depth)
    return prior_sample(cfg, size=size, seed=seed, input_depth=input_depth)


class PriorSamplePanel:
    """Sliders for depth, skip connections, upsampling and seed; redraws f_θ(z) on every change.

    ``panel.image`` is the last sample, ``panel.renders`` counts redraws; display the panel
    (or ``panel.widget``) in a notebook. Sizes and widths come from the notebook's preset.
    """

    def __init__(self, size: int = 64, width: int = 128, input_depth: int = 32, depth: int = 5,
                 skips: bool = True, upsample: str = "bilinear", seed: int = 0):
        import math
        import ipywidgets as W
        self.size, self.width, self.input_depth = size, width, input_depth
        max_depth = max(1, min(7, int(math.log2(size)) - 1))   # the coarsest scale must keep >= 2x2 pixels
        self.depth = W.IntSlider(value=min(depth, max_depth), min=1, max=max_depth, description="depth")
        self.skips = W.Checkbox(value=skips, description="skip connections")
        self.upsample = W.ToggleButtons(options=["bilinear", "nearest"], value=upsample, description="upsample")
        self.seed = W.BoundedIntText(value=seed, min=0, max=10_000, description="seed θ, z")
        self.output = W.Output()
        self.image, self.renders = None, 0
        for control in (self.depth, self.skips, self.upsample, self.seed):
            control.observe(self._changed, names="value")
        self.widget = W.VBox([W.HBox([self.depth, self.skips]), W.HBox([self.upsample, self.seed]), self.output])
        self.render()

    def settings(self) -> dict:
        """The current knobs as keyword arguments of :func:`render_prior_sample`."""
        return dict(depth=self.depth.value, skips=self.skips.value, upsample=self.upsample.value,
                    seed=self.seed.value, size=self.size, width=self.width, input_depth=self.input_depth)

    def render(self):
        """Draw the sample for the current settings into the panel's output area."""
        import matplotlib.pyplot as plt
        from IPython.display import display
        from .viz import image_grid
        s = self.settings()
        self.image = render_prior_sample(**s)
        self.renders += 1
        title = (f"depth {s['depth']}, {'skips' if s['skips'] else 'no skips'}, {s['upsample']}, "
                 f"seed {s['seed']}")
        fig = image_grid({title: self.image}, size=4)
        with self.output:
            self.output.clear_output(wait=True)
            display(fig)
        plt.close(fig)
        return self.image

    def _changed(self, change):
        self.render()

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)


# --- architecture ablations (notebook 11) ----------------------------------------------------

class AblationPanel:
    """Vary the network (the hourglass: depth, skips, upsampling, width, code z; or the Deep
    Decoder: its channels) and the fit (lr, σ_p, steps).

    Pressing "fit" (or calling :meth:`fit`) runs ``dip.solve`` with the live view on the chosen
    task (denoising or inpainting); every finished configuration is added to ``panel.table``
    (a :class:`dip_lib.experiments.ablation.Table`) and to the PSNR-vs-iteration plot. Runs are
    cached per configuration (shared with ``dip.sweep``), so revisiting one is instant. The
    live view and the plot are ``ipywidgets.Image`` widgets (PNG), which redraw in JupyterLab
    too.
    """

    HOURGLASS_ONLY = ("depth", "skip", "skip_width", "upsample", "input", "sigma_p")

    def __init__(self, p=None, task: str = "denoising", image: str = "F16", sigma: float = 25, keep: float = 0.5,
                 cache=None, live: bool = True, **start):
        import math
        import ipywidgets as W
        from ..problems.settings import preset
        from ..experiments.ablation import Ablation, CACHE, SKIP_MODES, TASKS, Table
        self.p = p if p is not None else preset("ablation")
        self.image, self.sigma, self.keep, self.live = image, sigma, keep, live
        self.cache = CACHE if cache is None else cache
        self._tasks = {}
        base = Ablation.from_preset(self.p, **start)
        self.start = base     # slider values within a slider step of these snap back to them
        self._widths = {"hourglass": base.width if base.network == "hourglass" else (self.p.width or 128),
                        "deep_decoder": base.width if base.network == "deep_decoder" else 64}
        size = self.p.size or 512
        max_depth = max(1, min(6, int(math.log2(size)) - 1))   # the bottleneck keeps >= 2x2 pixels
        style = {"description_width": "90px"}
        self.task = W.ToggleButtons(options=list(TASKS), value=task, description="task", style=style)
        self.network = W.ToggleButtons(options=[("hourglass (DIP)", "hourglass"), ("Deep Decoder", "deep_decoder")],
                                       value=base.network, description="network", style=style,
                                       tooltips=["the deep image prior's encoder-decoder",
                                                 "Heckel & Hand (2019): 1x1 convolutions + upsampling, σ_p = 0"])
        self.depth = W.IntSlider(value=min(base.depth, max_depth), min=1, max=max_depth, description="depth",
                                 style=style)
        self.skip = W.ToggleButtons(options=list(SKIP_MODES), value=base.skip, description="skip", style=style,
                                    tooltips=["no skip connections", "1x1 convolution of width k at every scale",
                                              "U-Net-like: 3x3, as wide as the encoder"])
        self.skip_width = W.IntSlider(value=base.skip_width, min=1, max=32, description="skip width k", style=style)
        self.upsample = W.ToggleButtons(options=["nearest", "bilinear"], value=base.upsample,
                                        description="upsample", style=style)
        self.width = W.Dropdown(options=sorted({8, 16, 32, 64, 128, *self._widths.values()}), value=base.width,
                                description="width", style=style)
        self.input = W.ToggleButtons(options=["noise", "meshgrid"], value=base.input, description="input z",
                                     style=style)
        self.lr = W.FloatLogSlider(value=base.lr, base=10, min=-4, max=-1, step=0.1, description="lr",
                                   readout_format=".4f", style=style)
        self.sigma_p = W.FloatSlider(value=round(base.sigma_p, 4), min=0, max=0.1, step=0.001,
                                     description="σ_p", readout_format=".3f", style=style)
        every = self.p.every
        self.steps = W.IntSlider(value=base.steps, min=every, max=max(10 * base.steps, 2000), step=every,
                                 description="iterations", style=style)
        self.fit_button = W.Button(description="fit", button_style="primary", icon="play")
        self.clear_button = W.Button(description="clear table")
        self.status = W.HTML()
        self.live_image, self.table_out, self.plot_image = W.Image(format="png"), W.HTML(), W.Image(format="png")
        self.live_image.layout.display = "none"     # shown from the first live fit on (no empty picture)
        self.table = Table()
        self.last_run, self.figure = None, None
        self.fit_button.on_click(lambda _: self.fit())
        self.clear_button.on_click(lambda _: self.clear())
        self.network.observe(self._network_changed, names="value")
        self._network_changed()
        controls = W.VBox([self.task, self.network, W.HBox([self.depth, self.width]), self.skip, self.skip_width,
                           self.upsample, self.input, W.HBox([self.lr, self.sigma_p]), self.steps,
                           W.HBox([self.fit_button, self.clear_button, self.status])])
        self.widget = W.VBox([controls, self.live_image, self.table_out, self.plot_image])

    def _network_changed(self, change=None):
        """Grey out the knobs the chosen network does not have; each network keeps its own width."""
        dd = self.network.value == "deep_decoder"
        for name in self.HOURGLASS_ONLY:
            getattr(self, name).disabled = dd
        if change is not None:
            self._widths[change["old"]] = self.width.value
            self.width.value = self._widths[change["new"]]
        self.width.description = "channels" if dd else "width"

    @staticmethod
    def _snap(value: float, targets, half_step: float, log: bool = False) -> float:
        """``value``, or the first of ``targets`` within half a slider step of it: a slider
        position stands for the preset's exact value (0.0199526 for 0.02, 0.0333 for 1/30)."""
        import math
        for t in targets:
            if log:
                close = value > 0 and t > 0 and abs(math.log10(value) - math.log10(t)) <= half_step
            else:
                close = abs(value - t) <= half_step
            if close:
                return t
        return value

    def config(self):
        """The :class:`dip_lib.experiments.ablation.Ablation` the controls describe now.

        lr and σ_p within half a slider step of the starting (preset) values are those values,
        so fitting the starting configuration hits the run ``dip.sweep`` cached for it."""
        from ..experiments.ablation import Ablation
        tol = 1 + 1e-6
        lr = self._snap(float(self.lr.value), (self.start.lr, self.p.lr), 0.5 * self.lr.step * tol, log=True)
        sigma_p = self._snap(float(self.sigma_p.value), (self.start.sigma_p, self.p.sigma_p),
                             0.5 * self.sigma_p.step * tol)
        if self.network.value == "deep_decoder":
            return Ablation(network="deep_decoder", width=self.width.value, lr=lr, steps=self.steps.value, seed=self.p.seed)
        return Ablation(depth=self.depth.value, skip=self.skip.value, skip_width=self.skip_width.value,
                        upsample=self.upsample.value, width=self.width.value, input=self.input.value,
                        lr=lr, sigma_p=sigma_p, steps=self.steps.value, seed=self.p.seed)

    def problem(self):
        """The ``dip.Problem`` of the selected task (built once per task)."""
        from ..experiments.ablation import ablation_problem
        name = self.task.value
        if name not in self._tasks:
            self._tasks[name] = ablation_problem(name, self.image, size=self.p.size, sigma=self.sigma, keep=self.keep,
                                                  seed=self.p.seed)
        return self._tasks[name]

    def fit(self):
        """Run (or fetch from the cache) the current configuration; returns its ``Run``."""
        from ..experiments.ablation import Cache, input_psnr, run_ablation
        from .viz import LiveView
        try:
            cfg, task = self.config(), self.problem()
            cached = self.cache.get(Cache.key(task, cfg, self.p, min(self.p.every, cfg.steps))) is not None
            self.status.value = "cached: shown instantly" if cached else f"fitting {cfg.label} ..."
            callbacks = ([] if cached or not self.live else
                         [LiveView(reference=task.observation, title=cfg.label, image=self.live_image)])
            if callbacks:
                self.live_image.layout.display = None
            run = run_ablation(cfg, task, callbacks=callbacks, cache=self.cache, every=self.p.every, base=self.p)
        except ValueError as e:   # e.g. a depth the image is too small for
            self.status.value = f"<b>cannot fit:</b> {e}"
            return None
        if all(r.config != cfg or r.row["task"] != task.name for r in self.table.runs):
            self.table.add(run)
        self.last_run = run
        r = run.row
        self.status.value = (f"{'cached' if cached else 'done'}: PSNR {r['psnr']:.2f} dB "
                             f"(input {input_psnr(task):.2f} dB), {r['seconds']:.1f} s")
        self.refresh()
        return run

    def clear(self):
        """Empty the table and the plot (the cache keeps the runs)."""
        from ..experiments.ablation import Table
        self.table = Table()
        self.refresh()

    def refresh(self):
        """Redraw the results table and the PSNR-vs-iteration plot."""
        import io
        import matplotlib.pyplot as plt
        from ..experiments.ablation import input_psnr
        self.table_out.value = self.table.to_html() if len(self.table) else ""
        self.figure, png = None, b""
        if len(self.table):
            fig, ax = plt.subplots(figsize=(7, 3.5))
            self.table.plot("psnr", ax=ax, reference=input_psnr(self.problem()))
            ax.set_title(f"{self.task.value}: PSNR of the output vs iteration")
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
            self.figure, png = fig, buf.getvalue()
            plt.close(fig)
        self.plot_image.value = png

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)
