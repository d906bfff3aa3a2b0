# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The reliability tests' view of the shared fakes: replies as whole `Reply` objects, states.

The scripted Sell server, the item builders and the command runner are in
`tests/sell_fakes.py`, shared with the tap's tests.
"""

from __future__ import annotations

import typing as t

from sell_fakes import TAP, Reply, Seen, TapRun, item, run_tap, session_body
from sell_fakes import FakeSell as ScriptedSell
from sell_fakes import page as page_body

from tap_sell_sync.state import pack_keys

__all__ = [
    "DEVICE",
    "OTHER_DEVICE",
    "TAP",
    "TOKEN",
    "Reply",
    "ScriptedSell",
    "Seen",
    "TapRun",
    "good_item",
    "item",
    "page",
    "run_tap",
    "session",
    "state_with",
]

TOKEN = "RELIABILITY-t0ken-4b1d9e0c7a2f"  # noqa: S105 - a fake, recognisable in any output
DEVICE = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER_DEVICE = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def session(session_id: str = "S-1") -> Reply:
    """A 201 that starts a session."""
    return Reply(201, session_body(session_id, total=1))


def page(items: list[t.Any], failed: list[t.Any] | None = None) -> Reply:
    """A 200 page of items."""
    return Reply(200, page_body(items, failed=failed))


def good_item(number: int) -> dict[str, t.Any]:
    """A readable tag item with ack key ``Tag-<number>-1``."""
    return item("tag", {"id": number, "name": f"tag {number}"}, f"Tag-{number}-1", event="created")


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
