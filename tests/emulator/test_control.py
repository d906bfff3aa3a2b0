# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The HTTP control interface under /_emulator/."""

from __future__ import annotations

import pytest
import requests


def test_control_mutate_objects_and_logs(make_server):
    emulator, client = make_server()
    control = f"{client.url}/_emulator"
    changed = requests.post(
        f"{control}/mutate", json={"creates": 4, "updates": 3, "deletes": 2, "seed": 8}, timeout=5
    ).json()
    assert len(changed["created"]) == 4
    assert len(changed["updated"]) >= 3
    assert len(changed["deleted"]) >= 2
    objects = requests.get(f"{control}/objects", timeout=5).json()
    live = emulator.current_objects()
    assert {t: len(v) for t, v in objects["objects"].items()} == {
        t: len(v) for t, v in live.items()
    }
    assert sum(len(v) for v in objects["deleted"].values()) == len(changed["deleted"])

    items = client.drain()
    acks = requests.get(f"{control}/acks", timeout=5).json()["acks"]
    assert len(acks) == len(items)
    assert acks[0]["device_uuid"] == client.device
    assert {"time", "ack_key", "known", "resource_type", "key", "revision"} <= set(acks[0])
    deliveries = requests.get(f"{control}/deliveries", timeout=5).json()["deliveries"]
    assert [d["ack_key"] for d in deliveries] == [i["meta"]["sync"]["ack_key"] for i in items]
    counters = requests.get(f"{control}/counters", timeout=5).json()
    assert counters["requests"]["start"] == {"201": 1}


def test_control_puts_and_deletes_one_given_object(make_server):
    emulator, client = make_server()
    control = f"{client.url}/_emulator"
    client.drain()
    deal = {"id": 2**33, "name": "Große Lieferung", "value": "1000.50", "currency": "EUR"}
    answer = requests.post(f"{control}/objects", json={"type": "deal", "data": deal}, timeout=5)
    assert answer.json() == {"revision": 1}
    (item,) = client.drain()
    assert item["data"] == deal
    contact_id = next(iter(emulator.current_objects()["contact"]))
    pair = [2**33, contact_id]
    requests.post(
        f"{control}/objects",
        json={"type": "associated_contact", "data": {"deal_id": pair[0], "contact_id": pair[1]}},
        timeout=5,
    )
    client.drain()
    deleted = requests.post(
        f"{control}/objects/delete", json={"type": "deal", "key": 2**33}, timeout=5
    ).json()
    assert ["deal", 2**33] in deleted["deleted"]
    assert ["associated_contact", pair] in deleted["deleted"]
    assert {i["meta"]["sync"]["event_type"] for i in client.drain()} == {"deleted"}


def test_control_sets_lists_and_clears_faults(make_server):
    _emulator, client = make_server()
    control = f"{client.url}/_emulator"
    body = {"faults": [{"kind": "503", "endpoint": "ack", "on_calls": [1]}], "seed": 3}
    listed = requests.post(f"{control}/faults", json=body, timeout=5).json()["faults"]
    assert listed[0]["kind"] == "503"
    assert client.ack([]).status_code == 503
    requests.post(f"{control}/faults/add", json={"kind": "500", "endpoint": "ack"}, timeout=5)
    assert client.ack([]).status_code == 500
    assert requests.delete(f"{control}/faults", timeout=5).json() == {"faults": []}
    assert client.ack([]).status_code == 202


def test_control_rejects_bad_requests_with_a_message(make_server):
    _emulator, client = make_server()
    control = f"{client.url}/_emulator"
    bad_fault = requests.post(f"{control}/faults", json={"faults": [{"kind": "x"}]}, timeout=5)
    assert bad_fault.status_code == 400
    assert "unknown fault kind" in bad_fault.json()["error"]
    assert requests.get(f"{control}/nothing", timeout=5).status_code == 404
    assert requests.post(f"{control}/mutate", data=b"{", timeout=5).status_code == 400
    negative = requests.post(f"{control}/mutate", json={"creates": -1}, timeout=5)
    assert negative.status_code == 400


def test_control_config_never_shows_the_token(make_server):
    _emulator, client = make_server()
    response = requests.get(f"{client.url}/_emulator/config", timeout=5)
    assert response.json()["page_size"] == 100
    assert client.token not in response.text


def test_control_mutate_refuses_more_than_its_bound_and_changes_nothing(make_server):
    emulator, client = make_server()
    before = emulator.current_objects()
    too_many = requests.post(
        f"{client.url}/_emulator/mutate", json={"creates": 100_000_000}, timeout=5
    )
    assert too_many.status_code == 400
    assert too_many.json() == {
        "error": "creates must be at most 10000 per request, got 100000000:"
        " send several requests for more changes"
    }
    deletes = requests.post(f"{client.url}/_emulator/mutate", json={"deletes": 10_001}, timeout=5)
    assert deletes.status_code == 400
    assert "deletes must be at most 10000" in deletes.json()["error"]
    assert emulator.current_objects() == before
    at_bound = requests.post(
        f"{client.url}/_emulator/mutate", json={"updates": 10_000, "seed": 4}, timeout=60
    )
    assert at_bound.status_code == 200
    assert at_bound.json()["updated"]


@pytest.mark.parametrize(
    "device",
    [
        "notauuid",
        "",
        "4f7d6c3e2a1b4c5d8e9f0a1b2c3d4e5f",
        "{4f7d6c3e-2a1b-4c5d-8e9f-0a1b2c3d4e5f}",
        "urn:uuid:4f7d6c3e-2a1b-4c5d-8e9f-0a1b2c3d4e5f",
        "4f7d6c3e-2a1b-4c5d-8e9f-0a1b2c3d4e5f/extra",
        "%204f7d6c3e-2a1b-4c5d-8e9f-0a1b2c3d4e5f",
    ],
)
def test_control_pending_refuses_a_device_that_is_not_a_uuid(make_server, device):
    _emulator, client = make_server()
    response = requests.get(f"{client.url}/_emulator/devices/{device}/pending", timeout=5)
    assert response.status_code == 400
    (message,) = response.json().values()
    assert response.json() == {"error": message}
    assert message.startswith("a device is a UUID like 4f7d6c3e-2a1b-4c5d-8e9f-0a1b2c3d4e5f, got")


def test_control_pending_names_the_device_it_refuses(make_server):
    _emulator, client = make_server()
    for path, shown in (("devices/notauuid/pending", "notauuid"), ("devices/pending", "pending")):
        response = requests.get(f"{client.url}/_emulator/{path}", timeout=5)
        assert response.status_code == 400
        assert response.json() == {
            "error": f"a device is a UUID like 4f7d6c3e-2a1b-4c5d-8e9f-0a1b2c3d4e5f, got {shown!r}"
        }


def test_control_pending_answers_for_a_uuid_as_the_device_sent_it(make_server):
    emulator, client = make_server()
    control = f"{client.url}/_emulator/devices"
    fresh = requests.get(f"{control}/{client.device}/pending", timeout=5)
    assert fresh.status_code == 200
    assert len(fresh.json()["pending"]) == 120
    client.drain()
    assert requests.get(f"{control}/{client.device}/pending", timeout=5).json() == {"pending": []}

    shouting = client.device.upper()
    answer = requests.get(f"{control}/{shouting}/pending", timeout=5)
    assert answer.status_code == 200
    assert len(answer.json()["pending"]) == len(emulator.pending_for(shouting)) == 120
