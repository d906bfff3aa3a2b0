# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""A scriptable Sell server on loopback, queue item builders, and a runner of the real command.

Each of the three calls (start, fetch, ack) answers from its own list of replies, then from
a default; any other path gets a 404. The server records every request with its headers,
so tests can check what was acked and which headers travelled. The tap's tests and the
reliability tests both use it, through `tap_fakes` and `scripted_sell`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import typing as t
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from typing_extensions import Self

from tap_sell_sync.state import read_bookmark

TAP = str(Path(sys.executable).parent / "tap-sell-sync")
NO_BODY_STATUSES = (204, 304)
DERIVED = object()  # the default ack key of `item`; None stands for a JSON null


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: object = None  # dict or list: JSON; bytes: raw; None: empty
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    delay: float = 0.0


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def call_of(path: str) -> str:
    """Which protocol call a request path is."""
    if path.endswith("/v2/sync/start"):
        return "start"
    if path.endswith("/v2/sync/ack"):
        return "ack"
    if "/queues/" in path:
        return "fetch"
    return "other"


class FakeSell:
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
                    call = call_of(self.path)
                    script = owner.scripts[call]
                    reply = script.pop(0) if script else owner.defaults[call]
                if reply.delay:
                    threading.Event().wait(reply.delay)
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
                if reply.status not in NO_BODY_STATUSES:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if reply.status not in NO_BODY_STATUSES:
                    self.wfile.write(payload)

            do_GET = _answer  # noqa: N815 - http.server names
            do_POST = _answer  # noqa: N815

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, call: str, *replies: Reply) -> None:
        """Queue replies for one call."""
        self.scripts[call].extend(replies)

    def calls(self, call: str) -> list[Seen]:
        """The requests of one call."""
        return [r for r in self.requests if call_of(r.path) == call]

    def acked(self) -> list[tuple[str, str]]:
        """(device, ack key) of every key the server received in an ack."""
        return [
            (r.headers.get("X-Basecrm-Device-UUID", ""), key)
            for r in self.calls("ack")
            for key in json.loads(r.body)["data"]["ack_keys"]
        ]


def session_body(session_id: str = "S1", total: int = 0) -> dict[str, t.Any]:
    """The body of a 201 that starts a session."""
    return {
        "data": {
            "id": session_id,
            "queues": [
                {
                    "data": {"name": "main", "pages": 1, "total_count": total},
                    "meta": {"type": "sync_queue"},
                },
            ],
        },
        "meta": {"type": "sync_session"},
    }


def item(
    resource_type: str,
    data: object,
    ack_key: object = DERIVED,
    *,
    event: object = "updated",
    revision: object = 1,
) -> dict[str, t.Any]:
    """One queue item as Sell sends it; the ack key defaults to ``<type>-<id>-<revision>``."""
    if ack_key is DERIVED:
        key = data.get("id") if isinstance(data, dict) else None
        ack_key = f"{resource_type}-{key}-{revision}"
    return {
        "data": data,
        "meta": {
            "type": resource_type,
            "sync": {"event_type": event, "ack_key": ack_key, "revision": revision},
        },
    }


def page(items: list[t.Any], count_left: int = 0, failed: list[t.Any] | None = None) -> dict:
    """The body of a 200 queue page."""
    return {
        "items": items,
        "meta": {
            "type": "collection",
            "count": len(items),
            "count_left": count_left,
            "failed_objects": failed or [],
        },
    }


@dataclass
class TapRun:
    """What one run of the command printed."""

    returncode: int
    stdout: str
    stderr: str
    singer_output: bool = True

    @cached_property
    def messages(self) -> list[dict[str, t.Any]]:
        if not self.singer_output:
            return []
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def records(self, stream: str | None = None) -> list[dict[str, t.Any]]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def states(self) -> list[dict[str, t.Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict[str, t.Any] | None:
        states = self.states()
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
    catalog: object = None,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> TapRun:
    """Run the real tap-sell-sync command with its config, state and catalog in files.

    A str config, state or catalog is written as is; anything else as JSON.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    args = [TAP]
    for option, value in (("--config", config), ("--state", state), ("--catalog", catalog)):
        if value is None:
            continue
        path = workdir / f"{option.removeprefix('--')}.json"
        path.write_text(value if isinstance(value, str) else json.dumps(value))
        args += [option, str(path)]
    args += extra_args or []
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    singer_output = not {"--about", "--discover"} & set(args)
    return TapRun(done.returncode, done.stdout, done.stderr, singer_output)
