# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The generated account: mix, value formats and references."""

from __future__ import annotations

import re

from sell_sync_emulator import RESOURCE_TYPES, UNKNOWN_RESOURCE_TYPE, Emulator, EmulatorConfig
from sell_sync_emulator.data import plan_counts

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_every_resource_type_is_present_in_a_realistic_mix():
    counts = plan_counts(2000)
    assert sum(counts.values()) == 2000
    assert set(counts) == set(RESOURCE_TYPES)
    assert counts["account"] == 1
    assert counts["pipeline"] <= 3
    assert min(counts[t] for t in ("contact", "deal", "lead", "note", "task")) > 100
    assert plan_counts(5) == {t: int(t in RESOURCE_TYPES[:5]) for t in RESOURCE_TYPES}


def test_value_formats_follow_the_documented_shapes():
    live = Emulator(EmulatorConfig(seed=3, objects=3000)).current_objects()
    ids = [key for objects in live.values() for key in objects if isinstance(key, int)]
    assert any(i > 2**31 for i in ids)
    assert any(i < 2**31 for i in ids)

    values = [deal["value"] for deal in live["deal"].values()]
    assert any(isinstance(v, int) for v in values)
    assert any(isinstance(v, str) for v in values)
    assert None in values
    assert all(re.fullmatch(r"\d+\.\d\d", v) for v in values if isinstance(v, str))

    custom = [c["custom_fields"] for c in live["contact"].values()]
    birthdays = [f["Birthday"] for f in custom if "Birthday" in f]
    assert all(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", b) for b in birthdays)
    budgets = [f["Budget"] for f in custom if "Budget" in f]
    assert all(isinstance(b, str) and re.fullmatch(r"\d+\.\d\d", b) for b in budgets)
    priorities = [f["Priority"] for f in custom if "Priority" in f]
    assert all(set(p) == {"id", "name"} for p in priorities)

    addresses = [c["address"] for c in live["contact"].values() if c["address"]]
    assert all(
        set(a) == {"line1", "line2", "city", "postal_code", "state", "country"} for a in addresses
    )
    names = [c["name"] for c in live["contact"].values()]
    assert any(not n.isascii() for n in names)
    for objects in live.values():
        for data in objects.values():
            assert TIMESTAMP.match(data["created_at"])
    for line_item in live["line_item"].values():
        assert line_item["order_id"] in live["order"]
    for associated in live["associated_contact"].values():
        assert {"deal_id", "contact_id", "role"} <= set(associated)


def test_unknown_resource_type_option_adds_items_no_client_knows(make_server):
    _emulator, client = make_server(objects=20, unknown_type_objects=4)
    items = client.drain()
    unknown = [i for i in items if i["meta"]["type"] == UNKNOWN_RESOURCE_TYPE]
    assert len(unknown) == 4
    assert UNKNOWN_RESOURCE_TYPE not in RESOURCE_TYPES


def test_deletes_for_unseen_option_sends_deletes_after_a_first_flow(make_server):
    emulator, client = make_server(deletes_for_unseen=True)
    client.drain()
    emulator.put_object("tag", {"id": 55, "name": "brief"})
    emulator.delete_object("tag", 55)
    (item,) = client.drain()
    assert item["data"] == {"id": 55}
    assert item["meta"]["sync"]["event_type"] == "deleted"
    assert client.start().status_code == 204


def test_deletes_for_unseen_sends_nothing_before_the_first_flow(make_server):
    emulator, client = make_server(deletes_for_unseen=True)
    emulator.put_object("tag", {"id": 55, "name": "brief"})
    emulator.delete_object("tag", 55)
    assert ("tag", 55) not in client.refs(client.drain())


def test_items_come_in_creation_order_without_shuffle(make_server):
    emulator, client = make_server(shuffle=False)
    items = client.drain()
    assert [i["meta"]["type"] for i in items[:2]] == ["account", "user"]
    shuffled, other = make_server(shuffle=True)
    assert [i["meta"]["type"] for i in other.drain()[:2]] != ["account", "user"]
    assert shuffled.config.shuffle
    assert emulator.config.shuffle is False


def test_live_object_is_an_independent_copy_of_what_is_served():
    emulator = Emulator(EmulatorConfig(seed=4, objects=200))
    contact_id, contact = next(iter(emulator.current_objects()["contact"].items()))
    copy = emulator.live_object("contact", contact_id)
    assert copy == contact
    copy["custom_fields"]["changed"] = True
    assert "changed" not in emulator.current_objects()["contact"][contact_id]["custom_fields"]
    assert emulator.live_object("contact", -1) is None
