# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Fixtures for the tap's tests; helpers live in tap_fakes.py next to this file."""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# The fakes shared with the other test folders (tests/sell_fakes.py).
sys.path.insert(1, str(Path(__file__).parent.parent))

from tap_fakes import FakeSell


@pytest.fixture
def fake_sell() -> t.Iterator[FakeSell]:
    fake = FakeSell()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
