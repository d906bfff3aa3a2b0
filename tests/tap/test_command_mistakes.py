# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Tokens that cannot be sent and --catalog files that cannot be read: one line, exit code 1."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from tap_fakes import TAP, Reply, item, page, run_tap, session_body

NOT_LATIN_1_TOKEN = "\u0442\u043e\u043a\u0435\u043d123"  # noqa: S105 - a test value
CONFIG = {"access_token": NOT_LATIN_1_TOKEN, "api_url": "http://127.0.0.1:9"}
GOOD = {"access_token": "a-good-token", "api_url": "http://127.0.0.1:9"}


def _assert_one_line_error(run, needle: str) -> None:
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    errors = run.error_lines()
    assert len(errors) == 1, run.stderr
    assert needle in errors[0], errors[0]
    assert run.stdout == ""


@pytest.mark.parametrize("args", [[], ["--test"]], ids=["run", "test"])
def test_a_token_that_cannot_go_in_a_header_ends_with_one_line(tmp_path, args):
    run = run_tap(tmp_path, CONFIG, extra_args=args)
    _assert_one_line_error(run, "HTTP header")
    assert NOT_LATIN_1_TOKEN not in run.stderr


CATALOG_FILES = {
    "missing": (None, "No such file"),
    "empty": ("", "is empty"),
    "not JSON": ("{oops", "is not JSON"),
    "a list": ("[]", "JSON object"),
    "a string": ('"streams"', "JSON object"),
    "nested too deeply": ('{"streams": ' + "[" * 100_000, "nested too deeply"),
}


@pytest.mark.parametrize("name", list(CATALOG_FILES))
def test_a_catalog_file_that_cannot_be_used_ends_with_one_line(tmp_path, name):
    text, needle = CATALOG_FILES[name]
    path = tmp_path / "catalog.json"
    if text is not None:
        path.write_text(text)
    run = run_tap(tmp_path / "run", GOOD, extra_args=["--catalog", str(path)])
    _assert_one_line_error(run, needle)
    assert "catalog file" in run.error_lines()[0]


ENV_MISTAKES = {
    "an integer setting given as words": ("TAP_SELL_SYNC_MAX_ITEMS_PER_RUN", "abc"),
    "an integer setting given as a fraction": ("TAP_SELL_SYNC_ACK_BATCH_SIZE", "10.5"),
    "stream maps that are not JSON": ("TAP_SELL_SYNC_STREAM_MAPS", "{oops"),
    "a policy switch given as a word the SDK would read as false": (
        "TAP_SELL_SYNC_ACK_DESELECTED_STREAMS",
        "maybe",
    ),
    "the flattening switch with a space": ("TAP_SELL_SYNC_FLATTENING_ENABLED", " true"),
}


@pytest.mark.parametrize("mode", [[], ["--discover"], ["--test"]], ids=["run", "discover", "test"])
@pytest.mark.parametrize("name", list(ENV_MISTAKES))
def test_an_environment_variable_that_cannot_be_read_ends_with_one_line(name, mode):
    variable, value = ENV_MISTAKES[name]
    environment = {
        **os.environ,
        "TAP_SELL_SYNC_ACCESS_TOKEN": "a-good-token",
        "TAP_SELL_SYNC_API_URL": "http://127.0.0.1:9",
        variable: value,
    }
    run = subprocess.run(
        [TAP, "--config", "ENV", *mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, run.stderr
    assert "TAP_SELL_SYNC_* environment variable" in errors[0]
    assert "a-good-token" not in run.stderr


def _tap_with_a_long_page(tmp_path, fake_sell) -> list[str]:
    fake_sell.scripts["start"] = [Reply(201, session_body("S1", 300))]
    fake_sell.scripts["fetch"] = [
        Reply(200, page([item("tag", {"id": n, "name": "t" * 50}) for n in range(1, 301)]))
    ]
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps({"access_token": "a-good-token", "api_url": fake_sell.url}))
    return [TAP, "--config", str(config_path)]


def _assert_one_output_error(returncode: int, stderr: str, reason: str) -> None:
    assert returncode == 1, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr
    errors = [line for line in stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, stderr[-2000:]
    assert f"cannot write to standard output: {reason}" in errors[0]


def test_a_target_that_stops_reading_ends_the_run_with_one_line(tmp_path, fake_sell):
    process = subprocess.Popen(
        _tap_with_a_long_page(tmp_path, fake_sell),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.read(100)
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    _assert_one_output_error(
        process.returncode, stderr.decode(), "the target stopped reading (broken pipe)"
    )
    assert fake_sell.calls("ack") == []


def test_a_full_disk_under_the_output_ends_the_run_with_one_line(tmp_path, fake_sell):
    with Path("/dev/full").open("wb") as full:
        done = subprocess.run(
            _tap_with_a_long_page(tmp_path, fake_sell),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    _assert_one_output_error(done.returncode, done.stderr, "No space left on device")


def test_a_misspelt_setting_is_named_in_a_warning_without_its_value(tmp_path):
    config = {**GOOD, "acces_token": "a-secret-under-a-typo", "max_retry_second": 5}
    run = run_tap(tmp_path, config, extra_args=["--discover"])
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "| WARNING" in line]
    assert any(
        "Unknown setting 'acces_token' is ignored (did you mean access_token?)" in line
        for line in warnings
    ), warnings
    assert any(
        "'max_retry_second' is ignored (did you mean max_retry_seconds?)" in line
        for line in warnings
    )
    assert "a-secret-under-a-typo" not in run.stderr + run.stdout


def test_config_env_reads_the_current_folders_env_file_only_for_variables_not_set(
    tmp_path, fake_sell
):
    fake_sell.scripts["start"] = [Reply(204)]
    (tmp_path / ".env").write_text(
        "TAP_SELL_SYNC_ACCESS_TOKEN=token-from-the-env-file\n"
        "TAP_SELL_SYNC_API_URL=http://127.0.0.1:9\n"
    )
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("TAP_SELL_SYNC_")
    }
    environment["TAP_SELL_SYNC_API_URL"] = fake_sell.url  # set: wins over the file
    done = subprocess.run(
        [TAP, "--config", "ENV"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (start,) = fake_sell.calls("start")
    assert start.headers["Authorization"] == "Bearer token-from-the-env-file"
    assert "token-from-the-env-file" not in done.stderr + done.stdout


def test_stream_maps_that_name_no_stream_or_mix_two_streams_are_warned_of(tmp_path):
    maps = {
        "deals": {"__alias__": "contacts"},
        "deal": {"note": "'x'"},
        "contacts_copy": {"__source__": "contcts"},
        "lead*": {"flag": "1"},
    }
    # Nothing listens at GOOD's address: the warnings come before the first request.
    run = run_tap(tmp_path, {**GOOD, "stream_maps": maps, "max_retry_seconds": 1})
    assert "Traceback" not in run.stderr
    warnings = [line for line in run.stderr.splitlines() if "| WARNING" in line]
    assert any(
        "stream_maps name streams this tap does not have, which nothing matches: "
        "contacts_copy, deal." in line
        for line in warnings
    ), warnings
    assert any(
        "send records of contacts and deals into one stream, contacts" in line for line in warnings
    ), warnings
    # A pattern that matches streams is fine.
    assert not any("lead*" in line for line in warnings)
