#!/usr/bin/env python3
"""Start the spectrogram monitor: ``python main.py --help``."""

import sys

from monitor.cli import main

if __name__ == "__main__":
    sys.exit(main())
