# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""When a device's next queue is computed: at the next start (default) or at drain."""

from __future__ import annotations


def test_default_queue_is_computed_at_start_so_late_acks_count(make_server):
    _emulator, client = make_server()
    items = client.drain(ack=False)
    client.ack([i["meta"]["sync"]["ack_key"] for i in items])
    assert client.start().status_code == 204


def test_requeue_at_drain_sends_items_again_despite_acks_after_drain(make_server):
    emulator, client = make_server(requeue_at_drain=True)
    items = client.drain(ack=False)
    client.ack([i["meta"]["sync"]["ack_key"] for i in items])
    again = client.drain(ack=False)
    assert sorted(client.refs(again), key=repr) == sorted(client.refs(items), key=repr)
    # The re-queued copy was consumed; the acks now hold.
    assert client.start().status_code == 204
    assert emulator.pending_for(client.device) == []


def test_requeue_at_drain_adds_changes_made_after_drain(make_server):
    emulator, client = make_server(requeue_at_drain=True)
    client.drain()  # acked page by page, so nothing is re-queued at drain
    emulator.mutate(creates=3, seed=1)
    assert len(client.drain()) == 3


def test_same_seed_gives_same_data_and_same_order(make_server):
    first, first_client = make_server(seed=11)
    second, second_client = make_server(seed=11)
    other, _ = make_server(seed=12)
    assert first.current_objects() == second.current_objects()
    assert first.current_objects() != other.current_objects()
    assert first_client.drain(ack=False) == second_client.drain(ack=False)


def test_changes_while_a_session_is_open_are_appended_to_it(make_server):
    emulator, client = make_server(page_size=50)
    session_id = client.session()
    first = client.fetch(session_id).json()
    lead_id = next(i["data"]["id"] for i in first["items"] if i["meta"]["type"] == "lead")
    data = dict(emulator.current_objects()["lead"][lead_id])
    data["status"] = "Working"
    emulator.put_object("lead", data)
    seen = list(first["items"])
    while (response := client.fetch(session_id)).status_code == 200:
        seen.extend(response.json()["items"])
    copies = [i for i in seen if i["meta"]["type"] == "lead" and i["data"]["id"] == lead_id]
    assert [c["meta"]["sync"]["revision"] for c in copies] == [1, 2]
    assert len(seen) == 121


def test_snapshot_sessions_keep_changes_for_the_next_session(make_server):
    emulator, client = make_server(snapshot_sessions=True)
    session_id = client.session()
    emulator.mutate(creates=2, seed=4)
    count = 0
    while (response := client.fetch(session_id)).status_code == 200:
        count += len(response.json()["items"])
    assert count == 120
    assert len(client.drain(ack=False)) == 122
