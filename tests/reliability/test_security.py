# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Security: the token never shows, plain http only to loopback, redirects never carry the
token, and the emulator's control interface is reachable from loopback only."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from scripted_sell import TOKEN, Reply, ScriptedSell, item, page, run_tap, session, state_with

from sell_sync_emulator import Emulator, EmulatorConfig, Fault, serve
from sell_sync_emulator.server import _is_loopback

OTHER_LOOPBACK = "127.0.0.2"
EMULATOR = str(Path(sys.executable).parent / "sell-sync-emulator")
FAULTS_ON_EVERY_ENDPOINT = [
    Fault(kind, endpoint=endpoint, probability=0.15, times=2)
    for endpoint in ("start", "fetch", "ack")
    for kind in ("429", "500", "503", "drop_before_body", "drop_mid_body", "not_json")
] + [
    Fault("empty_page", endpoint="fetch", probability=0.2),
    Fault("failed_objects", endpoint="fetch", probability=0.2),
    Fault("slow", endpoint="any", probability=0.1, delay_seconds=1.5, times=2),
    Fault("expired_session", endpoint="fetch", on_calls=(6,)),
]


def _fast(url: str, **extra: object) -> dict:
    return {
        "access_token": TOKEN,
        "api_url": url,
        "request_timeout": 1,
        "max_requests_per_second": 1000,
        "max_retry_seconds": 2,
        **extra,
    }


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Every pipeline and command of this file, run with the recognisable token."""
    base = tmp_path_factory.mktemp("token")
    debug = {"PATH": "/usr/bin:/bin", "TAP_SELL_SYNC_LOGLEVEL": "DEBUG"}
    runs = {}
    emulator = Emulator(
        EmulatorConfig(seed=5, objects=150, page_size=20, token=TOKEN, rate_limit_per_hour=0)
    )
    with serve(emulator) as server:
        emulator.set_faults(*FAULTS_ON_EVERY_ENDPOINT, seed=3)
        state = None
        for number in range(4):
            run = run_tap(base / f"faults-{number}", _fast(server.url), state=state, env=debug)
            runs[f"run {number} under faults, debug log"] = run
            state = run.last_state or state
            emulator.mutate(creates=5, updates=5, deletes=5, seed=number)
        emulator.set_faults()
        refused = {"access_token": TOKEN + "x", "api_url": server.url}
        jobs = {
            "token refused (401)": (refused, None, debug),
            "token as the value of another setting": (_fast(server.url, request_timeout=TOKEN),),
            "token as the device uuid": (_fast(server.url, device_uuid=TOKEN),),
            "token inside the url": (_fast(f"http://{TOKEN}@127.0.0.1:9"),),
            "token from the environment, refused": (
                {"api_url": server.url},
                None,
                {**debug, "TAP_SELL_SYNC_ACCESS_TOKEN": TOKEN + "y"},
                ["--config", "ENV"],
            ),
            "about as text": (_fast(server.url), None, None, ["--about"]),
            "about as json": (_fast(server.url), None, None, ["--about", "--format=json"]),
            "about as markdown": (_fast(server.url), None, None, ["--about", "--format=markdown"]),
            "discover": (_fast(server.url), None, debug, ["--discover"]),
            "connection test": (_fast(server.url), None, debug, ["--test"]),
        }
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = {
                name: pool.submit(
                    lambda name, args: run_tap(
                        base / name.replace(" ", "_"),
                        args[0],
                        state=args[1] if len(args) > 1 else None,
                        env=args[2] if len(args) > 2 else None,
                        extra_args=args[3] if len(args) > 3 else None,
                    ),
                    name,
                    args,
                )
                for name, args in jobs.items()
            }
            runs.update({name: future.result() for name, future in futures.items()})
        scope = Emulator(EmulatorConfig(objects=5, token=TOKEN, insufficient_scope=True))
        with serve(scope) as scoped:
            runs["token without the sync scope (403)"] = run_tap(
                base / "scope", _fast(scoped.url), env=debug
            )
    return runs


def test_the_token_appears_in_no_output_of_any_pipeline_or_command(outputs):
    assert len(outputs) == 15
    for name, run in outputs.items():
        assert TOKEN not in run.stdout, name
        assert TOKEN not in run.stderr, name
        assert "Traceback" not in run.stderr, name
    # The runs did real work: records, states, errors and the catalog are all in what was searched.
    assert any(run.records() for run in outputs.values())
    assert outputs["run 0 under faults, debug log"].last_state is not None
    assert "DEBUG" in outputs["run 0 under faults, debug log"].stderr
    assert outputs["token refused (401)"].returncode == 1
    assert "401" in outputs["token refused (401)"].error_lines()[0]
    assert outputs["token without the sync scope (403)"].returncode == 1
    assert outputs["token as the value of another setting"].returncode == 1
    assert "<redacted>" in outputs["token as the value of another setting"].stderr
    assert json.loads(outputs["discover"].stdout)["streams"]
    assert json.loads(outputs["about as json"].stdout)["name"] == "tap-sell-sync"


# Refused addresses are unroutable or never resolve (TEST-NET-1, the .invalid domain), so a
# tap that wrongly accepted one could still reach nothing but loopback.
PLAIN_HTTP = {
    "http://127.0.0.1:9": True,
    "http://127.8.9.10:9": True,
    "http://localhost:9": True,
    "http://LOCALHOST:9": True,
    "http://[::1]:9": True,
    "http://192.0.2.1": False,
    "http://sell.invalid": False,
    "http://[::ffff:192.0.2.1]": False,
    "http://127.0.0.1.invalid": False,
    "http://localhost.invalid": False,
    "http://0.0.0.0:9": False,
    "http://127.1:9": False,
    "http://127.0.0.1@sell.invalid": False,
    "http://sell.invalid#@127.0.0.1": False,
    "http://sell.invalid\\@127.0.0.1": False,
}


@pytest.fixture(scope="module")
def plain_http_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("http")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            url: pool.submit(
                run_tap,
                base / str(number),
                {**_fast(url), "max_retry_seconds": 0.5},
            )
            for number, url in enumerate(PLAIN_HTTP)
        }
        return {url: future.result() for url, future in futures.items()}


@pytest.mark.parametrize("url", list(PLAIN_HTTP))
def test_plain_http_is_refused_except_for_loopback(plain_http_runs, url):
    run = plain_http_runs[url]
    assert "Traceback" not in run.stderr
    assert run.returncode == 1
    [error] = run.error_lines()
    if PLAIN_HTTP[url]:
        # Accepted: the run went on to connect (to a closed loopback port) and gave up.
        assert "https" not in error
        assert "connection" in error
    else:
        assert "api_url" in error
        assert "plain http is allowed only for loopback" in error or "credentials" in error


def _redirect(to: str) -> Reply:
    return Reply(307, b"", headers={"Location": to})


@pytest.mark.parametrize("call", ["start", "fetch", "ack"])
def test_a_redirect_to_another_host_is_not_followed_and_never_carries_the_token(tmp_path, call):
    with ScriptedSell() as sell, ScriptedSell(host=OTHER_LOOPBACK) as elsewhere:
        target = f"{elsewhere.url}/v2/sync/{call}"
        if call == "start":
            sell.script("start", _redirect(target))
        elif call == "fetch":
            sell.script("start", session())
            sell.script("fetch", _redirect(target))
        else:
            sell.script("ack", _redirect(target))
        run = run_tap(tmp_path, _fast(sell.url), state=state_with(["Lead-1-1"]))
    assert elsewhere.requests == []
    assert run.returncode == 1
    assert "307" in run.error_lines()[0]
    assert "Traceback" not in run.stderr
    assert sell.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_requests_strips_authorization_when_a_redirect_changes_host_or_port():
    # The tap never follows redirects; this checks the library's own guard as a second line.
    with (
        ScriptedSell() as sell,
        ScriptedSell(host=OTHER_LOOPBACK) as elsewhere,
        ScriptedSell() as same_host,
    ):
        sell.script(
            "start",
            _redirect(f"{elsewhere.url}/v2/sync/start"),
            _redirect(f"{same_host.url}/v2/sync/start"),
        )
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {TOKEN}"
            for _ in range(2):
                http.post(f"{sell.url}/v2/sync/start", timeout=5)
    assert len(elsewhere.requests) == 1
    assert len(same_host.requests) == 1
    assert "Authorization" not in elsewhere.requests[0].headers
    assert "Authorization" not in same_host.requests[0].headers
    assert sell.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def test_the_emulator_command_binds_loopback_only_by_default():
    process = subprocess.Popen(
        [EMULATOR, "--port", "0", "--objects", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"SELL_SYNC_EMULATOR_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        host, port = url.removeprefix("http://").rsplit(":", 1)
        assert host == "127.0.0.1"
        assert _reachable("127.0.0.1", int(port))
        # Bound to 127.0.0.1 itself, not to every address: another loopback address is refused.
        assert not _reachable(OTHER_LOOPBACK, int(port))
        control = requests.get(f"{url}/_emulator/counters", timeout=5)
        assert control.status_code == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert TOKEN not in url + stderr


def test_the_in_process_emulator_binds_loopback_only_by_default():
    emulator = Emulator(EmulatorConfig(objects=5, token=TOKEN))
    with serve(emulator) as server:
        assert server.host == "127.0.0.1"
        assert _reachable("127.0.0.1", server.port)
        assert not _reachable(OTHER_LOOPBACK, server.port)


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.1", False),
        ("192.168.1.20", False),
        ("169.254.169.254", False),
        ("::ffff:10.0.0.1", False),
        ("fe80::1%eth0", False),
        ("not an address", False),
    ],
)
def test_the_control_interface_guard_accepts_loopback_peers_only(peer, loopback):
    assert _is_loopback(peer) is loopback


def test_a_fetch_page_with_the_token_in_its_data_is_emitted_but_never_logged(tmp_path):
    # Data is the user's: the token inside a record is emitted as data, never logged.
    with ScriptedSell() as sell:
        sell.script("start", session())
        sell.script("fetch", page([item("tag", {"id": 1, "name": "x", "bogus": TOKEN}, "Tag-1-1")]))
        run = run_tap(tmp_path, _fast(sell.url))
    assert run.returncode == 0
    assert TOKEN not in run.stderr


def _echoing(status: int) -> Reply:
    """An error reply whose body and headers echo the token, as a careless proxy might."""
    body = {
        "errors": [{"error": {"code": "unauthorized", "message": f"bad token {TOKEN}"}}],
        "meta": {"type": "errors", "logref": TOKEN},
    }
    return Reply(status, body, headers={"X-Request-Id": TOKEN})


@pytest.mark.parametrize(
    ("call", "replies"),
    [
        ("start", [_echoing(503), _echoing(500), _echoing(401)]),
        ("fetch", [_echoing(503), _echoing(502), _echoing(404)]),
        ("ack", [_echoing(503), _echoing(400)]),
    ],
)
def test_error_replies_that_echo_the_token_never_put_it_in_any_line(tmp_path, call, replies):
    with ScriptedSell() as sell:
        if call != "start":
            sell.script("start", session())
        sell.script(call, *replies)
        state = state_with(["Tag-9-1"]) if call == "ack" else None
        run = run_tap(tmp_path, _fast(sell.url), state=state)
    output = run.stdout + run.stderr
    assert TOKEN not in output
    assert "<redacted>" in run.stderr
    assert "Traceback" not in run.stderr
