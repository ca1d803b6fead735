"""Run the ``centered-nn`` command as ``python -m centered_nn``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
