"""ipywidgets panels for the notebooks ("try it" cells). The logic lives here and is unit-tested
without a browser: construct a panel, set its values, trigger a run, read its results."""
from __future__ import annotations
