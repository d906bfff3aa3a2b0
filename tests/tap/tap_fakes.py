# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Helpers for the tap's tests: a scripted fake Sell server on loopback and item builders."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import typing as t
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tap_sell_sync.client import QueuePage, RequestCounters, SyncSession
from tap_sell_sync.state import read_bookmark

TOKEN = "tok-SECRET-0123456789abcdef"  # noqa: S105 - a fake, recognisable in any output


@dataclass
class Reply:
    status: int = 200
    body: object = None  # dict/list -> JSON; bytes -> raw; None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeSell:
    """A loopback HTTP server answering from per-call scripts (start, fetch, ack)."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Reply]] = {"start": [], "fetch": [], "ack": []}
        self.defaults: dict[str, Reply] = {
            "start": Reply(204),
            "fetch": Reply(204),
            "ack": Reply(202),
        }
        self.requests: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append(Seen(self.command, self.path, dict(self.headers), body))
                call = (
                    "start"
                    if self.path.endswith("/sync/start")
                    else "ack"
                    if self.path.endswith("/sync/ack")
                    else "fetch"
                )
                script = fake.scripts[call]
                reply = script.pop(0) if script else fake.defaults[call]
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
                if reply.status not in (204, 304):
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if reply.status not in (204, 304):
                    self.wfile.write(payload)

            do_GET = _handle  # noqa: N815 - http.server names
            do_POST = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def calls(self, call: str) -> list[Seen]:
        ends = {"start": "/sync/start", "ack": "/sync/ack"}
        if call == "fetch":
            return [r for r in self.requests if "/queues/" in r.path]
        return [r for r in self.requests if r.path.endswith(ends[call])]

    def acked(self) -> list[tuple[str, list[str]]]:
        return [
            (r.headers["X-Basecrm-Device-UUID"], json.loads(r.body)["data"]["ack_keys"])
            for r in self.calls("ack")
        ]


def session_body(session_id: str = "S1", total: int = 0) -> dict[str, t.Any]:
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
    data: dict[str, t.Any],
    ack_key: str | None = None,
    *,
    event: str = "updated",
    revision: object = 1,
) -> dict[str, t.Any]:
    key = ack_key if ack_key is not None else f"{resource_type}-{data.get('id')}-{revision}"
    return {
        "data": data,
        "meta": {
            "type": resource_type,
            "sync": {"event_type": event, "ack_key": key, "revision": revision},
        },
    }


def page(items: list[t.Any], count_left: int = 0, failed: list[t.Any] | None = None) -> dict:
    return {
        "items": items,
        "meta": {
            "type": "collection",
            "count": len(items),
            "count_left": count_left,
            "failed_objects": failed or [],
        },
    }


def error_body(code: str, logref: str = "LOGREF-1") -> dict[str, t.Any]:
    return {
        "errors": [{"error": {"code": code, "message": f"{code} happened"}, "meta": {}}],
        "meta": {"type": "errors", "logref": logref},
    }


class FakeClient:
    """An in-memory stand-in for SellClient: pages are scripted, acks recorded."""

    def __init__(self, pages: list[object] | None = None, *, session: bool = True) -> None:
        self._page_type = QueuePage
        self.session = SyncSession("S1", 0) if session else None
        self.pages = list(pages or [])
        self.acks: list[tuple[str, list[str]]] = []
        self.ack_error: Exception | None = None
        self.fetch_error: Exception | None = None
        self.starts = 0
        self.fetches = 0
        self.closed = False
        self.counters = RequestCounters()

    def start_session(self, device_uuid: str):  # noqa: ARG002
        self.starts += 1
        return self.session

    def fetch_page(self, session_id: str, device_uuid: str):  # noqa: ARG002
        self.fetches += 1
        if self.fetch_error is not None and not self.pages:
            raise self.fetch_error
        if not self.pages:
            return None
        body = self.pages.pop(0)
        if isinstance(body, Exception):
            raise body
        assert isinstance(body, dict)
        meta = body.get("meta", {})
        return self._page_type(
            body.get("items", []),
            meta.get("count_left"),
            meta.get("failed_objects", []),
        )

    def ack(self, ack_keys: list[str], device_uuid: str) -> None:
        if self.ack_error is not None:
            raise self.ack_error
        self.acks.append((device_uuid, list(ack_keys)))

    def close(self) -> None:
        self.closed = True


TAP = str(Path(sys.executable).parent / "tap-sell-sync")


@dataclass
class TapRun:
    returncode: int
    messages: list[dict[str, t.Any]]
    stdout: str
    stderr: str

    def records(self, stream: str | None = None) -> list[dict[str, t.Any]]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def states(self) -> list[dict[str, t.Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict[str, t.Any]:
        return self.states()[-1]

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "| ERROR" in line]


def run_tap(  # noqa: PLR0913
    tmp_path: Path,
    config: dict[str, t.Any],
    *,
    state: dict[str, t.Any] | str | None = None,
    catalog: dict[str, t.Any] | None = None,
    extra_args: list[str] | None = None,
    timeout: float = 60,
) -> TapRun:
    """Run the real tap-sell-sync command and parse what it prints."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    args = [TAP, "--config", str(config_path)]
    if state is not None:
        state_path = tmp_path / "state.json"
        state_path.write_text(state if isinstance(state, str) else json.dumps(state))
        args += ["--state", str(state_path)]
    if catalog is not None:
        catalog_path = tmp_path / "catalog.json"
        catalog_path.write_text(json.dumps(catalog))
        args += ["--catalog", str(catalog_path)]
    args += extra_args or []
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    singer_output = not {"--about", "--discover"} & set(args)
    lines = done.stdout.splitlines() if singer_output else []
    messages = [json.loads(line) for line in lines if line.strip()]
    return TapRun(done.returncode, messages, done.stdout, done.stderr)


def pending_of(state: dict[str, t.Any]) -> dict[str, list[str]]:
    """The pending ack keys in a state written by the tap, by device."""
    return read_bookmark(state["bookmarks"].get("_sell_sync")).pending
