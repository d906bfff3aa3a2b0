# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""A tiny scriptable Sell server on loopback, and a runner of the real tap-sell-sync command.

Each of the three calls (start, fetch, ack) answers from its own list of replies, then from
a default. The server records every request with its headers, so tests can check what was
acked and which headers travelled.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import typing as t
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tap_sell_sync.state import pack_keys, read_bookmark

TAP = str(Path(sys.executable).parent / "tap-sell-sync")
TOKEN = "RELIABILITY-t0ken-4b1d9e0c7a2f"  # noqa: S105 - a fake, recognisable in any output
DEVICE = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER_DEVICE = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: object = None  # dict or list: JSON; bytes: raw; None: empty
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedSell:
    """A loopback HTTP server that answers start, fetch and ack calls from scripts."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.scripts: dict[str, list[Reply]] = {"start": [], "fetch": [], "ack": [], "other": []}
        self.defaults = {
            "start": Reply(204),
            "fetch": Reply(204),
            "ack": Reply(202),
            "other": Reply(404, {"error": "no such path"}),
        }
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with owner._lock:
                    owner.requests.append(Seen(self.command, self.path, dict(self.headers), body))
                    call = _call_of(self.path)
                    script = owner.scripts[call]
                    reply = script.pop(0) if script else owner.defaults[call]
                if reply.drop:
                    self.close_connection = True
                    return
                if isinstance(reply.body, bytes):
                    payload = reply.body
                elif reply.body is None:
                    payload = b""
                else:
                    payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.status != 204:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if reply.status != 204:
                    self.wfile.write(payload)

            do_GET = _answer  # noqa: N815 - http.server names
            do_POST = _answer  # noqa: N815

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> ScriptedSell:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, call: str, *replies: Reply) -> None:
        """Queue replies for one call."""
        self.scripts[call].extend(replies)

    def calls(self, call: str) -> list[Seen]:
        """The requests of one call."""
        return [r for r in self.requests if _call_of(r.path) == call]

    def acked(self) -> list[tuple[str, str]]:
        """(device, ack key) of every key the server received in an ack."""
        return [
            (r.headers.get("X-Basecrm-Device-UUID", ""), key)
            for r in self.calls("ack")
            for key in json.loads(r.body)["data"]["ack_keys"]
        ]


def _call_of(path: str) -> str:
    if path.endswith("/v2/sync/start"):
        return "start"
    if path.endswith("/v2/sync/ack"):
        return "ack"
    if "/queues/" in path:
        return "fetch"
    return "other"


def session(session_id: str = "S-1") -> Reply:
    """A 201 that starts a session."""
    return Reply(
        201,
        {
            "data": {
                "id": session_id,
                "queues": [
                    {"data": {"name": "main", "pages": 1, "total_count": 1}, "meta": {}},
                ],
            },
            "meta": {"type": "sync_session"},
        },
    )


def item(
    resource_type: str,
    data: object,
    ack_key: object,
    *,
    event_type: object = "created",
    revision: object = 1,
) -> dict[str, t.Any]:
    """One queue item as Sell sends it."""
    return {
        "data": data,
        "meta": {
            "type": resource_type,
            "sync": {"event_type": event_type, "ack_key": ack_key, "revision": revision},
        },
    }


def good_item(number: int) -> dict[str, t.Any]:
    """A readable tag item with ack key ``Tag-<number>-1``."""
    return item("tag", {"id": number, "name": f"tag {number}"}, f"Tag-{number}-1")


def page(items: list[t.Any], failed: list[t.Any] | None = None) -> Reply:
    """A 200 page of items."""
    return Reply(
        200,
        {
            "items": items,
            "meta": {
                "type": "collection",
                "count": len(items),
                "count_left": 0,
                "failed_objects": failed or [],
            },
        },
    )


def state_with(keys: list[str], device: str = DEVICE, *, for_device: str | None = None) -> dict:
    """A state as the tap writes it, with keys pending for a device."""
    return {
        "bookmarks": {
            "_sell_sync": {
                "format": 1,
                "device_uuid": device,
                "pending": [pack_keys(for_device or device, keys)] if keys else [],
            },
        },
    }


@dataclass
class TapRun:
    """What one run of the command printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def messages(self) -> list[dict[str, t.Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def records(self) -> list[dict[str, t.Any]]:
        return [m["record"] for m in self.messages if m.get("type") == "RECORD"]

    @property
    def last_state(self) -> dict[str, t.Any] | None:
        states = [m["value"] for m in self.messages if m.get("type") == "STATE"]
        return states[-1] if states else None

    def pending(self) -> set[str]:
        """Every ack key pending in the last state."""
        state = self.last_state
        if state is None:
            return set()
        bookmark = state["bookmarks"].get("_sell_sync")
        return {key for keys in read_bookmark(bookmark).pending.values() for key in keys}

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "| ERROR" in line]


def run_tap(  # noqa: PLR0913
    workdir: Path,
    config: object,
    *,
    state: object = None,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> TapRun:
    """Run the real tap-sell-sync command with a config (and a state) written to files.

    A str config or state is written as is; anything else as JSON.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.json"
    config_path.write_text(config if isinstance(config, str) else json.dumps(config))
    args = [TAP, "--config", str(config_path)]
    if state is not None:
        state_path = workdir / "state.json"
        state_path.write_text(state if isinstance(state, str) else json.dumps(state))
        args += ["--state", str(state_path)]
    args += extra_args or []
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    return TapRun(done.returncode, done.stdout, done.stderr)
