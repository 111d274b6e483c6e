"""dip_lib: the Deep Image Prior teaching kit (Ulyanov, Vedaldi, Lempitsky; IJCV 2020).

    import dip_lib as dip
    p = dip.preset("denoising")                          # typed settings of the active preset
    clean = dip.load_image("F16", size=p.size, multiple=32)
    problem = dip.denoising(clean, sigma=25)             # A = I, y = x0 + n, truth x0
    result = dip.solve(problem, p, callbacks=[dip.LiveView()])
    print(dip.psnr(result.ema_image, clean))

The layers, each importing only from those before it:

- ``dip_lib.core``: nets, codes z, operators A, losses, metrics, data, features Φ, fit + callbacks;
- ``dip_lib.problems``: the problem value (A, y, x0), typed settings, ``solve``, classical baselines;
- ``dip_lib.experiments``: noise impedance, prior samples, ablations, inversion, enhancement;
- ``dip_lib.view``: figures, the live view, widgets;
- ``dip_lib.paper``: the paper's numbers and ``reproduce``;
- ``dip_lib.cli``: ``python -m dip_lib VERB``.
"""
from .core.checks import check, CheckFailed
from .core.rng import default_seed
from .core.codes import noise, meshgrid, from_image, make_input
from .core.callbacks import Callback, Progress, EarlyStopping, Checkpoint, Snapshots, snapshot_every
from .core.early_stop import EarlyStop
from .core.precision import resolve_precision, cpu_has_native_bf16
from .core.restarts import Restarts
from .core.data import (load_image, fetch, names, image_set, SETS, crop_to_multiple, resize, to_pil, save_image,
                        load_mask, DataUnavailable)
from .core.device import resolve_device, default_device
from .core.fit import fit, FitResult, FitState
from .core.losses import mse, tv, feature_loss
from .core.metrics import psnr, psnr_sr, hole_psnr, ssim, rgb_to_y
from .core.nets import (SkipConfig, NetSpec, skip, build, make, architecture, ARCHITECTURES, ResNet, UNet,
                        PixelImage, DeepDecoder, count_parameters)
from .core.operators import (Operator, Identity, JPEG, Mask, Downsampler, Blur, Features, ClassScore,
                             gaussian_kernel, motion_kernel, gaussian_noise, jpeg, bernoulli_mask, text_mask, box_mask,
                             lanczos_kernel_1d)
from .problems.problem import (Problem, denoising, jpeg_artifacts, super_resolution, inpainting, deblurring,
                               flash_no_flash, preimage, activation_maximization, enhancement, blur_kernel,
                               pil_downscale, paper_sr_crop, psnr_sr_border, PAPER_SR_BORDER)
from .problems.settings import Settings, preset, active_preset, PRESETS, APPLICATIONS, UnknownSetting
from .problems.run import solve, build_for
from .problems import baselines
from .experiments.ablation import sweep, Ablation, ablation_problem, run_ablation, Table
from .view.viz import show, image_grid, plot_history, LiveView, save_figure, gallery

__version__ = "0.2.0"
