"""Shared pytest markers (conftest.py sets DIP_DATA_DIR to the local mirror when it exists).

``needs_data``: the test reads registry files (``dip.fetch``, ``dip.load_image("F16")``); it runs
when a mirror is set (CI) or, without one, when the network answers, and otherwise skips with the
command that builds a mirror. ``needs_mirror``: the test reads the mirror folder itself.
"""
import os
import socket
from functools import lru_cache
from pathlib import Path

import pytest

OFFLINE_HINT = ("no data mirror and no network: run `python -m dip_lib data fetch` on a machine with network, "
                "then set DIP_DATA_DIR to that folder (conftest.py uses ../shared/data when it exists)")


def has_mirror() -> bool:
    return bool(os.environ.get("DIP_DATA_DIR")) and Path(os.environ["DIP_DATA_DIR"]).is_dir()


@lru_cache(maxsize=1)
def has_network(host: str = "raw.githubusercontent.com", timeout: float = 3.0) -> bool:
    """Whether the registry's host answers (probed once, and only when there is no mirror)."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def has_data() -> bool:
    return has_mirror() or has_network()


needs_data = pytest.mark.skipif(not has_data(), reason=OFFLINE_HINT)
needs_mirror = pytest.mark.skipif(not has_mirror(), reason="no local data mirror (DIP_DATA_DIR): " + OFFLINE_HINT)
