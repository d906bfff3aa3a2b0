# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The convergence harness: a short fixed-seed run, and checks that its checks can fail."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from harness.pipeline import Kill, run_pipeline
from harness.schedule import (
    TOKEN,
    ScheduleResult,
    compare,
    early_acks,
    make_plan,
    read_target,
)
from sell_sync_emulator import Emulator, EmulatorConfig, serve
from tap_sell_sync.state import read_bookmark

REPO_ROOT = Path(__file__).resolve().parents[2]
SHORT_SEED = 11
SHORT_SCHEDULES = 6
SUMMARY = re.compile(
    r"schedules run: (\d+), converged: (\d+), objects lost: (\d+), early acks: (\d+), "
    r"most runs any schedule needed: (\d+)"
)


def test_a_short_fixed_seed_harness_run_converges_with_nothing_lost_and_no_early_ack(tmp_path):
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "--seed",
            str(SHORT_SEED),
            "--schedules",
            str(SHORT_SCHEDULES),
            "--workdir",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = done.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(summary)
    assert match, done.stdout + done.stderr
    run, converged, lost, early, most = map(int, match.groups())
    assert (run, converged, lost, early) == (SHORT_SCHEDULES, SHORT_SCHEDULES, 0, 0), summary
    assert 1 <= most <= 4 + 6
    assert "token leaks: 0, tracebacks: 0" in summary
    assert done.returncode == 0, done.stdout
    assert time.monotonic() - started < 120


def test_the_plans_cover_every_fault_kill_and_both_requeue_readings():
    plans = [make_plan(1, index) for index in range(200)]
    kinds = {fault.kind for plan in plans for run in plan.runs for fault in run.faults}
    endpoints = {fault.endpoint for plan in plans for run in plan.runs for fault in run.faults}
    tap_kills = {
        (run.tap_kill.signal, run.tap_kill.trigger)
        for plan in plans
        for run in plan.runs
        if run.tap_kill
    }
    target_kills = {
        (run.target_kill.signal, run.target_kill.trigger)
        for plan in plans
        for run in plan.runs
        if run.target_kill
    }
    assert kinds == {
        "429",
        "500",
        "502",
        "503",
        "504",
        "drop_before_body",
        "drop_mid_body",
        "slow",
        "not_json",
        "empty_page",
        "failed_objects",
        "expired_session",
    }
    assert {"start", "fetch", "ack"} <= endpoints
    assert {trigger for _, trigger in tap_kills} == {"line", "record_state", "time", "acks"}
    assert {signal for signal, _ in tap_kills} == {"SIGKILL", "SIGTERM"}
    assert {trigger for _, trigger in target_kills} == {"line", "state"}
    assert {plan.requeue_at_drain for plan in plans} == {True, False}
    assert any(run.mutate_during for plan in plans for run in plan.runs)
    assert any(run.mutate_before for plan in plans for run in plan.runs)
    assert make_plan(1, 5) == make_plan(1, 5)


def _pipeline(tmp_path: Path, emulator: Emulator, url: str, state=None, target=None, **kills):
    return run_pipeline(
        workdir=tmp_path,
        tap_config={"access_token": TOKEN, "api_url": url, "max_requests_per_second": 500},
        target_config={
            "path": str(tmp_path.parent / "target.sqlite"),
            "add_record_metadata": True,
            **(target or {}),
        },
        state=state,
        token=TOKEN,
        acks_received=lambda: int(emulator.counters()["acks_received"]),
        **kills,
    )


def test_the_checks_see_a_lost_object_a_stale_row_and_an_early_ack(tmp_path):
    emulator = Emulator(
        EmulatorConfig(seed=3, objects=30, page_size=10, token=TOKEN, rate_limit_per_hour=0)
    )
    with serve(emulator) as server:
        first = _pipeline(tmp_path / "1", emulator, server.url)
        second = _pipeline(tmp_path / "2", emulator, server.url, state=first.states[-1][1])
    rows = read_target(tmp_path / "target.sqlite")
    assert len(rows) == 30
    assert second.records_relayed == 0
    assert compare(emulator, rows, None)[0] == 0

    # A row missing, a row left live after its delete: both count as lost.
    dropped = next(iter(rows))
    partial = {where: row for where, row in rows.items() if where != dropped}
    assert compare(emulator, partial, None)[0] == 1
    resource_type, key = next(
        (rt, k)
        for rt, objects in emulator.current_objects().items()
        for k in objects
        if rt not in {"account", "user"}
    )
    device = next(iter({event.device_uuid for event in emulator.ack_log()}))
    emulator.delete_object(resource_type, key)
    lost, unannounced, extra, problems = compare(emulator, rows, device)
    assert lost >= 1
    assert (unannounced, extra) == (0, 0)
    assert any("deleted but live" in problem for problem in problems)

    # Every ack of the second run followed the target's state that held its key.
    first_seen = {}
    for seen, state in first.states:
        for device_uuid, keys in read_bookmark(state["bookmarks"]["_sell_sync"]).pending.items():
            for ack_key in keys:
                first_seen.setdefault((device_uuid, ack_key), seen)
    acked = emulator.ack_log()
    assert len(acked) == 30
    assert early_acks(emulator, first_seen) == []
    # Had the target printed those states only after the acks, each ack would count as early.
    late = {
        where: max(seen, event.time) + 1
        for where, seen in first_seen.items()
        for event in acked[:1]
    }
    assert len(early_acks(emulator, late)) == len(acked)
    assert len(early_acks(emulator, {})) == len(acked)


def test_a_tap_killed_between_a_record_and_its_state_stops_the_relay_there(tmp_path):
    emulator = Emulator(
        EmulatorConfig(seed=4, objects=40, page_size=10, token=TOKEN, rate_limit_per_hour=0)
    )
    with serve(emulator) as server:
        started = time.monotonic()
        run = _pipeline(
            tmp_path / "1", emulator, server.url, tap_kill=Kill("SIGKILL", "record_state", 2)
        )
    assert run.tap_killed
    assert run.tap_returncode == -9
    assert 0 < run.records_relayed < 40
    assert time.monotonic() - started < 60
    assert ScheduleResult(index=0, requeue_at_drain=False).ok is False


def test_a_target_that_prints_state_before_it_commits_shows_as_lost_objects(tmp_path):
    # The negative control of the whole method: break condition 1 and the checks must fail.
    emulator = Emulator(
        EmulatorConfig(seed=6, objects=40, page_size=10, token=TOKEN, rate_limit_per_hour=0)
    )
    broken = {"state_before_commit": True, "drain_interval_seconds": 600, "batch_size_rows": 1000}
    with serve(emulator) as server:
        first = _pipeline(
            tmp_path / "1",
            emulator,
            server.url,
            target=broken,
            # The tap's first state holds no new key; its second holds the first records'.
            target_kill=Kill("SIGKILL", "state", 2),
        )
        assert first.target_killed
        state = first.states[-1][1]
        for number in range(2, 5):
            run = _pipeline(tmp_path / str(number), emulator, server.url, state=state)
            state = run.states[-1][1] if run.states else state
    lost, _, _, problems = compare(emulator, read_target(tmp_path / "target.sqlite"), None)
    assert lost > 0, problems
    assert any("missing" in problem for problem in problems)
