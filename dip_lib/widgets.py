"""ipywidgets panels for the notebooks ("try it" cells). The logic lives here and is unit-tested
without a browser: construct a panel, set its values, trigger a run, read its results."""
from __future__ import annotations


# --- prior samples (notebook 02, paper Fig. 4) ---------------------------------------------

def render_prior_sample(depth: int = 5, skips: bool = True, upsample: str = "bilinear", seed: int = 0,
                        size: int = 64, width: int = 128, input_depth: int = 32):
    """The pure function behind :class:`PriorSamplePanel`: one sample x = f_θ(z) of the prior
    for an hourglass of ``depth`` scales, with or without skip connections, bilinear or
    nearest upsampling, θ and z seeded by ``seed``. Returns a 1x3xHxW tensor in [0, 1]."""
    from .samples import prior_sample, sample_config
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
