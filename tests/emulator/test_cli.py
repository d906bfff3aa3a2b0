# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The sell-sync-emulator command."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sell_sync_emulator import DEFAULT_TOKEN
from sell_sync_emulator.__main__ import main

COMMAND = str(Path(sys.executable).with_name("sell-sync-emulator"))
TOKEN = "cli-token-" + "c" * 54


def test_command_prints_its_url_first_and_serves_the_protocol():
    process = subprocess.Popen(
        [COMMAND, "--port", "0", "--objects", "40", "--seed", "3", "--page-size", "25",
         "--token", TOKEN, "--rate-limit", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        headers = {
            "Authorization": f"Bearer {TOKEN}",
            "User-Agent": "cli-test",
            "X-Basecrm-Device-UUID": "cli-device",
        }
        started = requests.post(f"{url}/v2/sync/start", headers=headers, timeout=10)
        assert started.status_code == 201
        assert started.json()["data"]["queues"][0]["data"]["pages"] == 2
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert TOKEN not in stdout + stderr


def test_command_rejects_bad_options_with_one_line():
    result = subprocess.run(
        [COMMAND, "--page-size", "0"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "sell-sync-emulator: error: page_size must be at least 1, got 0"
    )
    assert "Traceback" not in result.stderr


def test_client_hanging_up_on_a_slow_reply_leaves_no_noise():
    process = subprocess.Popen(
        [COMMAND, "--objects", "10", "--token", TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        rule = {"kind": "slow", "endpoint": "ack", "delay_seconds": 0.4}
        assert requests.post(f"{url}/_emulator/faults/add", json=rule, timeout=5).ok
        headers = {
            "Authorization": f"Bearer {TOKEN}",
            "User-Agent": "cli-test",
            "X-Basecrm-Device-UUID": "cli-device",
        }
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(
                f"{url}/v2/sync/ack", headers=headers, json={"data": {"ack_keys": []}}, timeout=0.1
            )
        time.sleep(0.6)
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=10)
    assert stderr == ""
    assert stdout == ""  # nothing after the URL line


PORT_RANGE = "argument --port: a port is 0 to 65535 (0 picks a free one), got"
OBJECT_RANGE = "must be 0 to 2,000,000, got"
NOT_FINITE = "must be a finite number of seconds, got"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--port", "-1"], f"{PORT_RANGE} -1"),
        (["--port", "99999"], f"{PORT_RANGE} 99999"),
        (["--port", "http"], "argument --port: invalid port value: 'http'"),
        (["--objects", "3000000"], f"argument --objects: {OBJECT_RANGE} 3000000"),
        (["--objects", "-1"], f"argument --objects: {OBJECT_RANGE} -1"),
        (["--unknown-type-objects", "-2"], f"argument --unknown-type-objects: {OBJECT_RANGE} -2"),
        (["--session-ttl", "nan"], f"argument --session-ttl: {NOT_FINITE} nan"),
        (["--latency", "inf"], f"argument --latency: {NOT_FINITE} inf"),
        (
            ["--latency", "-0.5"],
            "session_ttl_seconds must be positive and latency_seconds not negative",
        ),
        (
            ["--rate-burst", "0"],
            "rate_limit_per_hour must be 0 or more and rate_limit_burst at least 1",
        ),
        (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_out_of_range_options_end_with_one_line_and_status_2(capsys, arguments, message):
    with pytest.raises(SystemExit) as stopped:
        main(arguments)
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"sell-sync-emulator: error: {message}\n"


def test_command_rejects_a_port_out_of_range_without_a_traceback():
    result = subprocess.run(
        [COMMAND, "--port", "-1"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert result.stderr == f"sell-sync-emulator: error: {PORT_RANGE} -1\n"


REFUSAL_LINE = "sell-sync-emulator: error: the token must be non-empty and contain no whitespace\n"


@pytest.fixture
def no_serving(monkeypatch):
    """Make the command fail the test instead of serving, should it accept its arguments."""

    def refuse_to_start(_emulator, host, port):
        message = f"the command accepted its arguments and went on to bind {host}:{port}"
        raise AssertionError(message)

    monkeypatch.setattr("sell_sync_emulator.__main__.start_server", refuse_to_start)
    monkeypatch.delenv("SELL_SYNC_EMULATOR_TOKEN", raising=False)


@pytest.mark.parametrize("token", ["", "a b", " "])
@pytest.mark.usefixtures("no_serving")
def test_empty_or_spaced_token_is_refused_never_replaced_by_the_built_in_one(capsys, token):
    with pytest.raises(SystemExit) as stopped:
        main(["--token", token, "--objects", "0"])
    assert stopped.value.code == 2
    assert capsys.readouterr() == ("", REFUSAL_LINE)


@pytest.mark.usefixtures("no_serving")
def test_empty_token_variable_is_refused_never_replaced_by_the_built_in_one(monkeypatch, capsys):
    monkeypatch.setenv("SELL_SYNC_EMULATOR_TOKEN", "")
    with pytest.raises(SystemExit) as stopped:
        main(["--objects", "0"])
    assert stopped.value.code == 2
    assert capsys.readouterr() == ("", REFUSAL_LINE)


def test_help_and_docs_name_the_built_in_token_on_one_line(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal must not split the token
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    assert f"  {DEFAULT_TOKEN}\n" in capsys.readouterr().out
    docs = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"
    assert f"`{DEFAULT_TOKEN}`" in docs.read_text(encoding="utf-8")
