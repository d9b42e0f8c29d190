"""`python -m mmkeras ...`: the command line (`mmkeras.cli`)."""

import sys

from mmkeras.cli import main

if __name__ == "__main__":
    sys.exit(main())
