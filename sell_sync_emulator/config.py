# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The emulator's settings: one frozen value that the model, the server and the command share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: The access token the emulator accepts unless told otherwise (64 characters, like a PAT).
DEFAULT_TOKEN: Final = "sell-sync-emulator-token-" + "0" * 39
DEFAULT_SEED: Final = 1
DEFAULT_OBJECTS: Final = 1000
DEFAULT_PAGE_SIZE: Final = 100
#: Sell's documented limit: 36,000 requests an hour per token.
DEFAULT_RATE_LIMIT_PER_HOUR: Final = 36_000
DEFAULT_RATE_LIMIT_BURST: Final = 10
#: Sell allows at most 100 active sync sessions.
DEFAULT_MAX_ACTIVE_SESSIONS: Final = 100
#: A session left without a request for this long expires (Sell does not document a lifetime).
DEFAULT_SESSION_TTL_SECONDS: Final = 900.0
#: What a start answers while the active-session cap is reached.
DEFAULT_SESSION_CAP_STATUS: Final = 429


@dataclass(frozen=True)
class EmulatorConfig:
    """Settings of one emulator.

    Attributes:
        seed: Seed of the generated data, the shuffles and the fault probabilities.
        objects: How many objects the account has at the start (all resource types together).
        page_size: Items per page of the queue.
        token: The access token the emulator accepts.
        shuffle: Shuffle the items of each session (Sell does not guarantee order); when False,
            items come in creation order.
        requeue_at_drain: Compute a device's next queue when its session is drained, rather
            than when the next session starts.
        snapshot_sessions: Freeze a session's queue at its start; by default, objects changed
            while a session is open are appended to it.
        deletes_for_unseen: After a device has completed one flow, also send `deleted` items
            for objects it never acknowledged (Sell's FAQ allows this).
        rate_limit_per_hour: Requests allowed per token per hour; 0 turns rate limiting off.
        rate_limit_burst: Requests a token may make at once before the hourly rate applies.
        retry_after: Add a `Retry-After` header to 429 answers.
        max_active_sessions: How many sessions may be open (started, not drained, not expired).
        session_cap_status: The status a start gets while the cap is reached (429, 409 or 422).
        session_ttl_seconds: A session with no request for this long expires.
        latency_seconds: Added to every reply of the protocol endpoints.
        unknown_type_objects: How many objects of a resource type no client knows to add.
        insufficient_scope: The token lacks the sync scope: every call answers 403.
    """

    seed: int = DEFAULT_SEED
    objects: int = DEFAULT_OBJECTS
    page_size: int = DEFAULT_PAGE_SIZE
    token: str = DEFAULT_TOKEN
    shuffle: bool = True
    requeue_at_drain: bool = False
    snapshot_sessions: bool = False
    deletes_for_unseen: bool = False
    rate_limit_per_hour: int = DEFAULT_RATE_LIMIT_PER_HOUR
    rate_limit_burst: int = DEFAULT_RATE_LIMIT_BURST
    retry_after: bool = False
    max_active_sessions: int = DEFAULT_MAX_ACTIVE_SESSIONS
    session_cap_status: int = DEFAULT_SESSION_CAP_STATUS
    session_ttl_seconds: float = DEFAULT_SESSION_TTL_SECONDS
    latency_seconds: float = 0.0
    unknown_type_objects: int = 0
    insufficient_scope: bool = False

    def __post_init__(self) -> None:
        """Reject settings that cannot work.

        Raises:
            ValueError: When a setting is out of range.
        """
        if self.objects < 0:
            msg = f"objects must be 0 or more, got {self.objects}"
            raise ValueError(msg)
        if self.page_size < 1:
            msg = f"page_size must be at least 1, got {self.page_size}"
            raise ValueError(msg)
        if not self.token or any(c.isspace() for c in self.token):
            msg = "the token must be non-empty and contain no whitespace"
            raise ValueError(msg)
        if self.rate_limit_per_hour < 0 or self.rate_limit_burst < 1:
            msg = "rate_limit_per_hour must be 0 or more and rate_limit_burst at least 1"
            raise ValueError(msg)
        if self.max_active_sessions < 1:
            msg = f"max_active_sessions must be at least 1, got {self.max_active_sessions}"
            raise ValueError(msg)
        if self.session_cap_status not in {409, 422, 429}:
            msg = f"session_cap_status must be 409, 422 or 429, got {self.session_cap_status}"
            raise ValueError(msg)
        if self.session_ttl_seconds <= 0 or self.latency_seconds < 0:
            msg = "session_ttl_seconds must be positive and latency_seconds not negative"
            raise ValueError(msg)
        if self.unknown_type_objects < 0:
            msg = f"unknown_type_objects must be 0 or more, got {self.unknown_type_objects}"
            raise ValueError(msg)
