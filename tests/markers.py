"""Shared pytest markers (conftest.py sets DIP_DATA_DIR to the local mirror when it exists)."""
import os
from pathlib import Path

import pytest


def has_mirror() -> bool:
    return bool(os.environ.get("DIP_DATA_DIR")) and Path(os.environ["DIP_DATA_DIR"]).exists()


needs_data = pytest.mark.skipif(not has_mirror(), reason="no local data mirror (set DIP_DATA_DIR)")
