# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Fault injection: which request of which endpoint goes wrong, and how.

A fault is chosen per protocol request, after the request passed the header, token and rate-limit
checks. Rules fire either on given call numbers (a schedule) or with a seeded probability.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Final

#: Answer with this status and an error envelope; nothing is done (no page taken, no ack kept).
STATUS_KINDS: Final = frozenset({"429", "500", "502", "503", "504"})
#: The work is done (page taken, ack kept, session opened), then the reply is lost or spoilt.
AFTER_WORK_KINDS: Final = frozenset({"drop_before_body", "drop_mid_body", "slow", "not_json"})
#: Only a queue fetch can have these.
FETCH_ONLY_KINDS: Final = frozenset({"empty_page", "failed_objects", "expired_session"})
FAULT_KINDS: Final = STATUS_KINDS | AFTER_WORK_KINDS | FETCH_ONLY_KINDS
ENDPOINTS: Final = ("start", "fetch", "ack", "any")
DEFAULT_SLOW_SECONDS: Final = 1.0
# A day: longer is a mistake (and an infinite wait cannot be scheduled).
MAX_DELAY_SECONDS: Final = 86_400.0


@dataclass(frozen=True)
class Fault:
    """One fault rule.

    A rule with `on_calls` fires on those calls of its endpoint (1 is the first call after the
    rules were set; for endpoint "any", calls of all endpoints count together). Otherwise a rule
    with `probability` fires with that chance, drawn from the fault plan's seeded random source.
    A rule with neither fires on every call. `times` caps how often it fires.

    Attributes:
        kind: One of FAULT_KINDS: "429", "500", "502", "503", "504", "drop_before_body",
            "drop_mid_body", "slow", "not_json", "empty_page", "failed_objects",
            "expired_session".
        endpoint: "start", "fetch", "ack" or "any".
        on_calls: Call numbers (1-based) on which the rule fires.
        probability: Chance of firing on each call, between 0 and 1.
        times: Fire at most this many times (None: no cap).
        delay_seconds: For "slow": how long the reply waits.
        count: For "failed_objects": how many items of the page fail.
    """

    kind: str
    endpoint: str = "any"
    on_calls: tuple[int, ...] = ()
    probability: float | None = None
    times: int | None = None
    delay_seconds: float = DEFAULT_SLOW_SECONDS
    count: int = 1

    def __post_init__(self) -> None:
        """Reject rules that cannot fire as written.

        Raises:
            ValueError: When a field is out of range or the kind does not fit the endpoint.
        """
        if self.kind not in FAULT_KINDS:
            msg = f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}"
            raise ValueError(msg)
        if self.endpoint not in ENDPOINTS:
            msg = f"unknown endpoint {self.endpoint!r}; expected one of {list(ENDPOINTS)}"
            raise ValueError(msg)
        if self.kind in FETCH_ONLY_KINDS and self.endpoint not in {"fetch", "any"}:
            msg = f"fault {self.kind!r} applies to the fetch endpoint only"
            raise ValueError(msg)
        if any(n < 1 for n in self.on_calls):
            msg = "on_calls numbers start at 1"
            raise ValueError(msg)
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            msg = f"probability must be between 0 and 1, got {self.probability}"
            raise ValueError(msg)
        if self.times is not None and self.times < 0:
            msg = f"times must be 0 or more, got {self.times}"
            raise ValueError(msg)
        if not 0 <= self.delay_seconds <= MAX_DELAY_SECONDS or self.count < 1:
            msg = f"delay_seconds must be 0 to {MAX_DELAY_SECONDS:g} and count must be at least 1"
            raise ValueError(msg)

    def applies_to(self, endpoint: str) -> bool:
        """Tell whether the rule can fire on a call of an endpoint.

        Args:
            endpoint: "start", "fetch" or "ack".

        Returns:
            True when the rule's endpoint and kind fit the call.
        """
        if self.endpoint not in {endpoint, "any"}:
            return False
        return endpoint == "fetch" or self.kind not in FETCH_ONLY_KINDS

    def to_dict(self) -> dict[str, Any]:
        """Return the rule as a JSON-ready dictionary.

        Returns:
            The fields of the rule.
        """
        values = asdict(self)
        values["on_calls"] = list(self.on_calls)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Fault:
        """Build a rule from a dictionary such as the control interface receives.

        Args:
            values: Field names and values; `kind` is required.

        Returns:
            The rule.

        Raises:
            ValueError: When a field is unknown, missing or invalid.
        """
        known = {"kind", "endpoint", "on_calls", "probability", "times", "delay_seconds", "count"}
        unknown = set(values) - known
        if unknown:
            msg = f"unknown fault fields: {sorted(unknown)}"
            raise ValueError(msg)
        if "kind" not in values:
            msg = "a fault needs a kind"
            raise ValueError(msg)
        try:
            return cls(
                kind=str(values["kind"]),
                endpoint=str(values.get("endpoint", "any")),
                on_calls=tuple(int(n) for n in values.get("on_calls", ())),
                probability=(
                    None if values.get("probability") is None else float(values["probability"])
                ),
                times=None if values.get("times") is None else int(values["times"]),
                delay_seconds=float(values.get("delay_seconds", DEFAULT_SLOW_SECONDS)),
                count=int(values.get("count", 1)),
            )
        except (TypeError, ValueError) as error:
            msg = f"invalid fault {values!r}: {error}"
            raise ValueError(msg) from error


@dataclass
class FaultPlan:
    """The active rules, the call numbers seen so far and how often each rule fired."""

    rules: list[Fault] = field(default_factory=list)
    seed: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    fired: list[int] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)

    def reset(self, rules: list[Fault], seed: int) -> None:
        """Replace the rules and restart the call numbers and the random source.

        Args:
            rules: The new rules.
            seed: Seed of the random source for probabilistic rules.
        """
        self.rules = list(rules)
        self.seed = seed
        self.calls = {}
        self.fired = [0] * len(rules)
        self.rng = random.Random(seed)  # noqa: S311 - seeded simulation, not security

    def add(self, rule: Fault) -> None:
        """Append a rule, keeping the call numbers seen so far.

        Args:
            rule: The rule.
        """
        self.rules.append(rule)
        self.fired.append(0)

    def pick(self, endpoint: str) -> Fault | None:
        """Count a call of an endpoint and return the first rule that fires on it.

        Args:
            endpoint: "start", "fetch" or "ack".

        Returns:
            The fault to inject, or None.
        """
        self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
        self.calls["any"] = self.calls.get("any", 0) + 1
        for index, rule in enumerate(self.rules):
            if not rule.applies_to(endpoint):
                continue
            if rule.times is not None and self.fired[index] >= rule.times:
                continue
            if rule.on_calls:
                fires = self.calls[rule.endpoint] in rule.on_calls
            elif rule.probability is not None:
                fires = self.rng.random() < rule.probability
            else:
                fires = True
            if fires:
                self.fired[index] += 1
                return rule
        return None
