# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Tokens that cannot be sent and --catalog files that cannot be read: one line, exit code 1."""

from __future__ import annotations

import os
import subprocess

import pytest
from tap_fakes import TAP, run_tap

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
}


@pytest.mark.parametrize("name", list(ENV_MISTAKES))
def test_an_environment_variable_that_cannot_be_read_ends_with_one_line(name):
    variable, value = ENV_MISTAKES[name]
    environment = {
        **os.environ,
        "TAP_SELL_SYNC_ACCESS_TOKEN": "a-good-token",
        "TAP_SELL_SYNC_API_URL": "http://127.0.0.1:9",
        variable: value,
    }
    run = subprocess.run(
        [TAP, "--config", "ENV"],
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
