"""``python -m dip_lib COMMAND``: see :mod:`dip_lib.cli`."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
