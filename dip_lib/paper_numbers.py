"""The paper's numbers: ``dip_lib.paper_numbers.paper_psnr(table, set, image, method)``.

The table data live in :mod:`dip_lib.paper.numbers`; this module is the documented entry point.
"""
from .paper.numbers import *  # noqa: F401,F403
from .paper.numbers import __all__  # noqa: F401
