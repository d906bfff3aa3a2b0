# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Settings and state mistakes through the real command: one line, exit code 1, no traceback."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from tap_fakes import TOKEN, run_tap

from sell_sync_emulator import Emulator, EmulatorConfig, serve

GOOD = {"access_token": TOKEN, "api_url": "http://127.0.0.1:9"}

SETTINGS_MISTAKES = {
    "token missing": ({"api_url": "http://127.0.0.1:9"}, "access_token"),
    "token empty": ({**GOOD, "access_token": ""}, "access_token"),
    "token a number": ({**GOOD, "access_token": 1234567}, "access_token"),
    "token with a space": ({**GOOD, "access_token": "ab cd"}, "access_token"),
    "device not a uuid": ({**GOOD, "device_uuid": "my-laptop"}, "device_uuid"),
    "device a number": ({**GOOD, "device_uuid": 42}, "device_uuid"),
    "url not http": ({**GOOD, "api_url": "ftp://api.getbase.com"}, "api_url"),
    "plain http to a remote host": ({**GOOD, "api_url": "http://api.getbase.com"}, "https"),
    "url garbage": ({**GOOD, "api_url": "not a url"}, "api_url"),
    "url with credentials": ({**GOOD, "api_url": "https://u:p@api.getbase.com"}, "api_url"),
    "url bad port": ({**GOOD, "api_url": "https://api.getbase.com:99999"}, "api_url"),
    "user agent empty": ({**GOOD, "user_agent": " "}, "user_agent"),
    "timeout zero": ({**GOOD, "request_timeout": 0}, "request_timeout"),
    "timeout text": ({**GOOD, "request_timeout": "ten"}, "request_timeout"),
    "rate zero": ({**GOOD, "max_requests_per_second": 0}, "max_requests_per_second"),
    "items negative": ({**GOOD, "max_items_per_run": -1}, "max_items_per_run"),
    "items fractional": ({**GOOD, "max_items_per_run": 1.5}, "max_items_per_run"),
    "seconds zero": ({**GOOD, "max_seconds_per_run": 0}, "max_seconds_per_run"),
    "retry seconds negative": ({**GOOD, "max_retry_seconds": -5}, "max_retry_seconds"),
    "ack batch zero": ({**GOOD, "ack_batch_size": 0}, "ack_batch_size"),
    "ack batch huge": ({**GOOD, "ack_batch_size": 50_000}, "ack_batch_size"),
    "policy not a bool": ({**GOOD, "ack_unknown_types": "yes"}, "ack_unknown_types"),
    "other policy not a bool": ({**GOOD, "ack_deselected_streams": 1}, "ack_deselected_streams"),
}


@pytest.fixture(scope="module")
def settings_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("settings")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(run_tap, base / name.replace(" ", "_"), config)
            for name, (config, _) in SETTINGS_MISTAKES.items()
        }
        return {name: future.result() for name, future in futures.items()}


def _assert_one_line_error(run, needle: str) -> None:
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    errors = run.error_lines()
    assert len(errors) == 1, run.stderr
    assert needle in errors[0]
    assert run.stdout == ""
    assert TOKEN not in run.stderr
    assert "1234567" not in run.stderr


@pytest.mark.parametrize("name", sorted(SETTINGS_MISTAKES))
def test_each_settings_mistake_ends_with_one_line_and_exit_code_1(settings_runs, name):
    _assert_one_line_error(settings_runs[name], SETTINGS_MISTAKES[name][1])


STATE_MISTAKES = {
    "empty file": ("", "empty"),
    "not json": ("{oops", "not JSON"),
    "a list": ("[]", "JSON object"),
    "bookmarks a list": ({"bookmarks": []}, "bookmarks"),
    "bookmark of wrong shape": ({"bookmarks": {"_sell_sync": {"ack_keys": ["a"]}}}, "_sell_sync"),
    "device not a uuid": (
        {"bookmarks": {"_sell_sync": {"format": 1, "device_uuid": "x", "pending": []}}},
        "device_uuid",
    ),
}


@pytest.mark.parametrize("name", sorted(STATE_MISTAKES))
def test_each_state_mistake_ends_with_one_line_and_exit_code_1(tmp_path, name):
    state, needle = STATE_MISTAKES[name]
    run = run_tap(tmp_path, GOOD, state=state if isinstance(state, str) else json.dumps(state))
    _assert_one_line_error(run, needle)


def test_missing_or_malformed_config_file_ends_with_one_line(tmp_path):
    run = run_tap(tmp_path, GOOD, extra_args=["--config", str(tmp_path / "nope.json")])
    _assert_one_line_error(run, "config file")


def test_discover_and_about_need_no_server_and_never_show_the_token(tmp_path):
    about = run_tap(tmp_path / "a", GOOD, extra_args=["--about", "--format=json"])
    assert about.returncode == 0
    capabilities = json.loads(about.stdout)["capabilities"]
    assert sorted(capabilities) == sorted(
        [
            "catalog",
            "discover",
            "state",
            "about",
            "stream-maps",
            "schema-flattening",
            "structured-logging",
            "log-based",
        ],
    )
    assert json.loads(about.stdout)["settings"]["properties"]["access_token"]["secret"] is True
    discover = run_tap(tmp_path / "d", GOOD, extra_args=["--discover"])
    catalog = json.loads(discover.stdout)
    assert len(catalog["streams"]) == 27
    for output in (about, discover):
        assert TOKEN not in output.stdout + output.stderr


def test_the_token_never_appears_in_any_output_of_a_run(tmp_path):
    emulator = Emulator(
        EmulatorConfig(seed=3, objects=300, page_size=40, token=TOKEN, rate_limit_per_hour=0),
    )
    with serve(emulator) as server:
        config = {"access_token": TOKEN, "api_url": server.url, "max_requests_per_second": 100}
        first = run_tap(tmp_path / "1", config)
        emulator.mutate(creates=3, updates=3, deletes=3, seed=1)
        second = run_tap(tmp_path / "2", config, state=first.last_state)
        refused = run_tap(tmp_path / "3", {**config, "access_token": TOKEN + "x"})
    assert first.returncode == 0
    assert second.returncode == 0
    assert refused.returncode == 1
    for run in (first, second, refused):
        assert TOKEN not in run.stdout
        assert TOKEN not in run.stderr
