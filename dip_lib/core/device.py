"""Where tensors live: one function resolves the device for the whole kit."""
from __future__ import annotations

import os

import torch

__all__ = ["resolve_device", "default_device"]


def _available(dev: torch.device) -> bool:
    if dev.type == "cpu":
        return True
    if dev.type == "cuda":
        return torch.cuda.is_available() and (dev.index is None or dev.index < torch.cuda.device_count())
    if dev.type == "mps":
        return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    return False


def resolve_device(device=None) -> torch.device:
    """The device to run on: ``device`` if given, else ``DIP_DEVICE``, else CUDA, MPS or CPU.

    A name that is not a device, or a device this machine does not have, raises a
    ``ValueError`` that says what to use instead.
    """
    source = "device"
    if device is None:
        device, source = os.environ.get("DIP_DEVICE") or None, "DIP_DEVICE"
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _available(torch.device("mps")):
            return torch.device("mps")
        return torch.device("cpu")
    if isinstance(device, torch.device):
        dev = device
    else:
        try:
            dev = torch.device(str(device).strip().lower())
        except RuntimeError:
            raise ValueError(f"{source}={device!r} is not a device: use cpu, cuda, cuda:N or mps") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{source}={device!r} is not supported here: use cpu, cuda, cuda:N or mps")
    if not _available(dev):
        raise ValueError(f"{source}={device!r}, but this machine has no such device: use cpu"
                         + (" (torch sees no CUDA GPU)" if dev.type == "cuda" else ""))
    return dev


def default_device() -> torch.device:
    """``resolve_device(None)``: ``DIP_DEVICE`` if set, else CUDA, else Apple MPS, else CPU."""
    return resolve_device(None)
