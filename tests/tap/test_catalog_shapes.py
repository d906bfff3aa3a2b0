# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Catalogs of the wrong shape end with one line; odd but valid ones are used and warned of."""

from __future__ import annotations

import copy
import json
import subprocess

import jsonschema
import pytest
from tap_fakes import TAP, TOKEN, Reply, item, page, run_tap, session_body

from tap_sell_sync.schemas import TAP_COLUMNS

OFFLINE = {"access_token": TOKEN, "api_url": "http://127.0.0.1:9", "max_retry_seconds": 1}


@pytest.fixture(scope="module")
def discovered(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("discover") / "config.json"
    path.write_text(json.dumps(OFFLINE))
    done = subprocess.run(
        [TAP, "--config", str(path), "--discover"], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def _entry(catalog: dict, stream: str) -> dict:
    return next(e for e in catalog["streams"] if e["tap_stream_id"] == stream)


def _select_only(catalog: dict, *streams: str) -> dict:
    """The catalog with every stream deselected but those named."""
    catalog = copy.deepcopy(catalog)
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if not metadata["breadcrumb"]:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def _change_deals(change):
    def build(catalog: dict) -> dict:
        catalog = copy.deepcopy(catalog)
        change(_entry(catalog, "deals"))
        return catalog

    return build


# name: (builds the catalog from the discovered one, where the error points)
WRONG_SHAPES = {
    "streams a number": (lambda _: {"streams": 5}, "streams: 5 is not of type 'array'"),
    "no streams": (lambda _: {"version": 1}, "'streams' is a required property"),
    "a stream a number": (lambda _: {"streams": [5]}, "streams[0]: 5 is not of type 'object'"),
    "a stream without tap_stream_id": (
        _change_deals(lambda e: e.pop("tap_stream_id")),
        "'tap_stream_id' is a required property",
    ),
    "schema a number": (
        _change_deals(lambda e: e.update(schema=5)),
        ".schema: 5 is not of type 'object'",
    ),
    "properties a list": (
        _change_deals(lambda e: e["schema"].update(properties=[])),
        ".schema.properties: [] is not of type 'object'",
    ),
    "a property type that is no type": (
        _change_deals(lambda e: e["schema"]["properties"]["name"].update(type=5)),
        ".schema.properties.name.type",
    ),
    "key_properties a number": (
        _change_deals(lambda e: e.update(key_properties=5)),
        ".key_properties: 5 is not of type",
    ),
    "metadata an object": (
        _change_deals(lambda e: e.update(metadata={})),
        ".metadata: {} is not of type 'array'",
    ),
    "a metadata entry without breadcrumb": (
        _change_deals(lambda e: e["metadata"][0].pop("breadcrumb")),
        "'breadcrumb' is a required property",
    ),
    "a breadcrumb a string": (
        _change_deals(lambda e: e["metadata"][0].update(breadcrumb="properties")),
        ".breadcrumb: 'properties' is not of type 'array'",
    ),
    "selected a string": (
        _change_deals(lambda e: e["metadata"][0]["metadata"].update(selected="yes")),
        ".selected: 'yes' is not of type 'boolean'",
    ),
    "inclusion unknown": (
        _change_deals(lambda e: e["metadata"][0]["metadata"].update(inclusion="always")),
        ".inclusion: 'always' is not one of",
    ),
}


@pytest.mark.parametrize("name", list(WRONG_SHAPES))
def test_a_catalog_of_the_wrong_shape_ends_with_one_line_naming_the_place(
    tmp_path, discovered, name
):
    build, needle = WRONG_SHAPES[name]
    run = run_tap(tmp_path, OFFLINE, catalog=build(discovered))
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    errors = run.error_lines()
    assert len(errors) == 1, run.stderr[-2000:]
    assert "is not a catalog as --discover writes" in errors[0]
    assert needle in errors[0], errors[0]
    assert run.stdout == ""


def test_the_discovered_catalog_passes_the_shape_check(tmp_path, discovered):
    run = run_tap(tmp_path, OFFLINE, catalog=discovered)
    # Nothing listens on the port: the run gets as far as Sell, past the catalog.
    assert run.returncode == 1
    assert "connection to Sell" in run.error_lines()[0], run.stderr[-2000:]


def _one_deal_and_a_deleted_one(fake_sell) -> None:
    fake_sell.scripts["start"] = [Reply(201, session_body("S1", 2))]
    fake_sell.scripts["fetch"] = [
        Reply(
            200,
            page(
                [
                    item("deal", {"id": 1, "name": "Big", "value": 10, "hot": True}, "D-1-1"),
                    item("deal", {"id": 2}, "D-2-5", event="deleted", revision=5),
                ]
            ),
        ),
    ]


@pytest.mark.parametrize("dropped", ["id", *TAP_COLUMNS])
def test_a_catalog_schema_without_the_key_or_a_tap_column_ends_with_one_line(
    tmp_path, discovered, fake_sell, dropped
):
    _one_deal_and_a_deleted_one(fake_sell)
    catalog = _select_only(discovered, "deals")
    _entry(catalog, "deals")["schema"]["properties"].pop(dropped)
    run = run_tap(tmp_path, {"access_token": TOKEN, "api_url": fake_sell.url}, catalog=catalog)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = run.error_lines()
    assert len(errors) == 1, run.stderr[-2000:]
    assert f"schema of stream deals lacks {dropped}" in errors[0]
    assert "deselect fields in the catalog's metadata" in errors[0]
    assert run.records() == []
    assert fake_sell.calls("start") == []
    assert fake_sell.calls("ack") == []


def test_a_narrowed_catalog_schema_is_what_the_records_hold(tmp_path, discovered, fake_sell):
    _one_deal_and_a_deleted_one(fake_sell)
    catalog = _select_only(discovered, "deals")
    properties = _entry(catalog, "deals")["schema"]["properties"]
    kept = {"id", "name", *TAP_COLUMNS}
    for name in set(properties) - kept:
        properties.pop(name)
    run = run_tap(tmp_path, {"access_token": TOKEN, "api_url": fake_sell.url}, catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    schema = next(m for m in run.messages if m["type"] == "SCHEMA" and m["stream"] == "deals")
    assert set(schema["schema"]["properties"]) == kept
    live, deleted = run.records("deals")
    assert set(live) <= kept
    assert live["name"] == "Big"
    assert set(deleted) == kept
    assert deleted["_sdc_deleted_at"] is not None
    assert "fields not in its schema were left out: hot, value" in run.stderr


def test_a_catalog_selecting_nothing_warns_and_sends_nothing(tmp_path, discovered, fake_sell):
    catalog = _select_only(discovered)
    catalog["streams"].append({"tap_stream_id": "opportunities", "schema": {}, "metadata": []})
    run = run_tap(tmp_path, {"access_token": TOKEN, "api_url": fake_sell.url}, catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "| WARNING" in line]
    assert any("The catalog selects no stream" in line for line in warnings), warnings
    assert any(
        "streams this tap does not have, which are ignored: opportunities" in line
        for line in warnings
    ), warnings
    assert run.records() == []
    assert fake_sell.calls("start") == []
    assert fake_sell.calls("ack") == []


def test_records_follow_a_type_the_catalog_changes_and_validate_against_the_schema_sent(
    tmp_path, discovered, fake_sell
):
    _one_deal_and_a_deleted_one(fake_sell)
    catalog = _select_only(discovered, "deals")
    properties = _entry(catalog, "deals")["schema"]["properties"]
    properties["value"] = {"type": ["string", "null"]}
    properties["hot"] = {"type": ["string", "null"]}
    run = run_tap(tmp_path, {"access_token": TOKEN, "api_url": fake_sell.url}, catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    schema = next(m for m in run.messages if m["type"] == "SCHEMA" and m["stream"] == "deals")
    validator = jsonschema.Draft7Validator(schema["schema"])
    records = run.records("deals")
    for record in records:
        assert list(validator.iter_errors(record)) == [], record
    live = records[0]
    assert live["value"] == "10"
    # A boolean has no text form that loses nothing: null, counted.
    assert live["hot"] is None
    assert "values of the wrong type were set to null: hot 1" in run.stderr


def test_a_stream_the_catalog_leaves_out_is_never_acked_and_is_warned_of(
    tmp_path, discovered, fake_sell
):
    fake_sell.scripts["start"] = [Reply(201, session_body("S1", 2))]
    fake_sell.scripts["fetch"] = [
        Reply(200, page([item("deal", {"id": 1}, "D-1-1"), item("lead", {"id": 2}, "L-2-1")])),
    ]
    catalog = copy.deepcopy(discovered)
    catalog["streams"] = [e for e in catalog["streams"] if e["tap_stream_id"] != "deals"]
    config = {"access_token": TOKEN, "api_url": fake_sell.url}
    run = run_tap(tmp_path, config, catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records("deals") == []
    assert [r["id"] for r in run.records("leads")] == [2]
    assert run.pending() == {"L-2-1"}
    assert "The catalog does not list streams deals" in run.stderr
    assert "Items of streams the catalog does not list: deals 1; not acked" in run.stderr
    assert "Items of deselected streams" not in run.stderr

    # The next run acks only what was stored.
    again = run_tap(tmp_path / "again", config, catalog=catalog, state=run.last_state)
    assert again.returncode == 0, again.stderr[-2000:]
    assert [key for _, key in fake_sell.acked()] == ["L-2-1"]
