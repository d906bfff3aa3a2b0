# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
from __future__ import annotations

import decimal
import logging

import pytest
from tap_fakes import FakeClient, item, page
from test_queue import DEVICE, emit_all, make_run, pending_keys

from tap_sell_sync.conform import compile_properties, conform_record
from tap_sell_sync.streams import STREAM_TYPES

SCHEMAS = {s.resource_type: s.schema for s in STREAM_TYPES}


def conform(resource_type, record):
    invalid = conform_record(record, compile_properties(SCHEMAS[resource_type]))
    return record, invalid


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("owner_id", "42", 42),
        ("owner_id", "12345678901", 12345678901),
        ("owner_id", 42.0, 42),
        ("hot", "true", True),
        ("hot", "false", False),
        ("name", 1234, "1234"),
        ("value", "1000.50", decimal.Decimal("1000.50")),
        ("tags", ["a", 7], ["a", "7"]),
        ("updated_at", "2024-05-02T10:11:12Z", "2024-05-02T10:11:12Z"),
        ("custom_fields", {"Any": [1, {"x": None}]}, {"Any": [1, {"x": None}]}),
    ],
)
def test_values_that_convert_without_loss_are_converted(field, value, expected):
    record, invalid = conform("deal", {"id": 1, field: value})
    assert invalid == []
    assert record[field] == expected
    assert type(record[field]) is type(expected)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("owner_id", "abc"),
        ("owner_id", 4.5),
        ("owner_id", True),
        ("owner_id", {"id": 1}),
        ("hot", "maybe"),
        ("hot", 1),
        ("name", ["a"]),
        ("value", "lots"),
        ("value", "NaN"),
        ("tags", "one,two"),
        ("tags", ["a", {"b": 1}]),
        ("updated_at", "4/27/2016"),
        ("updated_at", 1714644672),
        ("custom_fields", "text"),
    ],
)
def test_values_of_the_wrong_type_become_null_and_are_named(field, value):
    record, invalid = conform("deal", {"id": 1, field: value})
    assert invalid == [field]
    assert record[field] is None
    assert record["id"] == 1


def test_nested_objects_are_checked_by_their_own_properties():
    record, invalid = conform(
        "contact", {"id": 1, "address": {"city": "Kraków", "postal_code": 30}}
    )
    assert invalid == []
    assert record["address"] == {"city": "Kraków", "postal_code": "30"}

    record, invalid = conform("contact", {"id": 1, "address": {"city": ["x"]}})
    assert invalid == ["address"]
    assert record["address"] is None


def test_a_record_with_a_wrong_typed_value_is_emitted_with_null_and_its_key_acked(caplog):
    client = FakeClient(
        [page([item("deal", {"id": 9, "name": "Ok", "owner_id": "not a number"}, ack_key="D-9-1")])]
    )
    run, _ = make_run(client)
    with caplog.at_level(logging.INFO):
        out = emit_all(run)
    assert out["deals"] == [
        {"id": 9, "name": "Ok", "owner_id": None, "sell_event_type": "updated", "sell_revision": 1}
    ]
    assert pending_keys(run.ledger) == {DEVICE: ["D-9-1"]}
    assert run.counters.invalid_values == {"deals": {"owner_id": 1}}
    assert "values of the wrong type were set to null: owner_id 1" in caplog.text
    assert "1 values of the wrong type set to null" in caplog.text
