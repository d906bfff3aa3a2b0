# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The main job, `meltano run sell-to-postgres`, against the emulator and a real PostgreSQL.

Each test starts from a new device, a new Meltano system database and a new schema. The
server runs in Asia/Kolkata on purpose: timestamps must still land as the instants Sell sent.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from psycopg import sql

pytestmark = pytest.mark.e2e

INT32_MAX = 2**31 - 1
SELL_TIMESTAMPS = ("created_at", "updated_at", "_sdc_deleted_at")
TIMESTAMP = "timestamp without time zone"
TIMESTAMPTZ = "timestamp with time zone"


def _instant(text: str) -> dt.datetime:
    """An ISO-8601 UTC timestamp from the emulator, as an aware datetime."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _delivered_keys(emu, since: float = 0.0, device: str | None = None) -> set[str]:
    return {
        event.ack_key
        for event in emu.delivery_log()
        if event.time >= since and (device is None or event.device_uuid == device)
    }


def _acked(emu, since: float = 0.0):
    return [event for event in emu.ack_log() if event.time >= since]


def _find(objects, predicate):
    for key, data in objects.items():
        if predicate(data):
            return key, data
    pytest.fail("the emulator's data has no object of the kind this check needs")
    return None  # unreachable; pytest.fail raises


def test_first_run_lands_every_table_with_exactly_the_emulators_objects(pipeline, emulator):
    emu, _url = emulator
    pipeline.run()

    current = emu.current_objects()
    tables = pipeline.table_names()
    for resource_type, objects in current.items():
        if objects:
            assert pipeline.streams[resource_type] in tables, f"no table for {resource_type}"
            assert len(pipeline.table(resource_type).rows) == len(objects), resource_type
    assert pipeline.differences(emu) == []

    deals = pipeline.table("deal")
    assert deals.columns["id"] == "bigint"
    assert deals.columns["value"] == "numeric"
    assert deals.columns["custom_fields"] == "jsonb"
    # target-postgres creates date-time columns as `timestamp without time zone`; the job's
    # last step turns every one of them into timestamptz, values read as UTC.
    for resource_type in ("deal", "contact", "note"):
        table = pipeline.table(resource_type)
        for column in SELL_TIMESTAMPS:
            assert table.columns[column] == TIMESTAMPTZ, (resource_type, column)
    assert pipeline.columns_of_type(TIMESTAMP) == set()
    assert ("tasks", "due_date") in pipeline.columns_of_type(TIMESTAMPTZ)

    key, deal = _find(
        current["deal"],
        lambda d: isinstance(d.get("value"), str) and not d["value"].endswith(".00"),
    )
    assert deals.rows[key]["value"] == Decimal(deal["value"])
    assert deals.rows[key]["value"] != deals.rows[key]["value"].to_integral_value()
    # The same instants as Sell's, not shifted by this server's Asia/Kolkata time zone.
    for column in ("created_at", "updated_at", "last_activity_at"):
        assert deals.rows[key][column] == _instant(deal[column]), column
    assert deals.rows[key]["_sdc_deleted_at"] is None

    key, deal = _find(current["deal"], lambda d: bool(d.get("custom_fields")))
    assert deals.rows[key]["custom_fields"] == deal["custom_fields"]

    big = [
        (resource_type, key)
        for resource_type, objects in current.items()
        for key in objects
        if isinstance(key, int) and key > INT32_MAX
    ]
    assert big, "the emulator's data has no id above 2^31"
    resource_type, key = big[0]
    table = pipeline.table(resource_type)
    assert table.columns["id"] == "bigint"
    assert table.rows[key]["id"] == key

    key, contact = _find(
        current["contact"], lambda d: any(ord(c) > 127 for c in str(d.get("name") or ""))
    )
    assert pipeline.table("contact").rows[key]["name"] == contact["name"]


def test_second_run_after_changes_equals_the_emulator_with_deletes_marked(pipeline, emulator):
    emu, _url = emulator
    pipeline.run()
    landed = {
        resource_type: set(pipeline.table(resource_type).rows)
        for resource_type in emu.current_objects()
    }
    change = emu.mutate(creates=25, updates=25, deletes=25, seed=5)
    # An object created and deleted between two runs never reaches the device, so only the
    # deletes of objects that had landed must show up as marked rows.
    seen_deleted = [(rtype, key) for rtype, key in change.deleted if key in landed[rtype]]
    assert seen_deleted, "the mutation deleted nothing that had landed"
    timestamptz_columns = pipeline.columns_of_type(TIMESTAMPTZ)

    # This time the steps as docs/pipeline.md names them, rather than the job.
    second_started = _now()
    pipeline.run_blocks()
    second_ended = _now()

    # The target loaded into the timestamptz columns and kept them; nothing went back.
    assert pipeline.columns_of_type(TIMESTAMP) == set()
    assert pipeline.columns_of_type(TIMESTAMPTZ) == timestamptz_columns
    assert pipeline.differences(emu) == []
    for resource_type, key in seen_deleted:
        row = pipeline.table(resource_type).rows.get(key)
        assert row is not None, f"deleted {resource_type} {key} vanished instead of being marked"
        # When the tap received the delete: during this run, as an instant.
        assert second_started <= row["_sdc_deleted_at"] <= second_ended, (resource_type, key)
    total_marked = sum(len(pipeline.table(rtype).deleted()) for rtype in landed)
    assert total_marked >= len(seen_deleted)


def test_a_column_or_table_the_target_creates_on_a_later_run_ends_as_timestamptz(
    pipeline, emulator
):
    emu, _url = emulator
    pipeline.run()
    # Make the next load add a date-time column to an existing table and create a table
    # anew: both come from target-postgres as `timestamp without time zone`.
    with pipeline.postgres.connect() as conn:
        conn.execute(
            sql.SQL("ALTER TABLE {}.deals DROP COLUMN last_activity_at").format(
                sql.Identifier(pipeline.schema)
            )
        )
        conn.execute(sql.SQL("DROP TABLE {}.notes").format(sql.Identifier(pipeline.schema)))
    # Every deal and note changes, so the next run brings all of them again.
    current = emu.current_objects()
    for deal in current["deal"].values():
        emu.put_object("deal", {**deal, "name": f"{deal['name']} (renamed)"})
    for note in current["note"].values():
        emu.put_object("note", {**note, "content": f"{note['content']} (edited)"})

    pipeline.run()

    assert pipeline.table("deal").columns["last_activity_at"] == TIMESTAMPTZ
    notes = pipeline.table("note")
    for column in SELL_TIMESTAMPS:
        assert notes.columns[column] == TIMESTAMPTZ, column
    assert pipeline.columns_of_type(TIMESTAMP) == set()
    key, deal = _find(emu.current_objects()["deal"], lambda d: bool(d.get("last_activity_at")))
    assert pipeline.table("deal").rows[key]["last_activity_at"] == _instant(
        deal["last_activity_at"]
    )
    assert pipeline.differences(emu) == []


def test_acks_never_precede_the_state_meltano_stored_and_follow_it_next_run(pipeline, emulator):
    emu, _url = emulator

    pipeline.run()
    first_state = pipeline.stored_state()
    first_keys = pipeline.ack_keys(first_state)
    assert _acked(emu) == [], "a key was acked before Meltano had stored any state"
    assert first_keys == _delivered_keys(emu), "stored state differs from what was delivered"

    emu.mutate(creates=10, updates=10, deletes=5, seed=8)
    second_started = time.time()
    pipeline.run()
    second_acks = _acked(emu, second_started)
    assert {event.ack_key for event in second_acks} == first_keys
    assert all(event.known for event in second_acks)
    assert {event.device_uuid for event in second_acks} == {pipeline.device(first_state)}

    second_keys = pipeline.ack_keys(pipeline.stored_state())
    assert second_keys == _delivered_keys(emu, second_started)
    assert second_keys, "the changes were not delivered"

    third_started = time.time()
    pipeline.run()
    assert {event.ack_key for event in _acked(emu, third_started)} == second_keys
    assert pipeline.ack_keys(pipeline.stored_state()) == set()
    assert pipeline.differences(emu) == []


def test_a_target_failing_part_way_loses_nothing_over_the_following_runs(pipeline, emulator):
    emu, _url = emulator
    pipeline.run()
    first_keys = pipeline.ack_keys(pipeline.stored_state())

    emu.mutate(creates=30, updates=30, deletes=10, seed=13)
    deal_key, deal = next(iter(emu.current_objects()["deal"].items()))
    emu.put_object("deal", {**deal, "name": "changed while the target is broken"})

    # The target commits full batches of 10 rows as it goes, then dies on the deals table:
    # some rows land, the target prints no state, so the run must not be acked.
    with pipeline.postgres.connect() as conn:
        conn.execute(
            sql.SQL(
                "CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$"
            ).format(schema=sql.Identifier(pipeline.schema))
        )
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON {schema}.deals"
                " FOR EACH ROW EXECUTE FUNCTION {schema}.refuse()"
            ).format(schema=sql.Identifier(pipeline.schema))
        )
    failed_started = time.time()
    failed = pipeline.run(check=False, env={"TARGET_POSTGRES_BATCH_SIZE_ROWS": "10"})
    assert failed.returncode != 0
    assert "disk full (simulated)" in failed.stderr
    assert {event.ack_key for event in _acked(emu, failed_started)} <= first_keys
    assert pipeline.ack_keys(pipeline.stored_state()) == first_keys

    with pipeline.postgres.connect() as conn:
        conn.execute(
            sql.SQL("DROP TRIGGER refuse ON {schema}.deals").format(
                schema=sql.Identifier(pipeline.schema)
            )
        )
    pipeline.run()
    pipeline.run()

    assert pipeline.differences(emu) == []
    assert pipeline.table("deal").rows[deal_key]["name"] == "changed while the target is broken"


def test_full_refresh_syncs_everything_again_under_a_new_device(pipeline, emulator):
    emu, _url = emulator
    pipeline.run()
    first_device = pipeline.device(pipeline.stored_state())
    # No deletes here: a new device is never told about objects deleted before it first
    # synced, so their rows would stay unmarked (docs/pipeline.md, limits).
    emu.mutate(creates=5, updates=5, seed=21)

    refresh_started = time.time()
    pipeline.run("--full-refresh")
    state = pipeline.stored_state()
    new_device = pipeline.device(state)

    assert new_device is not None
    assert new_device != first_device
    delivered = [event for event in emu.delivery_log() if event.time >= refresh_started]
    assert {event.device_uuid for event in delivered} == {new_device}
    live = {
        (resource_type, key)
        for resource_type, objects in emu.current_objects().items()
        for key in objects
    }
    assert {(event.resource_type, event.key) for event in delivered} >= live
    assert _acked(emu, refresh_started) == [], "a full refresh has no state and acks nothing"
    assert pipeline.ack_keys(state) == {event.ack_key for event in delivered}
    assert pipeline.differences(emu) == []

    after_started = time.time()
    pipeline.run()
    acks = _acked(emu, after_started)
    assert {event.device_uuid for event in acks} == {new_device}
    assert {event.ack_key for event in acks} == pipeline.ack_keys(state)
