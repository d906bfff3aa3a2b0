# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Fixtures for the reliability tests; the scriptable fake server lives in scripted_sell.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# The fakes shared with the other test folders (tests/sell_fakes.py).
sys.path.insert(1, str(Path(__file__).parent.parent))
