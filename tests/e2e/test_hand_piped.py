# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The hand-piped recipe of docs/pipeline.md: `tap-sell-sync | target-jsonl`, state passed back.

The recipe keeps the target's last STATE line only when the whole pipe succeeded and hands it
to the next run as --state; over several runs with changes between them, replaying the JSONL
files must give exactly the emulator's objects.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNS = 4
FAILING_RUN = 2
# The recipe as docs/pipeline.md shows it.
RECIPE = r"""
set -euo pipefail
state_args=()
if [ -s state.json ]; then state_args=(--state state.json); fi
tap-sell-sync --config tap-config.json "${state_args[@]}" \
    | target-jsonl --config target-config.json > target-states.jsonl
tail -n 1 target-states.jsonl > state.json.new
if [ -s state.json.new ]; then mv state.json.new state.json; fi
"""


def _replay(directory: Path, streams: dict[str, str]) -> dict[str, dict]:
    """Fold every JSONL line in file order: the last record of a key wins."""
    folded: dict[str, dict] = {}
    for resource_type, stream in streams.items():
        keys = ("deal_id", "contact_id") if resource_type == "associated_contact" else ("id",)
        rows: dict = {}
        for path in sorted(directory.glob(f"{stream}-*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                key = record[keys[0]] if len(keys) == 1 else tuple(record[k] for k in keys)
                rows[key] = record
        folded[resource_type] = rows
    return folded


def _tool_path() -> str:
    tap = REPO_ROOT / ".meltano" / "extractors" / "tap-sell-sync" / "venv" / "bin"
    target = REPO_ROOT / ".meltano" / "loaders" / "target-jsonl" / "venv" / "bin"
    for directory, tool in ((tap, "tap-sell-sync"), (target, "target-jsonl")):
        if not (directory / tool).exists():
            pytest.fail(f"{tool} not installed in {directory}: run scripts/bootstrap.sh first")
    return f"{tap}{os.pathsep}{target}{os.pathsep}{os.environ['PATH']}"


def test_hand_piped_recipe_converges_over_runs_with_changes_between(emulator, tmp_path, pipeline):
    emu, url = emulator
    output = tmp_path / "jsonl"
    output.mkdir()
    work = tmp_path / "recipe"
    work.mkdir()
    (work / "tap-config.json").write_text(
        json.dumps({"access_token": pipeline.env()["TAP_SELL_SYNC_ACCESS_TOKEN"], "api_url": url})
    )
    (work / "target-config.json").write_text(json.dumps({"destination_path": str(output)}))
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAP_SELL_SYNC_", "TARGET_JSONL_"))
    }
    env["PATH"] = _tool_path()

    def recipe() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", RECIPE],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    acked_before = 0
    for run in range(RUNS):
        if run == FAILING_RUN:
            # The target cannot write: the pipe fails and the saved state must not move.
            saved = (work / "state.json").read_text()
            target_config = work / "target-config.json"
            good_config = target_config.read_text()
            (work / "not-a-directory").write_text("")
            target_config.write_text(
                json.dumps({"destination_path": str(work / "not-a-directory")})
            )
            assert recipe().returncode != 0
            assert (work / "state.json").read_text() == saved
            target_config.write_text(good_config)

        result = recipe()
        assert result.returncode == 0, result.stderr[-4000:]
        state = json.loads((work / "state.json").read_text())
        assert pipeline.ack_keys(state), f"run {run}: the state holds no ack keys"
        if run:
            assert len(emu.ack_log()) > acked_before, f"run {run} acked nothing"
        acked_before = len(emu.ack_log())
        if run < RUNS - 1:
            emu.mutate(creates=10, updates=10, deletes=5, seed=100 + run)

    folded = _replay(output, pipeline.streams)
    deleted = emu.deleted_keys()
    for resource_type, objects in emu.current_objects().items():
        rows = folded[resource_type]
        live = {key: row for key, row in rows.items() if row.get("_sdc_deleted_at") is None}
        assert set(live) == set(objects), resource_type
        assert set(rows) - set(live) <= deleted.get(resource_type, set()), resource_type
        for key, data in objects.items():
            row = live[key]
            different = [
                name for name, value in data.items() if not pipeline.same(value, row.get(name))
            ]
            assert not different, f"{resource_type} {key}: {different}"
