# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Delete records that name every column, and what the log says about skipped items."""

from __future__ import annotations

import pytest
from tap_fakes import TOKEN, FakeClient, Reply, item, page, pending_of, run_tap, session_body
from test_queue import ALL_STREAMS, ROUTES, emit_all, make_run

from tap_sell_sync.queue import MAX_LOGGED_UNREADABLE_ITEMS
from tap_sell_sync.streams import STREAM_TYPES

PROPERTIES = {s.name: set(s.schema["properties"]) for s in STREAM_TYPES}
SET_ON_DELETE = {"sell_event_type", "sell_revision", "_sdc_deleted_at"}


def test_a_delete_record_carries_every_schema_property_null_except_key_and_sell_columns():
    client = FakeClient(
        [
            page(
                [
                    item("deal", {"id": 7}, "D-7-4", event="deleted", revision=4),
                    item(
                        "associated_contact",
                        {"deal_id": 1, "contact_id": 2},
                        "AC-1-2",
                        event="deleted",
                        revision=3,
                    ),
                ],
            ),
        ],
    )
    run, _ = make_run(client)
    out = emit_all(run)

    deal = out["deals"][0]
    assert set(deal) == PROPERTIES["deals"]
    assert deal["id"] == 7
    assert deal["sell_event_type"] == "deleted"
    assert deal["sell_revision"] == 4
    assert deal["_sdc_deleted_at"].endswith("Z")
    assert {name for name, value in deal.items() if value is not None} == {"id"} | SET_ON_DELETE

    contact = out["associated_contacts"][0]
    assert set(contact) == PROPERTIES["associated_contacts"]
    assert (contact["deal_id"], contact["contact_id"]) == (1, 2)
    assert {name for name, value in contact.items() if value is not None} == {
        "deal_id",
        "contact_id",
    } | SET_ON_DELETE


def test_the_null_template_is_built_once_per_route_and_not_changed_by_deletes():
    route = ROUTES["deal"]
    template = route.deleted_template
    assert set(template) == route.properties
    assert all(value is None for value in template.values())

    client = FakeClient([page([item("deal", {"id": i}, f"D{i}", event="deleted") for i in (1, 2)])])
    run, _ = make_run(client, selected=ALL_STREAMS)
    deals = emit_all(run)["deals"]
    assert [d["id"] for d in deals] == [1, 2]
    assert route.deleted_template is template
    assert all(value is None for value in template.values())


def test_a_stream_map_reading_a_non_key_field_works_on_deletes_through_the_tap(tmp_path, fake_sell):
    fake_sell.scripts["start"] = [Reply(201, session_body("S1", 3))]
    fake_sell.scripts["fetch"] = [
        Reply(
            200,
            page(
                [
                    item("deal", {"id": 1, "name": "Big deal"}, "D-1-2", revision=2),
                    item("deal", {"id": 2}, "D-2-5", event="deleted", revision=5),
                    item("lead", {"id": 3}, "L-3-1", event="deleted"),
                ],
            ),
        ),
    ]
    config = {
        "access_token": TOKEN,
        "api_url": fake_sell.url,
        "stream_maps": {"deals": {"name_upper": "name.upper() if name else None"}},
    }
    run = run_tap(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr

    deals = {r["id"]: r for r in run.records("deals")}
    assert deals[1]["name_upper"] == "BIG DEAL"
    deleted = deals[2]
    assert deleted["name_upper"] is None
    assert deleted["name"] is None
    assert deleted["sell_event_type"] == "deleted"
    assert deleted["sell_revision"] == 5
    assert deleted["_sdc_deleted_at"].endswith("Z")
    assert set(deleted) == PROPERTIES["deals"] | {"name_upper"}
    lead = run.records("leads")[0]
    assert set(lead) == PROPERTIES["leads"]
    assert lead["id"] == 3


# (item, what the warning names: type, key, ack key, reason)
UNREADABLE_LOGGED = {
    "not an object": ("junk", ("type ?", "key ?", "ack key ?", "the item is str, not an object")),
    "no meta": ({"data": {"id": 1}}, ("type ?", "key id=1", "ack key ?", "no meta object")),
    "no sync": (
        {"data": {"id": 1}, "meta": {"type": "deal"}},
        ("type 'deal'", "key id=1", "ack key ?", "no meta.sync object"),
    ),
    "no ack key": (
        {"data": {"id": 1}, "meta": {"type": "deal", "sync": {"event_type": "created"}}},
        ("type 'deal'", "key id=1", "ack key ?", "no ack_key"),
    ),
    "ack key with newline": (
        item("deal", {"id": 4}, "a\nb"),
        ("type 'deal'", "key id=4", "ack key 'a\\nb'", "not a non-empty string on one line"),
    ),
    "no type": (
        {"data": {"id": 1}, "meta": {"sync": {"ack_key": "k"}}},
        ("type ?", "key id=1", "ack key 'k'", "no resource type"),
    ),
    "data not object": (
        {"data": [1], "meta": {"type": "deal", "sync": {"ack_key": "k"}}},
        ("type 'deal'", "key ?", "ack key 'k'", "data is [1], not an object"),
    ),
    "id text": (
        item("deal", {"id": "12"}, "D-12"),
        ("type 'deal'", "key id='12'", "ack key 'D-12'", "key field id is not an integer"),
    ),
    "id missing": (
        item("deal", {"name": "x"}, "D-x"),
        ("type 'deal'", "key ?", "ack key 'D-x'", "key field id is missing"),
    ),
    "contact id missing": (
        item("associated_contact", {"deal_id": 5}, "AC-5"),
        ("type 'associated_contact'", "key deal_id=5", "key field contact_id is missing"),
    ),
}


def unreadable_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "WARNING" and r.getMessage().startswith("Unreadable item")
    ]


@pytest.mark.parametrize("name", sorted(UNREADABLE_LOGGED))
def test_an_unreadable_item_is_logged_with_type_key_ack_key_and_reason(caplog, name):
    caplog.set_level("INFO")
    bad, expected = UNREADABLE_LOGGED[name]
    client = FakeClient([page([bad, item("lead", {"id": 3}, "L3")])])
    run, _ = make_run(client)
    emit_all(run)
    assert run.counters.unreadable == 1
    warnings = unreadable_warnings(caplog)
    assert len(warnings) == 1
    for part in expected:
        assert part in warnings[0], warnings[0]
    assert "\n" not in warnings[0]


def test_only_the_first_unreadable_items_are_logged_and_the_summary_counts_all(caplog):
    caplog.set_level("INFO")
    total = MAX_LOGGED_UNREADABLE_ITEMS + 5
    bad = [item("deal", {"id": str(i)}, f"D-{i}") for i in range(total)]
    client = FakeClient([page([*bad, item("lead", {"id": 3}, "L3")])])
    run, _ = make_run(client)
    emit_all(run)
    warnings = unreadable_warnings(caplog)
    assert len(warnings) == MAX_LOGGED_UNREADABLE_ITEMS
    assert "id='0'" in warnings[0]
    assert f"id='{MAX_LOGGED_UNREADABLE_ITEMS - 1}'" in warnings[-1]
    assert any("not logged one by one" in r.getMessage() for r in caplog.records)
    summary = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Summary"))
    assert f"{total} unreadable items skipped" in summary


def test_a_long_value_in_an_unreadable_item_is_cut_short_in_the_log(caplog):
    caplog.set_level("INFO")
    client = FakeClient([page([item("deal", {"id": "9" * 500}, "D-long")])])
    run, _ = make_run(client)
    emit_all(run)
    (warning,) = unreadable_warnings(caplog)
    assert "9" * 100 not in warning
    assert "..." in warning


def test_failed_objects_are_logged_by_their_key_fields_associated_contacts_included(caplog):
    caplog.set_level("INFO")
    failed = [
        {"type": "deal", "id": 1},
        {"type": "associated_contact", "deal_id": 4, "contact_id": 9},
        {"type": "hologram", "id": 6},
        {"type": "lead"},
        "junk",
    ]
    client = FakeClient([page([item("deal", {"id": 3}, "D3")], failed=failed)])
    run, _ = make_run(client)
    emit_all(run)
    assert run.counters.failed_objects == len(failed)
    logged = [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "WARNING" and "(failed_objects)" in r.getMessage()
    ]
    assert logged == [
        "Sell could not deliver deal id=1 (failed_objects).",
        "Sell could not deliver associated_contact deal_id=4 contact_id=9 (failed_objects).",
        "Sell could not deliver hologram id=6 (failed_objects).",
        "Sell could not deliver lead {'type': 'lead'} (failed_objects).",
        "Sell could not deliver 'junk' (failed_objects).",
    ]
    assert not any("None" in line for line in logged)


def _pending_keys(state) -> list[str]:
    return [key for keys in pending_of(state).values() for key in keys]


def _two_deals_and_a_deleted_one(fake_sell) -> None:
    fake_sell.scripts["start"] = [Reply(201, session_body("S1", 3))]
    fake_sell.scripts["fetch"] = [
        Reply(
            200,
            page(
                [
                    item("deal", {"id": 1, "value": 10}, "D-1-2", revision=2),
                    item("deal", {"id": 2}, "D-2-5", event="deleted", revision=5),
                    item("deal", {"id": 3, "value": 30}, "D-3-1"),
                ],
            ),
        ),
    ]


def test_a_stream_map_that_cannot_be_parsed_ends_with_one_line_and_acks_nothing(
    tmp_path, fake_sell
):
    _two_deals_and_a_deleted_one(fake_sell)
    config = {
        "access_token": TOKEN,
        "api_url": fake_sell.url,
        "stream_maps": {"deals": {"value_x2": "value *"}},
    }
    run = run_tap(tmp_path, config)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert "the stream_maps setting is wrong" in errors[0]
    assert "value *" in errors[0]
    assert TOKEN not in run.stderr
    assert fake_sell.calls("ack") == []


@pytest.mark.parametrize(
    ("expression", "raised", "kind"),
    [
        ("value * 2", "TypeError", "delete record of stream deals with id 2"),
        ("100 / (value - 10)", "ZeroDivisionError", "record of stream deals with id 1"),
        ("custom_fields['Budget']", "Failed to evaluate", "record of stream deals with id 1"),
        ("name.upper()", "NameNotDefined", "record of stream deals with id 1"),
        ("value.upper()", "AttributeDoesNotExist", "record of stream deals with id 1"),
        ("__filter__:value > 20", "TypeError", "delete record of stream deals with id 2"),
        ("__filter__:1 / 0", "ZeroDivisionError", "record of stream deals with id 1"),
    ],
)
def test_a_stream_map_that_fails_on_a_record_ends_with_one_line_and_leaves_it_unacked(
    tmp_path, fake_sell, expression, raised, kind
):
    _two_deals_and_a_deleted_one(fake_sell)
    config = {
        "access_token": TOKEN,
        "api_url": fake_sell.url,
        "stream_maps": {
            "deals": (
                {"__filter__": expression.removeprefix("__filter__:")}
                if expression.startswith("__filter__:")
                else {"computed": expression}
            )
        },
    }
    run = run_tap(tmp_path, config)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = run.error_lines()
    assert len(errors) == 1, run.stderr
    assert "a stream map failed on the " + kind in errors[0]
    assert raised in errors[0]
    # The reminder that maps see delete records comes only where it explains the failure.
    assert ("maps also see delete records" in errors[0]) == kind.startswith("delete")
    assert TOKEN not in run.stderr
    assert fake_sell.calls("ack") == []
    failed_id = int(kind.rsplit(" ", 1)[1])
    assert failed_id not in {r["id"] for r in run.records("deals")}
    failed_key = {1: "D-1-2", 2: "D-2-5"}[failed_id]
    assert all(failed_key not in _pending_keys(state) for state in run.states())


def test_records_a_stream_map_drops_are_counted_in_the_summary_and_acked_next_run(
    tmp_path, fake_sell
):
    _two_deals_and_a_deleted_one(fake_sell)
    config = {
        "access_token": TOKEN,
        "api_url": fake_sell.url,
        "stream_maps": {"deals": {"__filter__": "value is not None and value > 20"}},
    }
    run = run_tap(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert [r["id"] for r in run.records("deals")] == [3]
    assert "3 records (1 deletes, 2 dropped by stream maps)" in run.stderr
    assert "Records the stream maps dropped (counted above; their keys are acked): deals 2." in (
        run.stderr
    )
    # The dropped records were the user's choice: their keys are pending like the rest.
    assert sorted(_pending_keys(run.last_state)) == ["D-1-2", "D-2-5", "D-3-1"]


def test_a_normal_drain_is_logged_as_drained_not_as_stopped(tmp_path, fake_sell):
    _two_deals_and_a_deleted_one(fake_sell)
    run = run_tap(tmp_path, {"access_token": TOKEN, "api_url": fake_sell.url})
    assert run.returncode == 0, run.stderr
    assert "Queue drained: 3 items in 1 pages." in run.stderr
    assert "stopped early" not in run.stderr
    assert "| WARNING" not in run.stderr
