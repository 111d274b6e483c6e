"""Classical baselines shown beside the deep image prior."""
from __future__ import annotations
