"""Generator networks f_θ for the deep image prior.

The hourglass ("skip") builder takes per-scale lists, as in the paper's supplementary
material: ``n_down[i]``/``k_down[i]`` filters/kernel of the two convolutions that go down at
scale i, ``n_up[i]``/``k_up[i]`` those of the convolution that comes back up, and
``n_skip[i]``/``k_skip[i]`` those of the skip connection that jumps over the deeper part
(0 = no skip at that scale). ``build(name)`` returns the paper's named architectures.

Besides the hourglass, the paper compares a ResNet and a U-Net (inpainting, Fig. 8); both
are here. ``PixelImage`` is the "no prior" baseline: the image itself is the parameter θ.
The Deep Decoder (Heckel & Hand, ICLR 2019) is an under-parameterised alternative: no
convolutions wider than 1x1, no skips, a small code z that is upsampled to the image.

Every builder declares, in a :class:`NetSpec`, the sizes its network accepts (``stride``,
``min_side``) and the shape of the code z it takes: :func:`make` returns both,
:func:`architecture` the spec alone, :func:`build` the module alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import torch
from torch import nn
import torch.nn.functional as F

from .operators import Downsampler
from .rng import default_seed, seeded

__all__ = ["SkipConfig", "skip", "build", "make", "architecture", "NetSpec", "ARCHITECTURES", "ResNet", "UNet",
           "PixelImage", "DeepDecoder", "count_parameters", "BN_INITS", "init_batchnorm"]

BN_INITS = ("torch", "paper")


def _as_list(value, n, name):
    if isinstance(value, (int, str)):
        return [value] * n
    value = list(value)
    if len(value) != n:
        raise ValueError(f"{name} has {len(value)} entries but the network has {n} scales: "
                         f"give one value per scale or a single value for all.")
    return value


def conv(c_in: int, c_out: int, k: int, stride: int = 1, pad: str = "reflect",
         downsample: str = "stride", bias: bool = True) -> nn.Module:
    """Convolution with 'same' padding; stride 2 is done by ``downsample`` (stride|avg|max|lanczos)."""
    if pad not in ("reflect", "zero"):
        raise ValueError(f"pad must be 'reflect' or 'zero', not {pad!r}")
    c = nn.Conv2d(c_in, c_out, k, stride=stride if downsample == "stride" else 1,
                  padding=(k - 1) // 2, padding_mode="reflect" if pad == "reflect" else "zeros",
                  bias=bias)
    if stride == 1 or downsample == "stride":
        return c
    pools = {"avg": lambda: nn.AvgPool2d(stride), "max": lambda: nn.MaxPool2d(stride),
             "lanczos": lambda: Downsampler(stride, c_out)}
    if downsample not in pools:
        raise ValueError(f"downsample must be one of stride|avg|max|lanczos, not {downsample!r}")
    return nn.Sequential(c, pools[downsample]())


def _block(c_in, c_out, k, stride=1, pad="reflect", downsample="stride"):
    """conv -> BatchNorm -> LeakyReLU(0.2), the unit every branch is made of."""
    return nn.Sequential(conv(c_in, c_out, k, stride, pad, downsample), nn.BatchNorm2d(c_out),
                         nn.LeakyReLU(0.2, inplace=True))


class _Scale(nn.Module):
    """One scale of the hourglass: [skip(x), up(deeper(x))] -> BN -> conv up (-> 1x1 up)."""

    def __init__(self, c_in, i, cfg: "SkipConfig", deeper: nn.Module | None):
        super().__init__()
        nd, nu, ns = cfg.n_down[i], cfg.n_up[i], cfg.n_skip[i]
        self.skip = _block(c_in, ns, cfg.k_skip[i], pad=cfg.pad) if ns else None
        layers = [_block(c_in, nd, cfg.k_down[i], 2, cfg.pad, cfg.downsample[i]),
                  _block(nd, nd, cfg.k_down[i], pad=cfg.pad)]
        if deeper is not None:
            layers.append(deeper)
        self.down = nn.Sequential(*layers)
        c_deep = cfg.n_up[i + 1] if deeper is not None else nd
        mode = cfg.upsample[i]
        self.up_sample = nn.Upsample(scale_factor=2, mode=mode,
                                     align_corners=cfg.align_corners if mode == "bilinear" else None)
        self.bn = nn.BatchNorm2d(ns + c_deep)
        up = [_block(ns + c_deep, nu, cfg.k_up[i], pad=cfg.pad)]
        if cfg.need_1x1_up:
            up.append(_block(nu, nu, 1, pad=cfg.pad))
        self.up = nn.Sequential(*up)

    def forward(self, x):
        deep = self.up_sample(self.down(x))
        if self.skip is not None:
            deep = torch.cat([self.skip(x), deep], dim=1)
        return self.up(self.bn(deep))


@dataclass(frozen=True)
class SkipConfig:
    """All the knobs of the hourglass. Lists are per scale, finest scale first."""
    in_channels: int = 32
    out_channels: int = 3
    n_down: Sequence[int] = (128,) * 5
    n_up: Sequence[int] = (128,) * 5
    n_skip: Sequence[int] = (4,) * 5
    k_down: Sequence[int] | int = 3
    k_up: Sequence[int] | int = 3
    k_skip: Sequence[int] | int = 1
    upsample: Sequence[str] | str = "bilinear"
    downsample: Sequence[str] | str = "stride"
    pad: str = "reflect"
    need_1x1_up: bool = True
    sigmoid: bool = True
    # bilinear upsampling as torch >= 0.4 does it (False) or as PyTorch 0.2/0.3 did (True: the
    # version the authors' code named until June 2018, when the CVPR tables had been made)
    align_corners: bool = False

    def normalised(self) -> "SkipConfig":
        n = len(self.n_down)
        if n < 1:
            raise ValueError("the network needs at least one scale (n_down has no entries)")
        lists = {k: _as_list(getattr(self, k), n, k) for k in
                 ("n_up", "n_skip", "k_down", "k_up", "k_skip", "upsample", "downsample")}
        for mode in lists["upsample"]:
            if mode not in ("bilinear", "nearest"):
                raise ValueError(f"upsample must be 'bilinear' or 'nearest', not {mode!r}")
        return replace(self, n_down=list(self.n_down), **lists)

    @property
    def depth(self) -> int:
        return len(self.n_down)


def skip(cfg: SkipConfig | None = None, **overrides) -> nn.Module:
    """Build the encoder-decoder with skip connections f_θ described by ``cfg``.

    >>> net = skip(in_channels=32, n_down=[128]*5, n_up=[128]*5, n_skip=[4]*5)
    """
    cfg = replace(cfg or SkipConfig(), **overrides).normalised()
    deeper = None
    for i in reversed(range(cfg.depth)):
        c_in = cfg.in_channels if i == 0 else cfg.n_down[i - 1]
        deeper = _Scale(c_in, i, cfg, deeper)
    head = [deeper, nn.Conv2d(cfg.n_up[0], cfg.out_channels, 1)]
    if cfg.sigmoid:
        head.append(nn.Sigmoid())
    net = nn.Sequential(*head)
    net.config = cfg
    return net


class _ResBlock(nn.Module):
    def __init__(self, c, pad):
        super().__init__()
        self.body = nn.Sequential(conv(c, c, 3, pad=pad), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, inplace=True),
                                  conv(c, c, 3, pad=pad), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


class ResNet(nn.Module):
    """The ResNet of the paper's inpainting comparison: 8 residual blocks of 32 channels,
    no change of resolution (so it has no multi-scale structure to act as a prior)."""

    def __init__(self, in_channels=32, out_channels=3, blocks=8, width=32, pad="reflect", sigmoid=True):
        super().__init__()
        layers = [conv(in_channels, width, 3, pad=pad), nn.LeakyReLU(0.2, inplace=True)]
        layers += [_ResBlock(width, pad) for _ in range(blocks)]
        layers += [conv(width, width, 3, pad=pad), nn.BatchNorm2d(width),
                   conv(width, out_channels, 3, pad=pad)]
        if sigmoid:
            layers.append(nn.Sigmoid())
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class UNet(nn.Module):
    """A U-Net (Ronneberger et al.) as in the paper's comparison: double 3x3 convs per scale,
    max-pooling down, upsampling + concatenation of the full encoder features up."""

    def __init__(self, in_channels=32, out_channels=3, widths=(16, 32, 64, 128, 256),
                 upsample="bilinear", pad="reflect", sigmoid=True):
        super().__init__()

        def double(ci, co):
            return nn.Sequential(_block(ci, co, 3, pad=pad), _block(co, co, 3, pad=pad))

        self.enc = nn.ModuleList([double(in_channels, widths[0])] +
                                 [double(widths[i - 1], widths[i]) for i in range(1, len(widths))])
        self.dec = nn.ModuleList([double(widths[i] + widths[i + 1], widths[i])
                                  for i in range(len(widths) - 1)])
        self.upsample = upsample
        self.head = nn.Conv2d(widths[0], out_channels, 1)
        self.sigmoid = sigmoid

    def forward(self, x):
        feats = []
        for i, enc in enumerate(self.enc):
            x = enc(x if i == 0 else F.max_pool2d(x, 2))
            feats.append(x)
        x = feats[-1]
        for i in reversed(range(len(self.dec))):
            x = F.interpolate(x, scale_factor=2, mode=self.upsample,
                              align_corners=False if self.upsample == "bilinear" else None)
            x = self.dec[i](torch.cat([feats[i], x], dim=1))
        x = self.head(x)
        return torch.sigmoid(x) if self.sigmoid else x


class PixelImage(nn.Module):
    """No prior at all: θ is the image itself (passed through a sigmoid to stay in [0, 1]).

    Fitting it with ``dip.fit`` gives the "no prior" and, with a TV term, the "TV prior"
    baselines of the paper. The input z is ignored.
    """

    def __init__(self, shape, init: torch.Tensor | None = None):
        super().__init__()
        if init is None:
            init = torch.full(shape, 0.5)
        self.logits = nn.Parameter(torch.logit(init.detach().float().clamp(1e-3, 1 - 1e-3)).clone())

    def forward(self, z=None):
        return torch.sigmoid(self.logits)


class DeepDecoder(nn.Module):
    """The Deep Decoder (Heckel & Hand, ICLR 2019): an under-parameterised image generator.

    From a small fixed code z (``channels`` x H/2^(layers-1) x W/2^(layers-1), U(0, 1/10)),
    each layer is a 1x1 convolution, a bilinear x2 upsampling (all but the last layer), ReLU
    and channel normalisation (BatchNorm with its affine scale and shift); a final 1x1
    convolution and a sigmoid give the image. No skip connections, no spatial kernels: with
    64 channels and 6 layers it has 25,536 parameters, fewer than the pixels it describes, so
    it cannot fit noise the way the 2.2M-parameter hourglass eventually does.
    """

    def __init__(self, channels: int = 64, layers: int = 6, out_channels: int = 3, sigmoid: bool = True):
        super().__init__()
        if layers < 1 or channels < 1:
            raise ValueError(f"the Deep Decoder needs layers >= 1 and channels >= 1, got {layers}, {channels}")
        body = []
        for i in range(layers):
            body.append(nn.Conv2d(channels, channels, 1, bias=False))
            if i < layers - 1:
                body.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
            body += [nn.ReLU(), nn.BatchNorm2d(channels)]
        body.append(nn.Conv2d(channels, out_channels, 1, bias=False))
        if sigmoid:
            body.append(nn.Sigmoid())
        self.body = nn.Sequential(*body)

    def forward(self, z):
        return self.body(z)


@dataclass(frozen=True)
class NetSpec:
    """What a builder declares about its network f_θ.

    ``stride``: the output's H and W must be multiples of it; ``min_side``: the smallest H, W
    (BatchNorm at the coarsest scale needs more than one value per channel, reflect padding two
    pixels); ``code_channels`` and ``code_stride``: z is 1 x code_channels x H/code_stride x
    W/code_stride (1 for the hourglass, whose z has the image's size; 2^(layers-1) for the
    Deep Decoder).
    """
    name: str
    stride: int
    min_side: int
    code_channels: int
    code_stride: int = 1

    def code_shape(self, height: int, width: int) -> tuple[int, int, int, int]:
        """The shape of z for an H x W output."""
        self.check(height, width)
        return (1, self.code_channels, height // self.code_stride, width // self.code_stride)

    def check(self, height: int, width: int) -> None:
        """Raise a clear error when an H x W output cannot be made by this network."""
        s = self.stride
        if height < self.min_side or width < self.min_side:
            raise ValueError(f"the image is {height}x{width} but {self.name} needs at least "
                             f"{self.min_side}x{self.min_side} (it downsamples {int(math.log2(s))} times and its "
                             f"coarsest scale must keep 2x2 pixels): use a larger image or a shallower network.")
        if height % s or width % s:
            raise ValueError(f"the image is {height}x{width}, not a multiple of {s} ({self.name}'s stride): "
                             f"crop it with dip.crop_to_multiple(img, {s}) or load it with "
                             f"dip.load_image(..., multiple={s}).")


# --- the paper's named architectures -------------------------------------------------------

def _hourglass(depth, n=128, **kw):
    return SkipConfig(n_down=[n] * depth, n_up=[n] * depth, n_skip=[0] * depth, **kw)


ARCHITECTURES: dict[str, SkipConfig] = {
    # the default network of the paper's supplementary material: 2,217,831 parameters
    "default": SkipConfig(),
    # Fig. 4 "samples from the prior"
    "hourglass-1": _hourglass(1),
    "hourglass-3": _hourglass(3),
    "hourglass-5": _hourglass(5),
    "skip-5": SkipConfig(),
    "skip-5-nearest": SkipConfig(upsample="nearest"),
    # application networks (supplementary material / reference notebooks)
    "denoising": SkipConfig(),
    "jpeg": SkipConfig(in_channels=3, n_down=[8, 16, 32, 64, 128], n_up=[8, 16, 32, 64, 128],
                       n_skip=[0, 0, 0, 4, 4]),
    "sr": SkipConfig(),
    "inpainting-text": SkipConfig(n_skip=[128] * 5, upsample="nearest"),
    "inpainting-hole": SkipConfig(in_channels=2, n_skip=[0] * 5, upsample="nearest"),
    "restoration": SkipConfig(),
    "inversion": SkipConfig(n_down=[16, 32, 64, 128, 128, 128], n_up=[16, 32, 64, 128, 128, 128],
                            n_skip=[4] * 6, k_down=[7, 7, 5, 5, 3, 3], k_up=[7, 7, 5, 5, 3, 3],
                            upsample="nearest", downsample="avg", pad="zero", sigmoid=True),
    # activation maximisation (tex 1147-1155; k_up and the 6th skip from the authors' activation_maximization.ipynb;
    # zero padding as the tex says, line 1074: the notebook pads by reflection)
    "activation": SkipConfig(n_down=[16, 32, 64, 128, 128, 128], n_up=[16, 32, 64, 128, 128, 128],
                             n_skip=[0, 4, 4, 4, 4, 4], k_down=[5, 3, 5, 5, 3, 5], k_up=[5, 3, 5, 3, 5, 3],
                             upsample="bilinear", downsample="avg", pad="zero", sigmoid=True),
    # flash/no-flash (the authors' flash-no-flash.ipynb): z = the flash image, nearest upsampling at
    # the two finest scales, bilinear below
    "flash": SkipConfig(in_channels=3, upsample=["nearest", "nearest", "bilinear", "bilinear", "bilinear"]),
    "encoder-decoder-6": _hourglass(6, upsample="nearest"),
    "encoder-decoder-4": _hourglass(4, upsample="nearest"),
    "encoder-decoder-2": _hourglass(2, upsample="nearest"),
}
OTHER_ARCHITECTURES = ("resnet", "unet", "deep_decoder", "pixels")


def _skip_config(key: str, width: int | None, **overrides) -> SkipConfig:
    cfg = ARCHITECTURES[key]
    if width is not None:
        scale = lambda seq: [max(1, round(c * width / 128)) if c else 0 for c in seq]  # noqa: E731
        cfg = replace(cfg, n_down=scale(cfg.n_down), n_up=scale(cfg.n_up),
                      n_skip=[min(c, max(1, round(c * width / 128))) if c else 0 for c in
                              _as_list(cfg.n_skip, len(cfg.n_down), "n_skip")])
    return replace(cfg, **overrides).normalised()


def _unet_widths(width: int | None):
    return None if width is None else tuple(max(1, width * 2 ** i // 8) for i in range(5))


def _check_name(arch) -> str:
    if isinstance(arch, SkipConfig):
        return "config"
    key = str(arch).lower()
    if key not in ARCHITECTURES and key not in OTHER_ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of "
                         f"{', '.join(list(ARCHITECTURES) + list(OTHER_ARCHITECTURES))}")
    return key


def architecture(arch: str | SkipConfig = "default", *, in_channels: int | None = None, width: int | None = None,
                 **overrides) -> NetSpec:
    """The :class:`NetSpec` of an architecture (a name or a :class:`SkipConfig`), without building it."""
    key = _check_name(arch)
    if key == "config" or key in ARCHITECTURES:
        cfg = arch.normalised() if key == "config" else _skip_config(key, width, **overrides)
        if in_channels is not None:
            cfg = replace(cfg, in_channels=in_channels)
        s = 2 ** cfg.depth
        return NetSpec(key if key != "config" else f"a depth-{cfg.depth} hourglass", s, 2 * s, cfg.in_channels)
    if key == "resnet":
        return NetSpec(key, 1, 1, in_channels or 32)
    if key == "unet":
        depth = len(overrides.get("widths") or _unet_widths(width) or (0,) * 5) - 1
        return NetSpec(key, 2 ** depth, 2 ** (depth + 1), in_channels or 32)
    if key == "deep_decoder":
        layers = overrides.get("layers", 6)
        s = 2 ** (layers - 1)
        return NetSpec("the Deep Decoder", s, 2 * s, width or overrides.get("channels", 64), code_stride=s)
    return NetSpec(key, 1, 1, 0)   # pixels: no code


def _check_bn_init(bn_init: str) -> str:
    if bn_init not in BN_INITS:
        raise ValueError(f"bn_init must be 'torch' (BatchNorm scale 1, torch >= 1.2) or 'paper' (scale drawn from "
                         f"U(0, 1), as PyTorch 0.2-0.4 did when the paper's experiments ran), not {bn_init!r}")
    return bn_init


def init_batchnorm(net: nn.Module, bn_init: str = "paper", generator: torch.Generator | None = None) -> nn.Module:
    """Set the scale (``weight``) of every affine BatchNorm in ``net``, in place.

    'paper': drawn from U(0, 1), what ``BatchNorm2d.reset_parameters`` did in PyTorch 0.2-0.4, the
    versions the authors' code named (torch >= 1.2 starts the scale at 1); 'torch': set to 1.
    The shift (``bias``) is 0 in both. Draws come from ``generator`` (never the global RNG).
    """
    _check_bn_init(bn_init)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                if bn_init == "paper":
                    m.weight.copy_(torch.rand(m.weight.shape, generator=generator))
                else:
                    m.weight.fill_(1.0)
                m.bias.zero_()
    return net


def make(arch: str | SkipConfig = "default", *, in_channels: int | None = None, out_channels: int | None = None,
         width: int | None = None, seed: int | None = None, device=None, bn_init: str = "torch",
         **overrides) -> tuple[nn.Module, NetSpec]:
    """Build f_θ and return it with its :class:`NetSpec` (see :func:`build`)."""
    key = _check_name(arch)
    _check_bn_init(bn_init)
    if key == "pixels":
        raise ValueError("'pixels' has no network to build: dip.solve(problem, settings, arch='pixels') fits "
                         "the image itself (dip.PixelImage)")
    spec = architecture(arch, in_channels=in_channels, width=width, **overrides)
    given = {k: v for k, v in dict(in_channels=in_channels, out_channels=out_channels).items() if v is not None}
    with seeded(default_seed() if seed is None else seed):
        if key == "config":
            net = skip(arch, **given, **overrides)
        elif key == "resnet":
            net = ResNet(**given, **({"width": width} if width is not None else {}), **overrides)
        elif key == "unet":
            widths = _unet_widths(width)
            net = UNet(**given, **({"widths": widths} if widths else {}), **overrides)
        elif key == "deep_decoder":
            kw = dict(overrides)
            if width is not None:
                kw["channels"] = width
            net = DeepDecoder(out_channels=out_channels or 3, **kw)
        else:
            net = skip(_skip_config(key, width, **overrides), **given)
        if bn_init == "paper":
            # the net's own seeded stream, continued after its convolutions were drawn: reproducible
            # by ``seed``, and the caller's global RNG state is restored by ``seeded``
            g = torch.Generator()
            g.set_state(torch.get_rng_state())
            init_batchnorm(net, "paper", g)
    net.name = key
    return (net.to(device) if device is not None else net), spec


def build(arch: str | SkipConfig = "default", *, in_channels: int | None = None, out_channels: int | None = None,
          width: int | None = None, seed: int | None = None, device=None, bn_init: str = "torch",
          **overrides) -> nn.Module:
    """Build f_θ: a name in ``ARCHITECTURES``, 'resnet', 'unet', 'deep_decoder', or a :class:`SkipConfig`.

    ``width`` scales every hourglass filter count by width/128 (the presets use it to make
    small networks for CPU runs; for the Deep Decoder it is its channel count); ``overrides``
    go to :class:`SkipConfig` (or the class's constructor). ``seed`` makes the random θ
    reproducible (None: the kit's seed setting, ``DIP_SEED`` or 0); torch's global RNG is left as it was. ``bn_init``: 'torch' (BatchNorm scale 1,
    today's default) or 'paper' (scale ~ U(0, 1), drawn from the same seed: the default of PyTorch
    0.2-0.4, which the paper's experiments ran with).
    """
    return make(arch, in_channels=in_channels, out_channels=out_channels, width=width, seed=seed,
                device=device, bn_init=bn_init, **overrides)[0]


def count_parameters(net: nn.Module) -> int:
    """Number of learnable parameters in θ."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
