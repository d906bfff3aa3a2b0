# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The whole flow of runs of the real tap command against the emulator on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from tap_fakes import TAP, pending_of, run_tap

from sell_sync_emulator import Emulator, EmulatorConfig, Fault, serve
from tap_sell_sync.streams import STREAM_TYPES

STREAM_OF = {s.resource_type: s.name for s in STREAM_TYPES}
KEYS_OF = {s.name: tuple(s.primary_keys) for s in STREAM_TYPES}


def make_emulator(**overrides) -> Emulator:
    options = {"seed": 7, "objects": 400, "page_size": 50, "rate_limit_per_hour": 0}
    options.update(overrides)
    return Emulator(EmulatorConfig(**options))


def tap_config(emulator: Emulator, url: str, **overrides) -> dict:
    config = {
        "access_token": emulator.config.token,
        "api_url": url,
        "max_requests_per_second": 99.5,  # a fraction: config numbers arrive as Decimal
        "request_timeout": 30.5,
        "max_seconds_per_run": 600.5,
        "max_items_per_run": 0,
    }
    config.update(overrides)
    return config


def record_key(stream: str, record: dict):
    keys = KEYS_OF[stream]
    return record[keys[0]] if len(keys) == 1 else tuple(record[k] for k in keys)


def emitted(run, stream: str) -> dict:
    return {record_key(stream, r): r for r in run.records(stream)}


def all_pending(state: dict) -> list[str]:
    return sorted(k for keys in pending_of(state).values() for k in keys)


@pytest.fixture
def emulator_server():
    emulator = make_emulator()
    with serve(emulator) as server:
        yield emulator, server.url


def test_first_run_emits_every_resource_type_and_acks_nothing(tmp_path, emulator_server):
    emulator, url = emulator_server
    run = run_tap(tmp_path, tap_config(emulator, url))
    assert run.returncode == 0, run.stderr

    kinds = {m["type"] for m in run.messages}
    assert kinds == {"SCHEMA", "RECORD", "STATE"}
    objects = emulator.current_objects()
    for resource_type, stream in STREAM_OF.items():
        got = emitted(run, stream)
        assert set(got) == set(objects.get(resource_type, {})), stream
    deal_id, deal = next(iter(objects["deal"].items()))
    assert emitted(run, "deals")[deal_id]["name"] == deal["name"]

    assert emulator.ack_log() == []
    state = run.last_state["bookmarks"]["_sell_sync"]
    assert uuid.UUID(state["device_uuid"])
    delivered = {e.ack_key for e in emulator.delivery_log()}
    assert set(all_pending(run.last_state)) == delivered


def test_every_state_holds_the_device_and_only_keys_of_records_already_written(
    tmp_path,
    emulator_server,
):
    emulator, url = emulator_server
    run = run_tap(tmp_path, tap_config(emulator, url))
    written: set[str] = set()
    key_of_record = {}
    for event in emulator.delivery_log():
        key_of_record[event.ack_key] = event
    ack_key_by_object = {(e.resource_type, e.key): e.ack_key for e in emulator.delivery_log()}
    stream_type = {v: k for k, v in STREAM_OF.items()}
    device = None
    for message in run.messages:
        if message["type"] == "RECORD":
            stream = message["stream"]
            written.add(
                ack_key_by_object[(stream_type[stream], record_key(stream, message["record"]))]
            )
        elif message["type"] == "STATE":
            bookmark = message["value"]["bookmarks"]["_sell_sync"]
            device = device or bookmark["device_uuid"]
            assert bookmark["device_uuid"] == device
            assert set(all_pending(message["value"])) <= written
    assert set(all_pending(run.last_state)) == written


def test_second_run_acks_exactly_the_first_runs_keys_and_emits_only_changes(
    tmp_path,
    emulator_server,
):
    emulator, url = emulator_server
    first = run_tap(tmp_path / "1", tap_config(emulator, url))
    first_keys = all_pending(first.last_state)
    device = first.last_state["bookmarks"]["_sell_sync"]["device_uuid"]

    change = emulator.mutate(creates=5, updates=5, deletes=3, seed=3)
    second = run_tap(tmp_path / "2", tap_config(emulator, url), state=first.last_state)
    assert second.returncode == 0, second.stderr

    acked = emulator.ack_log()
    assert sorted(e.ack_key for e in acked) == first_keys
    assert {e.device_uuid for e in acked} == {device}
    assert second.last_state["bookmarks"]["_sell_sync"]["device_uuid"] == device

    changed = {(t_, k) for t_, k in change.created + change.updated + change.deleted}
    emitted_now = {
        (resource_type, record_key(stream, r))
        for resource_type, stream in STREAM_OF.items()
        for r in second.records(stream)
    }
    live = {(t_, k) for t_, objects in emulator.current_objects().items() for k in objects}
    known_before = {
        (stream_type, record_key(STREAM_OF[stream_type], r))
        for stream_type in STREAM_OF
        for r in first.records(STREAM_OF[stream_type])
    }
    # Everything that changed and still exists, and every delete of an object the device
    # had; an object created and deleted between the runs is never sent.
    expected = {ref for ref in changed if ref in live or ref in known_before}
    assert emitted_now == expected
    assert emitted_now
    deleted = emulator.deleted_keys()
    for resource_type, stream in STREAM_OF.items():
        for key, record in emitted(second, stream).items():
            if key in deleted.get(resource_type, set()):
                assert record["_sdc_deleted_at"]
                assert record["sell_event_type"] == "deleted"
            else:
                assert record == record | {"sell_event_type": record["sell_event_type"]}
                assert "_sdc_deleted_at" not in record

    third = run_tap(tmp_path / "3", tap_config(emulator, url), state=second.last_state)
    assert third.returncode == 0, third.stderr
    assert third.records() == []
    assert all_pending(third.last_state) == []
    assert third.last_state["bookmarks"]["_sell_sync"]["device_uuid"] == device
    assert "nothing new" in third.stderr
    assert sorted(e.ack_key for e in emulator.ack_log()[len(acked) :]) == all_pending(
        second.last_state,
    )


def test_failed_incoming_ack_stops_before_a_session_and_keeps_the_keys(
    tmp_path,
    emulator_server,
):
    emulator, url = emulator_server
    first = run_tap(tmp_path / "1", tap_config(emulator, url))
    sessions = emulator.counters()["sessions_started"]
    emulator.set_faults(Fault("503", endpoint="ack"))
    second = run_tap(
        tmp_path / "2",
        tap_config(emulator, url, max_retry_seconds=1),
        state=first.last_state,
    )
    assert second.returncode == 1
    assert len(second.error_lines()) == 1
    assert "could not ack" in second.error_lines()[0]
    assert "Traceback" not in second.stderr
    assert emulator.counters()["sessions_started"] == sessions
    assert second.records() == []
    assert all_pending(second.last_state) == all_pending(first.last_state)


def test_keys_pending_for_another_device_are_acked_with_that_device(tmp_path, emulator_server):
    emulator, url = emulator_server
    first = run_tap(tmp_path / "1", tap_config(emulator, url))
    old_device = first.last_state["bookmarks"]["_sell_sync"]["device_uuid"]
    new_device = str(uuid.uuid4())
    second = run_tap(
        tmp_path / "2",
        tap_config(emulator, url, device_uuid=new_device),
        state=first.last_state,
    )
    assert second.returncode == 0, second.stderr
    assert {e.device_uuid for e in emulator.ack_log()} == {old_device}
    assert "from the device_uuid setting" in second.stderr
    # a new device gets everything again: a full resync
    assert len(second.records()) == len(first.records())
    assert second.last_state["bookmarks"]["_sell_sync"]["device_uuid"] == new_device


def test_no_state_means_a_new_device_and_a_full_resync(tmp_path, emulator_server):
    emulator, url = emulator_server
    first = run_tap(tmp_path / "1", tap_config(emulator, url))
    again = run_tap(tmp_path / "2", tap_config(emulator, url))
    assert "full resync" in again.stderr
    one = first.last_state["bookmarks"]["_sell_sync"]["device_uuid"]
    two = again.last_state["bookmarks"]["_sell_sync"]["device_uuid"]
    assert one != two
    assert len(again.records()) == len(first.records())


def test_max_items_per_run_bounds_the_run_and_the_next_run_continues(tmp_path, emulator_server):
    emulator, url = emulator_server
    config = tap_config(emulator, url, max_items_per_run=120)
    first = run_tap(tmp_path / "1", config)
    assert len(all_pending(first.last_state)) == 120
    assert "max_items_per_run (120) reached" in first.stderr
    second = run_tap(tmp_path / "2", config, state=first.last_state)
    assert len(emulator.ack_log()) == 120
    assert len(second.records()) == 120
    objects_first = {
        (stream, record_key(stream, r)) for stream in KEYS_OF for r in first.records(stream)
    }
    objects_second = {
        (stream, record_key(stream, r)) for stream in KEYS_OF for r in second.records(stream)
    }
    assert not objects_first & objects_second


def test_deselected_streams_are_acked_without_records(tmp_path, emulator_server):
    emulator, url = emulator_server
    config = tap_config(emulator, url)
    catalog = json.loads(
        subprocess.run(
            [TAP, "--config", str(_write(tmp_path, config)), "--discover"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout,
    )
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if not metadata["breadcrumb"]:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] != "deals"
    run = run_tap(tmp_path / "run", config, catalog=catalog)
    assert run.returncode == 0, run.stderr
    assert run.records("deals") == []
    assert run.records("leads")
    deal_keys = {e.ack_key for e in emulator.delivery_log() if e.resource_type == "deal"}
    assert deal_keys <= set(all_pending(run.last_state))
    assert "needs a full resync" in run.stderr


def _write(tmp_path, config):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "discover-config.json"
    path.write_text(json.dumps(config))
    return path


def _start_tap(config_path, **popen) -> subprocess.Popen:
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen}
    return subprocess.Popen([TAP, "--config", str(config_path)], **options)


def _wait_for_fetches(emulator, count: int, status: int = 200, timeout: float = 30) -> None:
    """Wait until the emulator has answered `count` fetches with `status`."""
    deadline = time.monotonic() + timeout
    while emulator.counters()["requests"].get("fetch", {}).get(status, 0) < count:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_unknown_types_stay_unacked_by_default(tmp_path):
    emulator = make_emulator(unknown_type_objects=4)
    with serve(emulator) as server:
        first = run_tap(tmp_path / "1", tap_config(emulator, server.url))
        unknown = {e.ack_key for e in emulator.delivery_log() if e.resource_type not in STREAM_OF}
        assert len(unknown) == 4
        assert not unknown & set(all_pending(first.last_state))
        assert "unknown resource types" in first.stderr.lower()

        acking = run_tap(tmp_path / "2", tap_config(emulator, server.url, ack_unknown_types=True))
        assert len(unknown & set(all_pending(acking.last_state))) == 4


def test_faults_on_every_endpoint_are_retried_and_nothing_is_lost(tmp_path):
    emulator = make_emulator()
    with serve(emulator) as server:
        emulator.set_faults(
            Fault("429", endpoint="fetch", probability=0.2),
            Fault("500", endpoint="any", probability=0.1),
            Fault("drop_mid_body", endpoint="fetch", probability=0.1),
            Fault("empty_page", endpoint="fetch", probability=0.1),
            seed=5,
        )
        state = None
        seen: dict[str, dict] = {}
        for attempt in range(6):
            run = run_tap(tmp_path / str(attempt), tap_config(emulator, server.url), state=state)
            assert run.returncode == 0, run.stderr
            for resource_type, stream in STREAM_OF.items():
                for key in emitted(run, stream):
                    seen.setdefault(resource_type, {})[key] = True
            state = run.last_state
            if not run.records() and not all_pending(state):
                break
        objects = emulator.current_objects()
        for resource_type, keys in objects.items():
            assert set(seen.get(resource_type, {})) == set(keys), resource_type


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"token": "a" * 64}, ("401", "rejected the access token")),
        ({"insufficient_scope": True}, ("403", "'sync' scope")),
    ],
)
def test_refused_token_fails_at_once_with_one_line_saying_why(
    tmp_path,
    overrides,
    needle,
):
    emulator = make_emulator(**overrides)
    with serve(emulator) as server:
        config = tap_config(emulator, server.url, access_token="b" * 64)
        if "insufficient_scope" in overrides:
            config["access_token"] = emulator.config.token
        run = run_tap(tmp_path, config)
    assert run.returncode == 1
    assert len(run.error_lines()) == 1
    status, reason = needle
    assert status in run.error_lines()[0]
    assert reason in run.error_lines()[0]
    assert "Traceback" not in run.stderr
    assert "b" * 64 not in run.stderr + run.stdout


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_the_drain_ends_non_zero_with_a_valid_state_and_nothing_pending(
    tmp_path, stop
):
    emulator = make_emulator(objects=3000, page_size=20, latency_seconds=0.02)
    with serve(emulator) as server:
        config_path = _write(tmp_path, tap_config(emulator, server.url))
        process = _start_tap(config_path)
        _wait_for_fetches(emulator, 3)
        process.send_signal(stop)
        stdout, stderr = process.communicate(timeout=30)
    # 128 + the signal number, as a shell reports it: no orchestrator takes it for success.
    assert process.returncode == 128 + stop
    assert f"Stopped by {stop.name}" in stderr
    assert "Traceback" not in stderr
    messages = [json.loads(line) for line in stdout.splitlines()]
    assert not [m for m in messages if m["type"] == "RECORD"]
    state = messages[-1]
    assert state["type"] == "STATE"
    assert uuid.UUID(state["value"]["bookmarks"]["_sell_sync"]["device_uuid"])
    assert all_pending(state["value"]) == []
    assert emulator.ack_log() == []


def test_an_expired_session_stops_the_drain_and_the_next_run_picks_up_the_rest(tmp_path):
    emulator = make_emulator()
    with serve(emulator) as server:
        emulator.set_faults(Fault("expired_session", endpoint="fetch", on_calls=(3,)))
        first = run_tap(tmp_path / "1", tap_config(emulator, server.url))
        assert first.returncode == 0, first.stderr
        assert len(first.records()) == 100  # two pages of 50, then the session is gone
        assert "session is gone" in first.stderr
        emulator.clear_faults()
        second = run_tap(tmp_path / "2", tap_config(emulator, server.url), state=first.last_state)
        total = len(first.records()) + len(second.records())
        assert total == sum(len(v) for v in emulator.current_objects().values())


def test_a_429_storm_beyond_the_retry_budget_ends_cleanly_keeping_every_pending_key(tmp_path):
    emulator = make_emulator()
    with serve(emulator) as server:
        emulator.set_faults(Fault("429", endpoint="fetch", on_calls=tuple(range(2, 200))))
        run = run_tap(tmp_path, tap_config(emulator, server.url, max_retry_seconds=1))
    assert run.returncode == 0, run.stderr
    assert len(run.records()) == 50
    assert "gave up fetching after retries" in run.stderr
    assert len(all_pending(run.last_state)) == 50
    assert "Traceback" not in run.stderr


def test_failed_objects_are_counted_not_acked_and_come_again(tmp_path):
    emulator = make_emulator()
    with serve(emulator) as server:
        emulator.set_faults(Fault("failed_objects", endpoint="fetch", on_calls=(1,), count=3))
        first = run_tap(tmp_path / "1", tap_config(emulator, server.url))
        assert first.returncode == 0, first.stderr
        assert "3 failed_objects" in first.stderr
        assert "failed_objects" in first.stderr
        total = sum(len(v) for v in emulator.current_objects().values())
        assert len(first.records()) == total - 3
        assert len(all_pending(first.last_state)) == total - 3
        emulator.clear_faults()
        second = run_tap(tmp_path / "2", tap_config(emulator, server.url), state=first.last_state)
        assert len(second.records()) == 3


def test_an_object_delivered_twice_in_one_session_is_emitted_once_at_its_newest_revision(
    tmp_path,
):
    emulator = make_emulator(objects=600, page_size=20, latency_seconds=0.02)
    with serve(emulator) as server:
        config_path = _write(tmp_path, tap_config(emulator, server.url))
        process = _start_tap(config_path)
        _wait_for_fetches(emulator, 10)
        emulator.mutate(updates=60, seed=9)  # changed objects join the open session again
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    deliveries = emulator.delivery_log()
    newest: dict = {}
    keys_of: dict = {}
    for event in deliveries:
        ref = (event.resource_type, event.key)
        newest[ref] = max(newest.get(ref, 0), event.revision)
        keys_of.setdefault(ref, set()).add(event.ack_key)
    twice = [ref for ref, keys in keys_of.items() if len(keys) > 1]
    assert twice, "the mutation should have re-queued objects already delivered"

    messages = [json.loads(line) for line in stdout.splitlines()]
    stream_type = {v: k for k, v in STREAM_OF.items()}
    seen = []
    for message in messages:
        if message["type"] == "RECORD":
            stream = message["stream"]
            ref = (stream_type[stream], record_key(stream, message["record"]))
            seen.append(ref)
            assert message["record"]["sell_revision"] == newest[ref]
    assert len(seen) == len(set(seen))
    final = all_pending(messages[-1]["value"])
    for ref in twice:
        assert keys_of[ref] <= set(final)


def test_a_killed_run_leaves_no_copy_of_the_records_in_the_temporary_folder(tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    emulator = make_emulator(objects=3000, page_size=50, latency_seconds=0.01)
    with serve(emulator) as server:
        config_path = _write(tmp_path, tap_config(emulator, server.url))
        process = _start_tap(
            config_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "TMPDIR": str(temporary)},
        )
        try:
            _wait_for_fetches(emulator, 20)
            assert process.poll() is None
            # The spool holds the records read so far, in a file nobody else can open.
            open_files = [
                str(link.readlink()) for link in (Path("/proc") / str(process.pid) / "fd").iterdir()
            ]
            assert not any(
                str(temporary) in name and "(deleted)" not in name for name in open_files
            )
        finally:
            process.kill()
            process.wait(timeout=30)
    assert list(temporary.iterdir()) == []


def test_a_signal_while_a_slow_target_holds_up_a_write_still_ends_with_a_whole_state(tmp_path):
    emulator = make_emulator(objects=3000, page_size=100)
    with serve(emulator) as server:
        config_path = _write(tmp_path, tap_config(emulator, server.url))
        process = _start_tap(config_path, text=False)
        # Read nothing until the tap has filled the pipe and waits in a write.
        _wait_for_fetches(emulator, 1, status=204, timeout=60)
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    lines = stdout.decode().splitlines()
    messages = [json.loads(line) for line in lines]  # every line whole
    last = messages[-1]
    assert last["type"] == "STATE", lines[-1][:200]
    emitted = {m["record"]["id"] for m in messages if m["type"] == "RECORD" and "id" in m["record"]}
    assert emitted
    assert len(all_pending(last["value"])) <= sum(m["type"] == "RECORD" for m in messages)
    assert b"Stopped by SIGTERM: the state written" in stderr
    assert b"Traceback" not in stderr
