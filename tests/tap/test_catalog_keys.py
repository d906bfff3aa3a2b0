# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""A catalog that changes a stream's key changes what targets upsert by, never the tap's spool."""

from __future__ import annotations

import json
import subprocess

from tap_fakes import TAP, run_tap

from sell_sync_emulator import Emulator, EmulatorConfig, serve


def _discover(tmp_path, config: dict) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "discover-config.json"
    path.write_text(json.dumps(config))
    done = subprocess.run(
        [TAP, "--config", str(path), "--discover"], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def _drop_key(entry: dict) -> None:
    entry["key_properties"] = []
    for metadata in entry["metadata"]:
        if not metadata["breadcrumb"]:
            metadata["metadata"].pop("table-key-properties", None)


def test_catalog_without_a_key_still_emits_every_deal_and_warns(tmp_path):
    emulator = Emulator(EmulatorConfig(seed=7, objects=300, page_size=100, rate_limit_per_hour=0))
    with serve(emulator) as server:
        config = {
            "access_token": emulator.config.token,
            "api_url": server.url,
            "max_requests_per_second": 1000,
        }
        catalog = _discover(tmp_path, config)
        for entry in catalog["streams"]:
            if entry["tap_stream_id"] == "deals":
                _drop_key(entry)
        run = run_tap(tmp_path / "run", config, catalog=catalog)

    assert run.returncode == 0, run.stderr[-3000:]
    deals = emulator.current_objects()["deal"]
    assert len(deals) > 1
    assert sorted(r["id"] for r in run.records("deals")) == sorted(deals)
    assert " 0 superseded" in run.stderr
    assert "a full resync" in run.stderr
    assert "resync))" not in run.stderr
    warnings = [line for line in run.stderr.splitlines() if "upsert by the catalog's key" in line]
    assert len(warnings) == 1, run.stderr[-3000:]
    assert "deals" in warnings[0]
    schema = next(m for m in run.messages if m["type"] == "SCHEMA" and m["stream"] == "deals")
    assert schema["key_properties"] == []
