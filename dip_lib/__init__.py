"""dip_lib: the Deep Image Prior teaching kit (Ulyanov, Vedaldi, Lempitsky; IJCV 2020).

    import dip_lib as dip
    p = dip.preset("denoising")
    clean = dip.load_image("F16", size=p.size, multiple=32)
    noisy = dip.gaussian_noise(clean, 25 / 255)
    result = dip.denoise(noisy, p, target=clean, callbacks=[dip.LiveView()])
"""
from .data import (load_image, fetch, names, image_set, SETS, crop_to_multiple, resize, default_device,
                   to_pil, save_image, DataUnavailable)
from .fit import fit, FitResult, FitState, Callback, Progress, EarlyStopping, Checkpoint
from .inputs import noise, meshgrid, from_image, make_input
from .losses import mse, masked_mse, tv, feature_loss, data_term
from .metrics import psnr, psnr_sr, hole_psnr, ssim, rgb_to_y
from .nets import (SkipConfig, skip, build, ARCHITECTURES, ResNet, UNet, PixelImage, count_parameters,
                   stride_of, check_input_size)
from .operators import (Downsampler, Mask, Identity, gaussian_noise, jpeg, bernoulli_mask, text_mask,
                        box_mask, lanczos_kernel_1d)
from .presets import preset, active_preset, PRESETS, APPLICATIONS
from .tasks import (run, denoise, super_resolve, inpaint, Snapshots, WindowedVariance, jpeg_restore, load_mask,
                    flash_no_flash)
from .sweep import sweep, Ablation, AblationTask, ablation_task, run_ablation, Table
from .viz import show, image_grid, plot_history, LiveView, save_figure, gallery

__version__ = "0.1.0"


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU runs are then deterministic)."""
    import random
    import numpy as np
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
