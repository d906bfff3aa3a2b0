# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The three endpoints: statuses, envelopes and header checks."""

from __future__ import annotations

import re

import pytest
import requests

from sell_sync_emulator import RESOURCE_TYPES

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def assert_error_envelope(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["errors"][0]["error"]["code"] == code
    assert body["errors"][0]["meta"]["type"] == "error"
    assert body["meta"]["type"] == "errors"
    assert body["meta"]["http_status"].startswith(f"{status} ")
    assert body["meta"]["logref"] == response.headers["X-Request-Id"]


def test_start_returns_201_with_session_envelope_and_queue_estimates(make_server):
    _emulator, client = make_server(objects=250, page_size=100)
    response = client.start()
    assert response.status_code == 201
    body = response.json()
    assert body["meta"] == {"type": "sync_session"}
    assert UUID.match(body["data"]["id"])
    (queue,) = body["data"]["queues"]
    assert queue["data"] == {"name": "main", "pages": 3, "total_count": 250}
    assert queue["meta"]["type"] == "sync_queue"
    assert queue["meta"]["links"]["self"] == (
        f"{client.url}/v2/sync/{body['data']['id']}/queues/main"
    )
    assert UUID.match(response.headers["X-Request-Id"])


def test_fetch_pages_have_items_with_sync_meta_then_204_when_drained(make_server):
    _emulator, client = make_server(objects=250, page_size=100)
    session_id = client.session()
    counts = []
    while True:
        response = client.fetch(session_id)
        if response.status_code == 204:
            assert response.content == b""
            break
        assert response.status_code == 200
        page = response.json()
        meta = page["meta"]
        assert meta["type"] == "collection"
        assert meta["count"] == len(page["items"])
        assert meta["failed_objects"] == []
        counts.append((meta["count"], meta["count_left"]))
        for item in page["items"]:
            assert item["meta"]["type"] in RESOURCE_TYPES
            sync = item["meta"]["sync"]
            assert sync["event_type"] == "created"
            assert isinstance(sync["ack_key"], str)
            assert isinstance(sync["revision"], int)
    assert counts == [(100, 150), (100, 50), (50, 0)]


def test_start_returns_204_with_empty_body_when_device_has_everything(make_server):
    _emulator, client = make_server()
    assert client.drain()
    response = client.start()
    assert response.status_code == 204
    assert response.content == b""


def test_ack_returns_202_with_empty_body(make_server):
    _emulator, client = make_server()
    response = client.ack(["Lead-1-1"])
    assert response.status_code == 202
    assert response.content == b""


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"Authorization": "Bearer wrong"}, 401, "unauthorized"),
        ({"Authorization": ""}, 401, "unauthorized"),
        ({"User-Agent": ""}, 400, "invalid_user_agent"),
        ({"X-Basecrm-Device-UUID": ""}, 400, "invalid_header"),
        ({"Accept": "text/xml"}, 406, "not_acceptable"),
    ],
)
def test_every_endpoint_checks_headers(make_server, change, status, code):
    _emulator, client = make_server()
    url = client.url
    headers = client.headers(**change)
    calls = [
        requests.post(f"{url}/v2/sync/start", headers=headers, timeout=5),
        requests.get(f"{url}/v2/sync/some-session/queues/main", headers=headers, timeout=5),
        requests.post(
            f"{url}/v2/sync/ack", headers=headers, json={"data": {"ack_keys": []}}, timeout=5
        ),
    ]
    for response in calls:
        assert_error_envelope(response, status, code)


def test_token_without_sync_scope_gets_403(make_server):
    _emulator, client = make_server(insufficient_scope=True)
    assert_error_envelope(client.start(), 403, "insufficient_scope")


def test_unknown_session_gets_404_envelope(make_server):
    _emulator, client = make_server()
    assert_error_envelope(client.fetch("no-such-session"), 404, "not_found")


def test_session_of_another_device_gets_404(make_server):
    _emulator, client = make_server()
    session_id = client.session()
    client.device = "another-device"
    assert_error_envelope(client.fetch(session_id), 404, "not_found")


def test_unknown_path_and_queue_get_404_and_wrong_method_405(make_server):
    _emulator, client = make_server()
    headers = client.headers()
    assert_error_envelope(
        requests.get(f"{client.url}/v2/deals", headers=headers, timeout=5), 404, "incorrect_path"
    )
    session_id = client.session()
    assert_error_envelope(
        requests.get(f"{client.url}/v2/sync/{session_id}/queues/other", headers=headers, timeout=5),
        404,
        "not_found",
    )
    assert_error_envelope(
        requests.get(f"{client.url}/v2/sync/start", headers=headers, timeout=5),
        405,
        "method_not_allowed",
    )


def test_ack_body_must_be_json_in_the_request_envelope(make_server):
    _emulator, client = make_server()
    url = f"{client.url}/v2/sync/ack"
    headers = client.headers()
    not_json = requests.post(url, headers=headers, data=b"ack!", timeout=5)
    assert_error_envelope(not_json, 400, "invalid_payload")
    bare = requests.post(url, headers=headers, json={"ack_keys": ["a"]}, timeout=5)
    assert_error_envelope(bare, 422, "incorrect_payload")
    not_strings = requests.post(url, headers=headers, json={"data": {"ack_keys": [1]}}, timeout=5)
    assert_error_envelope(not_strings, 422, "incorrect_payload")


def test_requests_are_counted_per_endpoint_and_status(make_server):
    emulator, client = make_server()
    client.drain()
    client.fetch("nope")
    counters = emulator.counters()
    assert counters["requests"]["start"] == {201: 1}
    assert counters["requests"]["fetch"] == {200: 2, 204: 1, 404: 1}
    assert counters["requests"]["ack"] == {202: 2}
    assert counters["items_delivered"] == 120
    assert counters["acks_received"] == 120


def test_drained_session_keeps_answering_204(make_server):
    _emulator, client = make_server()
    session_id = client.session()
    while client.fetch(session_id).status_code == 200:
        pass
    assert client.fetch(session_id).status_code == 204
    assert client.fetch(session_id).content == b""
