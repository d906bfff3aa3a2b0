# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The README's first command, scripts/demo.sh, run as a user would (with fewer objects)."""

from __future__ import annotations

import os
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_OBJECTS = 300
TOTALS = re.compile(r"^\s+all tables\s+(\d+)\s+(\d+)$", re.MULTILINE)


def test_demo_script_syncs_twice_into_duckdb_and_shows_the_deletes():
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAP_SELL_SYNC_", "TARGET_DUCKDB_", "MELTANO_"))
    }
    env["DEMO_OBJECTS"] = str(DEMO_OBJECTS)
    result = subprocess.run(
        ["bash", "scripts/demo.sh"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    totals = [(int(rows), int(deleted)) for rows, deleted in TOTALS.findall(result.stdout)]
    assert len(totals) == 2, result.stdout
    (first_rows, first_deleted), (second_rows, second_deleted) = totals
    assert first_rows == DEMO_OBJECTS
    assert first_deleted == 0
    assert second_deleted > 0
    assert second_rows > first_rows
    assert "a few rows of deals" in result.stdout

    url = re.search(r"^emulator at (http://127\.0\.0\.1:\d+)$", result.stdout, re.MULTILINE)
    assert url, result.stdout
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url.group(1)}/_emulator/counters", timeout=5)  # noqa: S310
