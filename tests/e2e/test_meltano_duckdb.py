# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""`meltano run tap-sell-sync target-duckdb`, the embedded loader the demo uses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
DUCKDB_PYTHON = REPO_ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
# Runs in target-duckdb's environment (it has duckdb): prints {table: [[key, deleted], ...]}.
DUMP = r"""
import json, sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
tables = {}
for (name,) in connection.execute(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'sell'"
).fetchall():
    keys = '"deal_id", "contact_id"' if name == "associated_contacts" else '"id"'
    rows = connection.execute(
        f'SELECT {keys}, "_sdc_deleted_at" IS NOT NULL FROM "sell"."{name}"'
    ).fetchall()
    tables[name] = [[list(row[:-1]), row[-1]] for row in rows]
print(json.dumps(tables))
"""


def _landed(path: Path) -> dict[str, tuple[set, set]]:
    result = subprocess.run(
        [str(DUCKDB_PYTHON), "-c", DUMP, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    landed = {}
    for table, rows in json.loads(result.stdout).items():
        live = {tuple(key) if len(key) > 1 else key[0] for key, deleted in rows if not deleted}
        gone = {tuple(key) if len(key) > 1 else key[0] for key, deleted in rows if deleted}
        landed[table] = (live, gone)
    return landed


def test_duckdb_target_upserts_by_key_and_marks_deletes_over_two_runs(pipeline, emulator):
    emu, _url = emulator
    if not DUCKDB_PYTHON.exists():
        pytest.fail("target-duckdb is not installed: run scripts/bootstrap.sh first")
    database = Path(pipeline.env()["TARGET_DUCKDB_PATH"])

    pipeline.meltano_cmd("run", "tap-sell-sync", "target-duckdb")
    first = _landed(database)
    change = emu.mutate(creates=20, updates=30, deletes=20, seed=31)
    pipeline.meltano_cmd("run", "tap-sell-sync", "target-duckdb")
    second = _landed(database)

    deleted = emu.deleted_keys()
    for resource_type, objects in emu.current_objects().items():
        if not objects:
            continue
        live, gone = second[pipeline.streams[resource_type]]
        assert live == set(objects), resource_type
        assert gone <= deleted.get(resource_type, set()), resource_type
    seen_deleted = [
        (rtype, key)
        for rtype, key in change.deleted
        if key in first.get(pipeline.streams[rtype], (set(), set()))[0]
    ]
    assert seen_deleted
    for resource_type, key in seen_deleted:
        assert key in second[pipeline.streams[resource_type]][1], (resource_type, key)
