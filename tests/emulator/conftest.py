# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Fixtures for the emulator's own tests: an in-process server and a small protocol client."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from sell_sync_emulator import Emulator, EmulatorConfig, serve

TOKEN = "test-token-" + "x" * 53
DEVICE = "4f7d6c3e-2a1b-4c5d-8e9f-0a1b2c3d4e5f"


@dataclass
class Client:
    """Speaks the public Sync protocol the way a well-behaved client does."""

    url: str
    device: str = DEVICE
    token: str = TOKEN
    http: requests.Session = field(default_factory=requests.Session)

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "User-Agent": "emulator-tests/1.0",
            "X-Basecrm-Device-UUID": self.device,
            "Accept": "application/json",
        }
        headers.update(extra)
        return headers

    def start(self) -> requests.Response:
        return self.http.post(f"{self.url}/v2/sync/start", headers=self.headers(), timeout=10)

    def fetch(self, session_id: str) -> requests.Response:
        return self.http.get(
            f"{self.url}/v2/sync/{session_id}/queues/main", headers=self.headers(), timeout=10
        )

    def ack(self, keys: list[str]) -> requests.Response:
        return self.http.post(
            f"{self.url}/v2/sync/ack",
            headers=self.headers(),
            json={"data": {"ack_keys": keys}},
            timeout=10,
        )

    def session(self) -> str | None:
        response = self.start()
        if response.status_code == 204:
            return None
        assert response.status_code == 201, response.text
        return response.json()["data"]["id"]

    def drain(self, *, ack: bool = True) -> list[dict[str, Any]]:
        """Run one flow; return every item received (acking each page unless told not to)."""
        session_id = self.session()
        items: list[dict[str, Any]] = []
        if session_id is None:
            return items
        for _ in range(10_000):
            response = self.fetch(session_id)
            if response.status_code == 204:
                return items
            assert response.status_code == 200, response.text
            page = response.json()["items"]
            items.extend(page)
            if ack and page:
                assert self.ack([i["meta"]["sync"]["ack_key"] for i in page]).status_code == 202
        message = "the queue never drained"
        raise AssertionError(message)

    @staticmethod
    def refs(items: list[dict[str, Any]]) -> list[tuple[str, Any]]:
        """(type, key) of each item."""
        result = []
        for item in items:
            data = item["data"]
            if item["meta"]["type"] == "associated_contact":
                key: Any = (data["deal_id"], data["contact_id"])
            else:
                key = data["id"]
            result.append((item["meta"]["type"], key))
        return result


@pytest.fixture
def make_server():
    """Start emulators with given settings; everything stops at the end of the test."""
    stack = contextlib.ExitStack()

    def factory(**settings: Any) -> tuple[Emulator, Client]:
        settings.setdefault("token", TOKEN)
        settings.setdefault("objects", 120)
        settings.setdefault("rate_limit_per_hour", 0)
        emulator = Emulator(EmulatorConfig(**settings))
        running = stack.enter_context(serve(emulator))
        return emulator, Client(running.url)

    with stack:
        yield factory
