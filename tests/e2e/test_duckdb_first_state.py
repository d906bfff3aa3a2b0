# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""target-duckdb takes the first state it sees for stored: that state must hold no new key.

target-duckdb (built like pipelinewise's targets) keeps the first STATE it reads as its
"flushed" state and prints it again whenever one stream's batch fills, although the records
before that state may still be in memory. The tap therefore writes a state before its first
record, holding only keys that are stored already. This test kills the target right after
the first state it prints and checks that every key in it has its row in the database.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_meltano_duckdb import DUCKDB_PYTHON, _landed

from tap_sell_sync.state import read_bookmark
from tap_sell_sync.streams import STREAM_TYPES

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
TAP = str(Path(sys.executable).parent / "tap-sell-sync")
TARGET = REPO_ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "target-duckdb"
TABLE_OF = {stream.resource_type: stream.name for stream in STREAM_TYPES}


def test_the_first_state_target_duckdb_prints_holds_only_stored_keys(tmp_path, emulator):
    emu, url = emulator
    if not TARGET.exists() or not DUCKDB_PYTHON.exists():
        pytest.fail("target-duckdb is not installed: run scripts/bootstrap.sh first")
    database = tmp_path / "warehouse.duckdb"
    tap_config = tmp_path / "tap.json"
    settings = {"access_token": emu.config.token, "api_url": url, "max_requests_per_second": 50}
    tap_config.write_text(json.dumps(settings))
    target_config = tmp_path / "target.json"
    target_config.write_text(
        json.dumps(
            {
                "path": str(database),
                "default_target_schema": "sell",
                "add_metadata_columns": True,
                # Small batches: one stream fills a batch while others wait in memory.
                "batch_size_rows": 20,
            }
        )
    )
    tap = subprocess.Popen(
        [TAP, "--config", str(tap_config)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    target = subprocess.Popen(
        [str(TARGET), "--config", str(target_config)],
        stdin=tap.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert tap.stdout is not None
    assert target.stdout is not None
    tap.stdout.close()
    try:
        first_state = target.stdout.readline()
    finally:
        # The target dies right after its first state: whatever it did not write is lost.
        target.kill()
        tap.kill()
        target.wait(timeout=60)
        tap.wait(timeout=60)
        target.stdout.close()
    assert first_state, "target-duckdb printed no state"
    bookmark = json.loads(first_state)["bookmarks"]["_sell_sync"]
    pending = {key for keys in read_bookmark(bookmark).pending.values() for key in keys}

    delivered = {event.ack_key: event for event in emu.delivery_log()}
    landed = _landed(database) if database.exists() else {}
    for key in pending:
        event = delivered[key]
        live, gone = landed.get(TABLE_OF[event.resource_type], (set(), set()))
        assert event.key in live | gone, f"{key} is in the state but its row is not stored"
