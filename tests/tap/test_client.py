# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from tap_fakes import TOKEN, Reply, error_body, page, session_body

from tap_sell_sync.client import RateLimiter, SellClient
from tap_sell_sync.errors import RetriableError, SellApiError, SellAuthError, SessionLostError

DEVICE = "0f8fad5b-d9cb-469f-a165-70867728950e"


def make_client(url: str, **kwargs) -> SellClient:
    options = {
        "api_url": url,
        "access_token": TOKEN,
        "user_agent": "tap-sell-sync/test",
        "timeout": 2.0,
        "max_requests_per_second": 0,
        "max_tries": 4,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
    }
    options.update(kwargs)
    return SellClient(**options)


def test_every_call_sends_token_accept_user_agent_and_device_headers(fake_sell):
    fake_sell.scripts["start"] = [Reply(201, session_body("S9", 3))]
    fake_sell.scripts["fetch"] = [Reply(200, page([]))]
    client = make_client(fake_sell.url)

    session = client.start_session(DEVICE)
    assert session is not None
    assert session.session_id == "S9"
    assert session.total_count == 3
    assert client.fetch_page("S9", DEVICE) is not None
    client.ack(["k1", "k2"], DEVICE)

    assert [r.path for r in fake_sell.requests] == [
        "/v2/sync/start",
        "/v2/sync/S9/queues/main",
        "/v2/sync/ack",
    ]
    for seen in fake_sell.requests:
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["Accept"] == "application/json"
        assert seen.headers["User-Agent"] == "tap-sell-sync/test"
        assert seen.headers["X-Basecrm-Device-UUID"] == DEVICE
    ack = fake_sell.requests[-1]
    assert ack.headers["Content-Type"] == "application/json"
    assert json.loads(ack.body) == {"data": {"ack_keys": ["k1", "k2"]}}


def test_start_204_means_nothing_to_sync_and_fetch_204_means_drained(fake_sell):
    client = make_client(fake_sell.url)
    assert client.start_session(DEVICE) is None
    assert client.fetch_page("S1", DEVICE) is None


def test_429_and_5xx_are_retried_until_success_on_all_three_calls(fake_sell):
    fake_sell.scripts["start"] = [Reply(429), Reply(503), Reply(201, session_body())]
    fake_sell.scripts["fetch"] = [Reply(500), Reply(200, page([]))]
    fake_sell.scripts["ack"] = [Reply(502), Reply(429), Reply(202)]
    client = make_client(fake_sell.url)

    assert client.start_session(DEVICE) is not None
    assert client.fetch_page("S1", DEVICE) is not None
    client.ack(["k"], DEVICE)

    assert len(fake_sell.calls("start")) == 3
    assert len(fake_sell.calls("fetch")) == 2
    assert len(fake_sell.calls("ack")) == 3
    assert client.counters.retries == 5


def test_retry_after_header_sets_the_wait(fake_sell):
    fake_sell.scripts["ack"] = [Reply(429, headers={"Retry-After": "0.4"}), Reply(202)]
    client = make_client(fake_sell.url, backoff_base=0.001, backoff_cap=0.001)
    began = time.monotonic()
    client.ack(["k"], DEVICE)
    assert time.monotonic() - began >= 0.4


def test_dropped_connections_and_non_json_bodies_are_retried(fake_sell):
    fake_sell.scripts["fetch"] = [
        Reply(drop=True),
        Reply(200, b"{not json"),
        Reply(200, page([{"x": 1}])),
    ]
    client = make_client(fake_sell.url)
    result = client.fetch_page("S1", DEVICE)
    assert result is not None
    assert result.items == [{"x": 1}]
    assert len(fake_sell.calls("fetch")) == 3


def test_timeouts_are_retried(fake_sell):
    fake_sell.scripts["ack"] = [Reply(202, delay=0.6), Reply(202)]
    client = make_client(fake_sell.url, timeout=0.2)
    client.ack(["k"], DEVICE)
    assert len(fake_sell.calls("ack")) == 2
    assert client.counters.by_call["ack timeout"] == 1


def test_giving_up_after_retries_reports_status_and_logref(fake_sell):
    fake_sell.defaults["ack"] = Reply(503, error_body("temporarily_unavailable", "REF-503"))
    client = make_client(fake_sell.url, max_tries=3)
    with pytest.raises(RetriableError) as caught:
        client.ack(["k"], DEVICE)
    assert len(fake_sell.calls("ack")) == 3
    assert "503" in str(caught.value)
    assert "REF-503" in str(caught.value)


def test_401_fails_at_once_saying_the_token_was_rejected(fake_sell):
    fake_sell.defaults["start"] = Reply(401, error_body("unauthorized", "REF-AUTH"))
    client = make_client(fake_sell.url)
    with pytest.raises(SellAuthError) as caught:
        client.start_session(DEVICE)
    message = str(caught.value)
    assert len(fake_sell.calls("start")) == 1
    assert "rejected the access token (401" in message
    assert "valid and has not expired" in message
    assert "scope" not in message
    assert "REF-AUTH" in message
    assert TOKEN not in message


def test_403_fails_at_once_naming_sync_scope_and_plan(fake_sell):
    fake_sell.defaults["start"] = Reply(403, error_body("insufficient_scope", "REF-AUTH"))
    client = make_client(fake_sell.url)
    with pytest.raises(SellAuthError) as caught:
        client.start_session(DEVICE)
    message = str(caught.value)
    assert len(fake_sell.calls("start")) == 1
    assert "'sync' scope" in message
    assert "Sync API" in message
    assert "Growth" in message
    assert "REF-AUTH" in message
    assert "403" in message
    assert TOKEN not in message


def test_an_error_text_sent_as_both_message_and_details_is_shown_once(fake_sell):
    text = "too many requests for this token"
    envelope = {"errors": [{"error": {"code": "rate_limit", "message": text, "details": text}}]}
    fake_sell.defaults["start"] = Reply(429, envelope)
    client = make_client(fake_sell.url, max_tries=1)
    with pytest.raises(RetriableError) as caught:
        client.start_session(DEVICE)
    assert str(caught.value).count(text) == 1
    assert "rate_limit" in str(caught.value)


def test_a_404_on_start_with_an_api_url_ending_in_v2_hints_at_the_base_url(fake_sell):
    fake_sell.defaults["start"] = Reply(404, error_body("not_found"))
    with pytest.raises(SellApiError) as caught:
        make_client(fake_sell.url + "/v2").start_session(DEVICE)
    assert "without /v2" in str(caught.value)
    with pytest.raises(SellApiError) as caught:
        make_client(fake_sell.url).start_session(DEVICE)
    assert "/v2" not in str(caught.value)


def test_a_connection_failure_names_the_host(fake_sell):
    closed = fake_sell.url.rsplit(":", 1)[0] + ":9"
    with pytest.raises(RetriableError) as caught:
        make_client(closed, max_tries=1).start_session(DEVICE)
    assert "127.0.0.1:9" in str(caught.value)


def test_logref_falls_back_to_the_request_id_header(fake_sell):
    fake_sell.defaults["start"] = Reply(422, b"oops", headers={"X-Request-Id": "HDR-REF"})
    client = make_client(fake_sell.url)
    with pytest.raises(SellApiError) as caught:
        client.start_session(DEVICE)
    assert "HDR-REF" in str(caught.value)
    assert "422" in str(caught.value)


def test_404_on_fetch_means_the_session_is_lost(fake_sell):
    fake_sell.defaults["fetch"] = Reply(404, error_body("not_found"))
    client = make_client(fake_sell.url)
    with pytest.raises(SessionLostError):
        client.fetch_page("gone", DEVICE)
    assert len(fake_sell.calls("fetch")) == 1


def test_redirects_are_not_followed(fake_sell):
    fake_sell.defaults["start"] = Reply(302, headers={"Location": "http://127.0.0.2:9/x"})
    client = make_client(fake_sell.url)
    with pytest.raises(SellApiError) as caught:
        client.start_session(DEVICE)
    message = str(caught.value)
    assert "302" in message
    assert "redirect to 127.0.0.2:9" in message
    assert "refuses redirects" in message
    assert "/x" not in message
    assert len(fake_sell.requests) == 1


def test_start_without_a_session_id_is_retried_then_fails(fake_sell):
    fake_sell.defaults["start"] = Reply(201, {"data": {}})
    client = make_client(fake_sell.url, max_tries=2)
    with pytest.raises(RetriableError):
        client.start_session(DEVICE)
    assert len(fake_sell.calls("start")) == 2


def test_page_without_items_is_reported_as_malformed_not_as_the_end(fake_sell):
    fake_sell.scripts["fetch"] = [Reply(200, {"meta": {}})]
    client = make_client(fake_sell.url)
    result = client.fetch_page("S1", DEVICE)
    assert result is not None
    assert result.items == []
    assert not result.well_formed


def test_decimals_in_pages_are_read_exactly(fake_sell):
    fake_sell.scripts["fetch"] = [Reply(200, b'{"items":[{"v":1000.10}],"meta":{}}')]
    client = make_client(fake_sell.url)
    result = client.fetch_page("S1", DEVICE)
    assert result is not None
    assert str(result.items[0]["v"]) == "1000.10"


def test_rate_limiter_spaces_request_starts():
    limiter = RateLimiter(20)
    began = time.monotonic()
    for _ in range(6):
        limiter.wait()
    assert time.monotonic() - began >= 5 / 20 - 0.01


def test_client_repr_does_not_show_the_token(fake_sell):
    client = make_client(fake_sell.url)
    assert TOKEN not in repr(client)
    assert TOKEN not in str(vars(client).get("counters"))


@pytest.mark.parametrize("status", [429, 409, 422])
def test_the_session_cap_on_start_says_what_to_do(fake_sell, status):
    fake_sell.defaults["start"] = Reply(status, error_body("too_many_sessions"))
    with pytest.raises(SellApiError) as caught:
        make_client(fake_sell.url, max_tries=1).start_session(DEVICE)
    assert "100 active sync sessions" in str(caught.value)
    assert "run again later" in str(caught.value)


def test_other_start_errors_carry_no_session_cap_hint(fake_sell):
    fake_sell.defaults["start"] = Reply(429, error_body("rate_limit"))
    with pytest.raises(SellApiError) as caught:
        make_client(fake_sell.url, max_tries=1).start_session(DEVICE)
    assert "sync sessions" not in str(caught.value)


@pytest.mark.parametrize(
    ("name_bytes", "expected", "repaired"),
    [
        (b'"a\\ud83d b"', "a\ufffd b", 1),  # a lone surrogate escape
        (b'"caf\xe9"', "caf\ufffd", 1),  # Latin-1, not UTF-8
        (b'"ok \\ud83d\\ude00"', "ok \U0001f600", 0),  # a proper pair stays as it is
    ],
    ids=["lone surrogate", "invalid utf-8", "surrogate pair"],
)
def test_a_page_with_text_that_is_not_valid_unicode_is_read_with_replacement_characters(
    fake_sell, name_bytes, expected, repaired
):
    body = (
        b'{"items": [{"data": {"id": 1, "name": '
        + name_bytes
        + b', "value": 12.50}, "meta": {"type": "deal", "sync": {"event_type": "created", '
        b'"ack_key": "D-1-1", "revision": 1}}}], "meta": {"count_left": 0}}'
    )
    fake_sell.scripts["fetch"] = [Reply(200, body)]
    client = make_client(fake_sell.url, max_tries=1)
    page = client.fetch_page("S1", DEVICE)
    assert page is not None
    (entry,) = page.items
    assert entry["data"]["name"] == expected
    assert entry["data"]["value"] == Decimal("12.50")
    assert entry["meta"]["sync"]["ack_key"] == "D-1-1"
    assert client.counters.repaired_strings == repaired


@pytest.mark.parametrize("body", [b'{"items": [NaN]}', b'{"items": [Infinity]}', b"{oops"])
def test_a_page_that_is_not_json_even_when_read_leniently_is_retried(fake_sell, body):
    fake_sell.scripts["fetch"] = [Reply(200, body)]
    with pytest.raises(RetriableError) as caught:
        make_client(fake_sell.url, max_tries=1).fetch_page("S1", DEVICE)
    assert "not JSON" in str(caught.value)
