# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Rate limiting per token and the cap on active sessions."""

from __future__ import annotations

import time


def test_requests_beyond_the_burst_get_429_envelope(make_server):
    # One request every 10 s: nothing refills while the test runs, however slow the machine.
    emulator, client = make_server(rate_limit_per_hour=360, rate_limit_burst=5)
    statuses = [client.ack([]).status_code for _ in range(8)]
    assert statuses == [202] * 5 + [429] * 3
    limited = client.ack([])
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["error"]["code"] == "rate_limit_exceeded"
    assert "Retry-After" not in limited.headers
    assert emulator.counters()["rate_limited"] >= 2


def test_the_bucket_refills_at_the_hourly_rate(make_server):
    _emulator, client = make_server(rate_limit_per_hour=7_200, rate_limit_burst=1)
    assert client.ack([]).status_code == 202
    assert client.ack([]).status_code == 429
    time.sleep(0.6)  # 2 requests a second: one is allowed again after 0.5 s
    assert client.ack([]).status_code == 202


def test_retry_after_option_adds_the_header(make_server):
    _emulator, client = make_server(rate_limit_per_hour=3_600, rate_limit_burst=1, retry_after=True)
    client.ack([])
    limited = client.ack([])
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1


def test_bad_tokens_do_not_spend_the_budget(make_server):
    _emulator, client = make_server(rate_limit_per_hour=360, rate_limit_burst=2)
    good_token = client.token
    client.token = "wrong"  # noqa: S105 - a deliberately bad token
    assert {client.ack([]).status_code for _ in range(5)} == {401}
    client.token = good_token
    assert client.ack([]).status_code == 202


def test_start_beyond_the_active_session_cap_gets_429_too_many_sessions(make_server):
    emulator, client = make_server(max_active_sessions=3)
    sessions = [client.session() for _ in range(3)]
    refused = client.start()
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["error"]["code"] == "too_many_sessions"
    # Draining one frees a place.
    while client.fetch(sessions[0]).status_code == 200:
        pass
    assert client.start().status_code == 201
    assert emulator.counters()["active_sessions"] == 3


def test_session_cap_default_is_100_and_status_is_configurable(make_server):
    emulator, client = make_server(session_cap_status=409)
    for _ in range(100):
        assert client.start().status_code == 201
    refused = client.start()
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["error"]["code"] == "too_many_sessions"
    assert emulator.expire_sessions() == 100
    assert client.start().status_code == 201
