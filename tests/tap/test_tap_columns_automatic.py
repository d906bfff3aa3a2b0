# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The delete mark and the sync columns cannot be deselected through selection metadata."""

from __future__ import annotations

import json
import subprocess

from tap_fakes import TAP

from sell_sync_emulator import Emulator, EmulatorConfig, serve

TOKEN = "t" * 64
TAP_COLUMNS = ("_sdc_deleted_at", "sell_event_type", "sell_revision")


def run_tap(tmp_path, config, *args):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    command = [TAP, "--config", str(path), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_deselecting_the_delete_mark_keeps_it_and_deletes_stay_marked(tmp_path):
    emulator = Emulator(EmulatorConfig(seed=3, objects=120, token=TOKEN, rate_limit_per_hour=0))
    with serve(emulator) as server:
        config = {"access_token": TOKEN, "api_url": server.url, "max_requests_per_second": 100}
        discovered = run_tap(tmp_path, config, "--discover")
        assert discovered.returncode == 0, discovered.stderr
        catalog = json.loads(discovered.stdout)
        for stream in catalog["streams"]:
            for entry in stream["metadata"]:
                if entry["breadcrumb"] in [["properties", name] for name in TAP_COLUMNS]:
                    assert entry["metadata"]["inclusion"] == "automatic"
                    entry["metadata"]["selected"] = False
        catalog_path = tmp_path / "catalog.json"
        catalog_path.write_text(json.dumps(catalog))

        first = run_tap(tmp_path, config, "--catalog", str(catalog_path))
        assert first.returncode == 0, first.stderr
        state = [json.loads(line) for line in first.stdout.splitlines() if '"STATE"' in line][-1]
        (tmp_path / "state.json").write_text(json.dumps(state["value"]))
        deleted = emulator.mutate(deletes=5, seed=4).deleted

        second = run_tap(
            tmp_path,
            config,
            "--catalog",
            str(catalog_path),
            "--state",
            str(tmp_path / "state.json"),
        )
        assert second.returncode == 0, second.stderr

    messages = [json.loads(line) for line in second.stdout.splitlines()]
    for message in messages:
        if message["type"] == "SCHEMA":
            assert set(TAP_COLUMNS) <= set(message["schema"]["properties"])
    deletes = [
        m["record"]
        for m in messages
        if m["type"] == "RECORD" and m["record"].get("sell_event_type") == "deleted"
    ]
    assert deletes
    assert len(deletes) <= len(deleted)
    assert all(record["_sdc_deleted_at"] for record in deletes)
