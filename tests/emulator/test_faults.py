# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Injected faults: error statuses, lost and spoilt replies, empty pages, failed objects."""

from __future__ import annotations

import time

import pytest
import requests

from sell_sync_emulator import Fault


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_status_fault_answers_error_envelope_and_takes_no_page(make_server, status):
    emulator, client = make_server()
    session_id = client.session()
    emulator.set_faults(Fault(kind=str(status), endpoint="fetch", on_calls=(1,)))
    failed = client.fetch(session_id)
    assert failed.status_code == status
    assert failed.json()["meta"]["logref"] == failed.headers["X-Request-Id"]
    page = client.fetch(session_id).json()
    assert page["meta"]["count"] == 100
    assert page["meta"]["count_left"] == 20
    assert emulator.counters()["faults_injected"] == {str(status): 1}


def test_status_fault_on_ack_keeps_nothing(make_server):
    emulator, client = make_server()
    items = client.drain(ack=False)
    emulator.set_faults(Fault(kind="500", endpoint="ack"))
    assert client.ack([items[0]["meta"]["sync"]["ack_key"]]).status_code == 500
    assert emulator.ack_log() == []


def test_page_lost_by_dropped_connection_is_not_resent_in_same_session(make_server):
    emulator, client = make_server()
    session_id = client.session()
    emulator.set_faults(Fault(kind="drop_before_body", endpoint="fetch", on_calls=(1,)))
    with pytest.raises(requests.ConnectionError):
        client.fetch(session_id)
    rest = []
    while (response := client.fetch(session_id)).status_code == 200:
        rest.extend(response.json()["items"])
    assert len(rest) == 20
    delivered = emulator.delivery_log()
    assert len(delivered) == 120
    # The lost page comes again in the next session, as nothing of it was acked.
    assert len(client.drain(ack=False)) == 120


def test_connection_dropped_in_the_middle_of_the_body(make_server):
    emulator, client = make_server()
    session_id = client.session()
    emulator.set_faults(Fault(kind="drop_mid_body", endpoint="fetch", on_calls=(1,)))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        client.fetch(session_id)
    assert client.fetch(session_id).json()["meta"]["count"] == 20


def test_dropped_ack_reply_still_keeps_the_ack(make_server):
    emulator, client = make_server()
    items = client.drain(ack=False)
    emulator.set_faults(Fault(kind="drop_before_body", endpoint="ack"))
    with pytest.raises(requests.ConnectionError):
        client.ack([i["meta"]["sync"]["ack_key"] for i in items])
    assert client.start().status_code == 204


def test_not_json_body_counts_the_page_as_delivered(make_server):
    emulator, client = make_server()
    session_id = client.session()
    emulator.set_faults(Fault(kind="not_json", endpoint="fetch", on_calls=(1,)))
    response = client.fetch(session_id)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()
    assert client.fetch(session_id).json()["meta"]["count"] == 20


def test_empty_page_before_the_end_then_the_rest(make_server):
    emulator, client = make_server()
    session_id = client.session()
    emulator.set_faults(Fault(kind="empty_page", endpoint="fetch", on_calls=(1, 2)))
    for _ in range(2):
        page = client.fetch(session_id).json()
        assert page["items"] == []
        assert page["meta"]["count"] == 0
        assert page["meta"]["count_left"] == 120
    assert client.fetch(session_id).json()["meta"]["count"] == 100


def test_failed_objects_are_withheld_and_come_in_a_later_session(make_server):
    emulator, client = make_server()
    session_id = client.session()
    emulator.set_faults(Fault(kind="failed_objects", endpoint="fetch", on_calls=(1,), count=3))
    page = client.fetch(session_id).json()
    failed = page["meta"]["failed_objects"]
    assert len(failed) == 3
    assert page["meta"]["count"] == 97
    assert all(set(f) in ({"type", "id"}, {"type", "deal_id", "contact_id"}) for f in failed)
    client.ack([i["meta"]["sync"]["ack_key"] for i in page["items"]])
    while (response := client.fetch(session_id)).status_code == 200:
        items = response.json()["items"]
        client.ack([i["meta"]["sync"]["ack_key"] for i in items])
    again = client.drain()
    expected = {
        (f["type"], (f["deal_id"], f["contact_id"]) if "deal_id" in f else f["id"]) for f in failed
    }
    assert set(client.refs(again)) == expected
    assert {i["meta"]["sync"]["event_type"] for i in again} == {"created"}


def test_expired_session_answers_404(make_server):
    emulator, client = make_server()
    session_id = client.session()
    emulator.set_faults(Fault(kind="expired_session", endpoint="fetch", on_calls=(2,)))
    assert client.fetch(session_id).status_code == 200
    response = client.fetch(session_id)
    assert response.status_code == 404
    assert response.json()["errors"][0]["error"]["code"] == "not_found"
    assert client.fetch(session_id).status_code == 404


def test_idle_session_expires_after_its_lifetime(make_server):
    _emulator, client = make_server(session_ttl_seconds=0.2)
    session_id = client.session()
    time.sleep(0.3)
    assert client.fetch(session_id).status_code == 404


def test_slow_reply_and_added_latency_delay_the_answer(make_server):
    emulator, client = make_server(latency_seconds=0.05)
    emulator.set_faults(Fault(kind="slow", endpoint="start", delay_seconds=0.6))
    started = time.perf_counter()
    assert client.start().status_code == 201
    assert time.perf_counter() - started >= 0.65
    started = time.perf_counter()
    assert client.ack([]).status_code == 202
    assert 0.05 <= time.perf_counter() - started < 0.6


def test_probability_faults_are_seeded(make_server):
    outcomes = []
    for _ in range(2):
        emulator, client = make_server()
        emulator.set_faults(Fault(kind="503", endpoint="ack", probability=0.5), seed=42)
        outcomes.append([client.ack([]).status_code for _ in range(20)])
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {202, 503}


def test_times_caps_how_often_a_fault_fires(make_server):
    emulator, client = make_server()
    emulator.set_faults(Fault(kind="500", endpoint="any", times=2))
    assert [client.ack([]).status_code for _ in range(3)] == [500, 500, 202]


def test_fault_rules_reject_nonsense():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault(kind="teapot")
    with pytest.raises(ValueError, match="fetch endpoint only"):
        Fault(kind="empty_page", endpoint="ack")
    with pytest.raises(ValueError, match="probability"):
        Fault(kind="500", probability=2.0)


@pytest.mark.parametrize("delay", [-1.0, float("inf"), float("nan"), 1e309, 86_401.0])
def test_a_slow_fault_with_a_delay_that_cannot_be_waited_is_refused(delay):
    with pytest.raises(ValueError, match="delay_seconds must be 0 to 86400"):
        Fault(kind="slow", endpoint="fetch", delay_seconds=delay)
