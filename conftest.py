"""Test setup: the `test` preset, CPU, and the local data mirror (never the network)."""
import os
from pathlib import Path

os.environ.setdefault("DIP_PRESET", "test")
os.environ.setdefault("DIP_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
_mirror = Path(__file__).resolve().parent.parent / "shared" / "data"
if "DIP_DATA_DIR" not in os.environ and _mirror.exists():
    os.environ["DIP_DATA_DIR"] = str(_mirror)

import torch  # noqa: E402

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or min(2, os.cpu_count() or 1)))

