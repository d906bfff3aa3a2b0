# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""``--test`` against the emulator: ERROR lines only when something really failed."""

from __future__ import annotations

from tap_fakes import run_tap

from sell_sync_emulator import Emulator, EmulatorConfig, serve


def _config(emulator: Emulator, url: str, **overrides: object) -> dict:
    config = {
        "access_token": emulator.config.token,
        "api_url": url,
        "max_requests_per_second": 1000,
    }
    config.update(overrides)
    return config


def test_a_successful_connection_test_reads_one_page_and_logs_no_error_line(tmp_path):
    emulator = Emulator(EmulatorConfig(seed=7, objects=300, page_size=100, rate_limit_per_hour=0))
    with serve(emulator) as server:
        run = run_tap(tmp_path, _config(emulator, server.url), extra_args=["--test"])
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.records()
    assert run.error_lines() == [], run.error_lines()[:3]
    assert "unhandled error" not in run.stderr
    # One page shows that the settings work; the rest of the queue is left to real runs.
    assert emulator.counters()["requests"]["fetch"] == {200: 1}
    assert len(emulator.delivery_log()) == 100
    assert "Drain stopped early: a connection test (--test) reads one page" in run.stderr


def test_a_connection_test_with_a_rejected_token_logs_one_error_line(tmp_path):
    emulator = Emulator(EmulatorConfig(seed=7, objects=10, rate_limit_per_hour=0))
    with serve(emulator) as server:
        config = _config(emulator, server.url, access_token="b" * 64)
        run = run_tap(tmp_path, config, extra_args=["--test"])
    assert run.returncode == 1
    errors = run.error_lines()
    assert len(errors) == 1, run.stderr[-3000:]
    assert "rejected the access token (401" in errors[0]
