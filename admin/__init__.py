"""Operator CLI for stored PagerDuty connections: `python -m admin --help` (or `make admin`)."""

import sys
from pathlib import Path

# The CLI drives the deployed library (functions/pd_connect) directly, never a copy of it.
_FUNCTIONS = str(Path(__file__).resolve().parents[1] / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.insert(0, _FUNCTIONS)
