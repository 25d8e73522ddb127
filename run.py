#!/usr/bin/env python3
"""Command-line entry of vaultsim: ``python run.py run|validate|sweep|compare ...``."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
