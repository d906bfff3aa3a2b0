# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Helpers for the tap's tests: an in-memory client, error envelopes, and the shared fakes.

The scripted Sell server, the item builders and the command runner are in
`tests/sell_fakes.py`, shared with the reliability tests.
"""

from __future__ import annotations

import typing as t

from sell_fakes import TAP, FakeSell, Reply, Seen, TapRun, item, page, run_tap, session_body

from tap_sell_sync.client import QueuePage, RequestCounters, SyncSession
from tap_sell_sync.state import read_bookmark

__all__ = [
    "TAP",
    "TOKEN",
    "FakeClient",
    "FakeSell",
    "Reply",
    "Seen",
    "TapRun",
    "error_body",
    "item",
    "page",
    "pending_of",
    "run_tap",
    "session_body",
]

TOKEN = "tok-SECRET-0123456789abcdef"  # noqa: S105 - a fake, recognisable in any output


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


def pending_of(state: dict[str, t.Any]) -> dict[str, list[str]]:
    """The pending ack keys in a state written by the tap, by device."""
    return read_bookmark(state["bookmarks"].get("_sell_sync")).pending
