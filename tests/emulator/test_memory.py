# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""What the service remembers per device: acks, redelivery, updates and deletes."""

from __future__ import annotations


def test_unacked_items_come_again_in_the_next_session(make_server):
    _emulator, client = make_server()
    first = client.drain(ack=False)
    second = client.drain(ack=False)
    assert sorted(client.refs(first), key=repr) == sorted(client.refs(second), key=repr)
    assert {i["meta"]["sync"]["event_type"] for i in second} == {"created"}


def test_acked_items_do_not_come_again(make_server):
    _emulator, client = make_server()
    assert len(client.drain()) == 120
    assert client.start().status_code == 204


def test_acks_are_per_device_not_per_session(make_server):
    emulator, client = make_server()
    client.drain()
    client.device = "second-device"
    assert len(client.drain(ack=False)) == 120
    assert emulator.pending_for("second-device")


def test_ack_key_from_an_earlier_session_is_accepted(make_server):
    emulator, client = make_server()
    items = client.drain(ack=False)
    keys = [i["meta"]["sync"]["ack_key"] for i in items]
    client.session()  # a newer session is open; the old keys still count
    assert client.ack(keys).status_code == 202
    assert emulator.pending_for(client.device) == []
    assert all(event.known for event in emulator.ack_log())


def test_acking_twice_is_harmless_and_unknown_keys_are_counted(make_server):
    emulator, client = make_server()
    items = client.drain()
    key = items[0]["meta"]["sync"]["ack_key"]
    assert client.ack([key, "Nonsense-1-1"]).status_code == 202
    counters = emulator.counters()
    assert counters["ack_keys_repeated"] == 1
    assert counters["ack_keys_unknown"] == 1
    unknown = [e for e in emulator.ack_log() if not e.known]
    assert [(e.ack_key, e.device_uuid) for e in unknown] == [("Nonsense-1-1", client.device)]


def test_update_after_ack_arrives_as_updated_with_newest_revision_only(make_server):
    emulator, client = make_server()
    client.drain()
    lead_id = next(iter(emulator.current_objects()["lead"]))
    data = dict(emulator.current_objects()["lead"][lead_id])
    for name in ("Ann", "Bob", "Cleo"):
        data["first_name"] = name
        emulator.put_object("lead", data)
    (item,) = client.drain()
    assert item["meta"]["sync"]["event_type"] == "updated"
    assert item["meta"]["sync"]["revision"] == 4
    assert item["data"]["first_name"] == "Cleo"


def test_delete_of_acked_object_arrives_with_id_only(make_server):
    emulator, client = make_server()
    client.drain()
    note_id = next(iter(emulator.current_objects()["note"]))
    emulator.delete_object("note", note_id)
    (item,) = client.drain()
    assert item["data"] == {"id": note_id}
    assert item["meta"]["type"] == "note"
    assert item["meta"]["sync"]["event_type"] == "deleted"
    assert client.start().status_code == 204
    assert note_id in emulator.deleted_keys()["note"]


def test_object_created_and_deleted_before_any_ack_is_never_sent(make_server):
    emulator, client = make_server()
    client.drain()
    emulator.put_object("tag", {"id": 77, "name": "short-lived", "resource_type": "lead"})
    emulator.delete_object("tag", 77)
    assert client.start().status_code == 204


def test_delete_of_delivered_but_unacked_object_is_not_sent(make_server):
    emulator, client = make_server()
    items = client.drain(ack=False)
    note_id = next(i["data"]["id"] for i in items if i["meta"]["type"] == "note")
    emulator.delete_object("note", note_id)
    again = client.refs(client.drain(ack=False))
    assert ("note", note_id) not in again
    assert len(again) == len(items) - 1


def test_deleted_associated_contact_carries_deal_and_contact_ids(make_server):
    emulator, client = make_server()
    client.drain()
    deal_id, contact_id = next(iter(emulator.current_objects()["associated_contact"]))
    emulator.delete_object("associated_contact", (deal_id, contact_id))
    (item,) = client.drain()
    assert item["data"] == {"deal_id": deal_id, "contact_id": contact_id}


def test_acking_an_older_revision_does_not_hide_the_newer_one(make_server):
    emulator, client = make_server()
    items = client.drain(ack=False)
    old = next(i for i in items if i["meta"]["type"] == "contact")
    data = dict(emulator.current_objects()["contact"][old["data"]["id"]])
    data["title"] = "Präsidentin"
    emulator.put_object("contact", data)
    client.ack([old["meta"]["sync"]["ack_key"]])
    again = [i for i in client.drain(ack=False) if i["data"].get("id") == old["data"]["id"]]
    assert [i["meta"]["sync"]["event_type"] for i in again] == ["updated"]
    assert again[0]["data"]["title"] == "Präsidentin"


def test_mutations_are_deterministic_and_keep_references_valid(make_server):
    first, _ = make_server(seed=5)
    second, _ = make_server(seed=5)
    assert first.mutate(creates=20, updates=20, deletes=10, seed=9) == second.mutate(
        creates=20, updates=20, deletes=10, seed=9
    )
    live = first.current_objects()
    assert live == second.current_objects()
    for deal in live["deal"].values():
        for field, target in (("contact_id", "contact"), ("stage_id", "stage")):
            assert deal[field] is None or deal[field] in live[target]
    for deal_id, contact_id in live.get("associated_contact", {}):
        assert deal_id in live["deal"]
        assert contact_id in live["contact"]
    for note in live["note"].values():
        assert note["resource_id"] in live[note["resource_type"]]
