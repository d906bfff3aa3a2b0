# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The emulated Sell account and its Sync service, with the logs and counters tests read.

It owns the objects with their revisions, the per-device memory of acknowledged revisions, the
sessions and their queues, and the three protocol endpoints.

Everything runs under one lock. The JSON of each object revision is encoded once when the
revision is made; serving a page only joins bytes.
"""

from __future__ import annotations

import gc
import http
import json
import math
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from sell_sync_emulator.config import EmulatorConfig
from sell_sync_emulator.data import (
    CASCADE,
    DELETABLE_TYPES,
    MUTABLE_WEIGHTS,
    POLYMORPHIC,
    REFERENCES,
    RESOURCE_TYPES,
    UNKNOWN_RESOURCE_TYPE,
    Clock,
    Data,
    DataGenerator,
    Key,
    Picker,
    deleted_data,
    key_of,
    plan_counts,
)
from sell_sync_emulator.faults import STATUS_KINDS, Fault, FaultPlan

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

JSON_TYPE: Final = "application/json; charset=utf-8"
MORE_INFO_URL: Final = "https://developer.zendesk.com/api-reference/sales-crm/errors/"
QUEUE_NAME: Final = "main"
ACTIVE: Final = "active"
DRAINED: Final = "drained"
EXPIRED: Final = "expired"
_NOT_JSON_BODY: Final = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
_EVENT_BYTES: Final = {e: e.encode() for e in ("created", "updated", "deleted")}
_ENDPOINT_NAMES: Final = ("start", "fetch", "ack", "other")

ObjectRef = tuple[str, Key]


# Non-ASCII text goes out as UTF-8, as Sell sends it. msgspec (installed with the project's
# singer-sdk extra) writes the same compact bytes as the standard library, several times faster.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
try:
    import msgspec

    _FAST_ENCODER: msgspec.json.Encoder | None = msgspec.json.Encoder()
    _FAST_DECODER: msgspec.json.Decoder[Any] | None = msgspec.json.Decoder()
except ImportError:  # pragma: no cover - msgspec comes with the project's dependencies
    _FAST_ENCODER = None
    _FAST_DECODER = None


def _json(value: object) -> bytes:
    if _FAST_ENCODER is not None:
        return _FAST_ENCODER.encode(value)
    return _ENCODER.encode(value).encode()


def _decode(document: bytes) -> Any:  # noqa: ANN401 - any JSON value
    if _FAST_DECODER is not None:
        return _FAST_DECODER.decode(document)
    return json.loads(document)


def _camel(resource_type: str) -> str:
    return "".join(part.capitalize() for part in resource_type.split("_"))


def _key_text(key: Key) -> str:
    return f"{key[0]}_{key[1]}" if isinstance(key, tuple) else str(key)


class AckEvent(NamedTuple):
    """One ack key received.

    Attributes:
        time: When it arrived (seconds since the epoch).
        device_uuid: The device that sent it.
        ack_key: The key as sent.
        known: Whether the emulator ever issued that key.
        resource_type: The object's type (None for an unknown key).
        key: The object's key (None for an unknown key).
        revision: The revision the key stands for (None for an unknown key).
    """

    time: float
    device_uuid: str
    ack_key: str
    known: bool
    resource_type: str | None
    key: Key | None
    revision: int | None


class DeliveryEvent(NamedTuple):
    """One item served in a page (whether or not the client received the page intact).

    Attributes:
        time: When it was served.
        device_uuid: The device of the session.
        session_id: The session.
        ack_key: The item's ack key.
        resource_type: The object's type.
        key: The object's key.
        revision: The object's revision.
        event_type: "created", "updated" or "deleted".
    """

    time: float
    device_uuid: str
    session_id: str
    ack_key: str
    resource_type: str
    key: Key
    revision: int
    event_type: str


class QueuedItem(NamedTuple):
    """One item waiting in a session's queue: an object revision and how the device sees it.

    It holds no bytes of its own; the page joins the revision's pre-encoded parts, so that
    queues and logs cost a pointer per item.
    """

    stored: StoredObject
    event_type: str

    @property
    def ack_key(self) -> str:
        """The item's ack key."""
        return self.stored.ack_key

    @property
    def resource_type(self) -> str:
        """The object's resource type."""
        return self.stored.resource_type

    @property
    def key(self) -> Key:
        """The object's key."""
        return self.stored.key

    @property
    def revision(self) -> int:
        """The object's revision."""
        return self.stored.revision

    @property
    def payload(self) -> bytes:
        """The item's JSON."""
        return self.stored.head + _EVENT_BYTES[self.event_type] + self.stored.tail


@dataclass
class StoredObject:
    """One object's current revision (a deleted object keeps a tombstone)."""

    resource_type: str
    key: Key
    revision: int
    data: Data | None
    ack_key: str
    head: bytes
    tail: bytes
    order: int

    @property
    def deleted(self) -> bool:
        """Whether the current revision is a delete."""
        return self.data is None


@dataclass
class Device:
    """What the service remembers about one device."""

    acked: dict[ObjectRef, int] = field(default_factory=dict)
    completed_flows: int = 0
    requeued: list[QueuedItem] | None = None


@dataclass
class Session:
    """One sync session and its queue."""

    session_id: str
    device_uuid: str
    items: list[QueuedItem]
    last_used: float
    position: int = 0
    state: str = ACTIVE

    def end(self, state: str) -> None:
        """Close the session (drained or expired) and let go of its queue.

        Args:
            state: DRAINED or EXPIRED.
        """
        self.state = state
        self.items = []
        self.position = 0


@dataclass
class Reply:
    """A protocol answer, before it goes on the wire.

    Attributes:
        status: HTTP status.
        body: Body bytes.
        request_id: The X-Request-Id of the answer.
        content_type: Content-Type of the body (None for an empty body).
        headers: Extra headers.
        drop: "before_body" or "mid_body" to close the connection instead of answering fully.
        delay_seconds: Wait this long before answering.
    """

    status: int
    body: bytes = b""
    request_id: str = ""
    content_type: str | None = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: str | None = None
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class MutationResult:
    """What one mutation call changed (cascaded deletes and cleared references included).

    The lists are in the order of the changes, and an object can be in more than one: created
    and then removed by a cascade in the same batch, or updated and then deleted. A device that
    never acknowledged such a created-and-deleted object never receives it; use
    `Emulator.pending_for` for what a device will receive.
    """

    created: list[ObjectRef]
    updated: list[ObjectRef]
    deleted: list[ObjectRef]


class _ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, *, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def error_envelope(status: int, code: str, message: str, request_id: str) -> bytes:
    """Encode a Sell error envelope.

    Args:
        status: HTTP status.
        code: Machine-readable error code.
        message: Human-readable message.
        request_id: The request id; it becomes `meta.logref`.

    Returns:
        The JSON body.
    """
    phrase = http.HTTPStatus(status).phrase
    return _json(
        {
            "errors": [
                {
                    "error": {"code": code, "message": message, "details": message},
                    "meta": {"type": "error", "links": {"more_info": MORE_INFO_URL}},
                }
            ],
            "meta": {
                "type": "errors",
                "http_status": f"{status} {phrase}",
                "logref": request_id,
                "links": {"more_info": MORE_INFO_URL},
            },
        }
    )


class _TokenBucket:
    def __init__(self, per_hour: int, burst: int) -> None:
        self.rate = per_hour / 3600.0
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> float:
        """Take one request; return 0 when allowed, else the seconds until one is allowed."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class Emulator:
    """An emulated Sell account with its Sync service.

    Thread-safe: the HTTP server calls `handle` from many threads while tests mutate data and
    read logs.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        """Generate the account's data from the configuration's seed.

        Args:
            config: Settings; the defaults when None.
        """
        self._config = config or EmulatorConfig()
        self._lock = threading.RLock()
        self._objects: dict[ObjectRef, StoredObject] = {}
        self._ack_keys: dict[str, tuple[str, Key, int]] = {}
        self._referrers: dict[ObjectRef, set[tuple[str, Key, str]]] = {}
        self._picker = Picker()
        self._clock = Clock()
        pool_rng = random.Random(f"{self._config.seed}/pools")  # noqa: S311 - seeded simulation
        self._generator = DataGenerator(self._picker, self._clock, pool_rng)
        self._devices: dict[str, Device] = {}
        self._sessions: dict[str, Session] = {}
        self._open_sessions: dict[str, Session] = {}
        self._session_rng = random.Random(f"{self._config.seed}/sessions")  # noqa: S311 - seeded simulation, not security
        self._session_count = 0
        self._mutation_count = 0
        self._order = 0
        self._ack_log: list[tuple[float, str, list[str], list[tuple[str, Key, int] | None]]] = []
        self._delivery_log: list[tuple[float, str, str, list[QueuedItem]]] = []
        self._requests: dict[str, dict[int, int]] = {e: {} for e in _ENDPOINT_NAMES}
        self._totals: dict[str, int] = {
            "items_delivered": 0,
            "acks_received": 0,
            "ack_keys_unknown": 0,
            "ack_keys_repeated": 0,
            "sessions_started": 0,
            "rate_limited": 0,
        }
        self._faults_injected: dict[str, int] = {}
        self._fault_plan = FaultPlan()
        self._fault_plan.reset([], self._config.seed)
        self._bucket = _TokenBucket(self._config.rate_limit_per_hour, self._config.rate_limit_burst)
        self._generate()

    @property
    def config(self) -> EmulatorConfig:
        """The settings."""
        return self._config

    # -- data ---------------------------------------------------------------------------------

    def _generate(self) -> None:
        # Building many small containers would set off the cyclic garbage collector again and
        # again (it walks everything built so far); nothing built here forms a cycle.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._generate_objects()
        finally:
            if collecting:
                gc.enable()

    def _generate_objects(self) -> None:
        rng = random.Random(f"{self._config.seed}/data")  # noqa: S311 - seeded simulation, not security
        counts = plan_counts(self._config.objects)
        for resource_type in RESOURCE_TYPES:
            for _ in range(counts[resource_type]):
                data = self._generator.new_object(rng, resource_type)
                if data is not None:
                    self._store(resource_type, data)
        for _ in range(self._config.unknown_type_objects):
            data = self._generator.new_object(rng, UNKNOWN_RESOURCE_TYPE)
            if data is not None:
                self._store(UNKNOWN_RESOURCE_TYPE, data)

    def _store(self, resource_type: str, data: Data | None, key: Key | None = None) -> StoredObject:
        """Make a new revision of an object (data None: a delete) and encode it once."""
        if data is not None:
            key = key_of(resource_type, data)
        if key is None:
            msg = "a delete needs a key"
            raise ValueError(msg)
        ref = (resource_type, key)
        previous = self._objects.get(ref)
        revision = previous.revision + 1 if previous else 1
        if previous is not None and previous.data is not None:
            self._index_references(resource_type, key, previous.data, add=False)
        ack_key = f"{_camel(resource_type)}-{_key_text(key)}-{revision}"
        payload = data if data is not None else deleted_data(resource_type, key)
        head = b'{"data":' + _json(payload) + b',"meta":{"type":"' + resource_type.encode()
        head += b'","sync":{"event_type":"'
        tail = b'","ack_key":"' + ack_key.encode() + b'","revision":' + str(revision).encode()
        tail += b"}}}"
        if previous is None:
            self._order += 1
        order = previous.order if previous else self._order
        stored = StoredObject(resource_type, key, revision, data, ack_key, head, tail, order)
        self._objects[ref] = stored
        self._ack_keys[ack_key] = (resource_type, key, revision)
        if data is None:
            self._picker.remove(resource_type, key)
        else:
            self._picker.add(resource_type, key)
            if isinstance(key, int):
                self._generator.reserve_id(resource_type, key)
            self._index_references(resource_type, key, data, add=True)
        return stored

    def _index_references(self, resource_type: str, key: Key, data: Data, *, add: bool) -> None:
        for field_name, target, _rule in REFERENCES.get(resource_type, ()):
            value = data.get(field_name)
            target_type = data.get("resource_type") if target == POLYMORPHIC else target
            if value is None or not isinstance(target_type, str):
                continue
            referrers = self._referrers.setdefault((target_type, value), set())
            if add:
                referrers.add((resource_type, key, field_name))
            else:
                referrers.discard((resource_type, key, field_name))

    def _delete(self, ref: ObjectRef, result: MutationResult) -> None:
        stored = self._objects.get(ref)
        if stored is None or stored.deleted:
            return
        self._store(ref[0], None, ref[1])
        result.deleted.append(ref)
        self._announce(ref)
        for source_type, source_key, field_name in sorted(
            self._referrers.pop(ref, set()), key=repr
        ):
            source = self._objects.get((source_type, source_key))
            if source is None or source.data is None:
                continue
            rule = next(r for f, _t, r in REFERENCES[source_type] if f == field_name)
            if rule == CASCADE:
                self._delete((source_type, source_key), result)
            else:
                cleared = dict(source.data)
                cleared[field_name] = None
                self._store(source_type, cleared)
                result.updated.append((source_type, source_key))
                self._announce((source_type, source_key))

    def mutate(
        self, creates: int = 0, updates: int = 0, deletes: int = 0, seed: int | None = None
    ) -> MutationResult:
        """Apply a seeded batch of changes: creates, then updates, then deletes.

        Deletes cascade like Sell's (notes of a deleted lead go with it; a deal's associated
        contacts go with the deal) or clear the reference (a deal whose contact is deleted keeps
        `contact_id: null`), so that references always point to objects that exist.

        Args:
            creates: How many objects to create.
            updates: How many live objects to change.
            deletes: How many live objects to delete (before cascades).
            seed: Seed of this batch; None derives one from the emulator's seed and the number of
                batches so far.

        Returns:
            What changed.
        """
        with self._lock:
            self._mutation_count += 1
            if seed is None:
                seed = self._config.seed * 1_000_003 + self._mutation_count
            rng = random.Random(f"mutation/{seed}")  # noqa: S311 - seeded simulation, not security
            result = MutationResult([], [], [])
            types = list(MUTABLE_WEIGHTS)
            weights = list(MUTABLE_WEIGHTS.values())

            for _ in range(creates):
                for _attempt in range(len(types)):
                    resource_type = rng.choices(types, weights)[0]
                    data = self._generator.new_object(rng, resource_type)
                    if data is not None:
                        stored = self._store(resource_type, data)
                        result.created.append((resource_type, stored.key))
                        self._announce((resource_type, stored.key))
                        break

            for _ in range(updates):
                ref = self._choose_live(rng, types, weights)
                if ref is None:
                    break
                current = self._objects[ref].data
                if current is None:
                    continue
                self._store(ref[0], self._generator.updated(rng, ref[0], current))
                result.updated.append(ref)
                self._announce(ref)

            deletable = [t for t in types if t in DELETABLE_TYPES]
            delete_weights = [MUTABLE_WEIGHTS[t] for t in deletable]
            for _ in range(deletes):
                ref = self._choose_live(rng, deletable, delete_weights)
                if ref is None:
                    break
                self._delete(ref, result)
            return result

    def _choose_live(
        self, rng: random.Random, types: list[str], weights: list[int]
    ) -> ObjectRef | None:
        candidates = [(t, w) for t, w in zip(types, weights, strict=True) if self._picker.count(t)]
        if not candidates:
            return None
        resource_type = rng.choices([t for t, _ in candidates], [w for _, w in candidates])[0]
        key = self._picker.choose(rng, resource_type)
        return None if key is None else (resource_type, key)

    def put_object(self, resource_type: str, data: Data) -> int:
        """Create or replace one given object.

        Args:
            resource_type: The resource type (any string; unknown types are served as given).
            data: The full data; it must hold `id` (or `deal_id` and `contact_id` for an
                associated contact).

        Returns:
            The object's new revision.

        Raises:
            ValueError: When the key fields are missing or not integers.
        """
        try:
            key_of(resource_type, data)
        except (KeyError, TypeError, ValueError) as error:
            msg = f"the {resource_type} object lacks its integer key fields: {error}"
            raise ValueError(msg) from error
        with self._lock:
            stored = self._store(resource_type, dict(data))
            self._announce((resource_type, stored.key))
            return stored.revision

    def delete_object(self, resource_type: str, key: Key) -> MutationResult:
        """Delete one object (with Sell's cascades).

        Args:
            resource_type: The resource type.
            key: The id, or (deal_id, contact_id) for an associated contact.

        Returns:
            What changed; empty when the object was not live.
        """
        with self._lock:
            result = MutationResult([], [], [])
            self._delete((resource_type, key), result)
            return result

    def current_objects(self) -> dict[str, dict[Key, Data]]:
        """Return the live objects right now.

        The data are the emulator's own (nested values can be shared between objects): treat
        them as read-only and copy before changing. `live_object` returns an independent copy
        of one object.

        Returns:
            {resource_type: {key: data}} for every type with live objects.
        """
        with self._lock:
            result: dict[str, dict[Key, Data]] = {}
            for (resource_type, key), stored in self._objects.items():
                if stored.data is not None:
                    result.setdefault(resource_type, {})[key] = stored.data
            return result

    def live_object(self, resource_type: str, key: Key) -> Data | None:
        """Return an independent copy of one live object, as the wire carries it.

        Args:
            resource_type: The resource type.
            key: The object's key.

        Returns:
            The data, or None when the object is not live.
        """
        with self._lock:
            stored = self._objects.get((resource_type, key))
        if stored is None or stored.data is None:
            return None
        data: Data = _decode(stored.head + b"created" + stored.tail)["data"]
        return data

    def deleted_keys(self) -> dict[str, set[Key]]:
        """Return the objects deleted so far and not re-created.

        Returns:
            {resource_type: set of keys}.
        """
        with self._lock:
            result: dict[str, set[Key]] = {}
            for (resource_type, key), stored in self._objects.items():
                if stored.data is None:
                    result.setdefault(resource_type, set()).add(key)
            return result

    def revision_of(self, resource_type: str, key: Key) -> int | None:
        """Return an object's current revision.

        Args:
            resource_type: The resource type.
            key: The object's key.

        Returns:
            The revision, or None for an object that never existed.
        """
        with self._lock:
            stored = self._objects.get((resource_type, key))
            return None if stored is None else stored.revision

    def acked_revisions(self, device_uuid: str) -> dict[ObjectRef, int]:
        """Return the newest revision a device acknowledged, per object.

        Args:
            device_uuid: The device.

        Returns:
            {(resource_type, key): revision}.
        """
        with self._lock:
            device = self._devices.get(device_uuid)
            return dict(device.acked) if device else {}

    def pending_for(self, device_uuid: str) -> list[ObjectRef]:
        """Return the objects a new session of this device would deliver now.

        Args:
            device_uuid: The device.

        Returns:
            The objects, in creation order.
        """
        with self._lock:
            device = self._devices.get(device_uuid) or Device()
            return [(i.resource_type, i.key) for i in self._compute_queue(device)]

    # -- logs and counters --------------------------------------------------------------------

    def ack_log(self) -> list[AckEvent]:
        """Return every ack key received, in arrival order.

        Returns:
            The events.
        """
        with self._lock:
            records = list(self._ack_log)
        return [
            AckEvent(wall, device_uuid, ack_key, found is not None, *(found or (None, None, None)))
            for wall, device_uuid, keys, resolved in records
            for ack_key, found in zip(keys, resolved, strict=True)
        ]

    def delivery_log(self) -> list[DeliveryEvent]:
        """Return every item served in a page, in order.

        Returns:
            The events.
        """
        with self._lock:
            records = list(self._delivery_log)
        return [
            DeliveryEvent(
                wall,
                device_uuid,
                session_id,
                item.ack_key,
                item.resource_type,
                item.key,
                item.revision,
                item.event_type,
            )
            for wall, device_uuid, session_id, page in records
            for item in page
        ]

    def counters(self) -> dict[str, Any]:
        """Return the counters.

        Returns:
            ``requests``: {endpoint: {status: count}} (endpoints "start", "fetch", "ack",
            "other"); ``items_delivered``, ``acks_received``, ``ack_keys_unknown``,
            ``ack_keys_repeated``, ``sessions_started``, ``rate_limited``,
            ``active_sessions``; ``faults_injected``: {kind: count}.
        """
        with self._lock:
            self._expire_idle_sessions(time.monotonic())
            return {
                "requests": {e: dict(s) for e, s in self._requests.items()},
                **self._totals,
                "active_sessions": len(self._open_sessions),
                "faults_injected": dict(self._faults_injected),
            }

    # -- faults -------------------------------------------------------------------------------

    def set_faults(self, *faults: Fault, seed: int | None = None) -> None:
        """Replace the fault rules; call numbers count again from 1.

        Args:
            *faults: The rules; none clears them.
            seed: Seed for probabilistic rules (the emulator's seed when None).
        """
        with self._lock:
            self._fault_plan.reset(list(faults), self._config.seed if seed is None else seed)

    def add_fault(self, fault: Fault) -> None:
        """Add one fault rule to the current ones.

        Args:
            fault: The rule.
        """
        with self._lock:
            self._fault_plan.add(fault)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.set_faults()

    def faults(self) -> list[Fault]:
        """Return the current fault rules.

        Returns:
            The rules.
        """
        with self._lock:
            return list(self._fault_plan.rules)

    def expire_sessions(self) -> int:
        """Expire every open session now (as if they had been idle too long).

        Returns:
            How many sessions expired.
        """
        with self._lock:
            open_sessions = list(self._open_sessions.values())
            for session in open_sessions:
                self._end_session(session, EXPIRED)
            return len(open_sessions)

    # -- queue computation --------------------------------------------------------------------

    def _item_for(self, device: Device, stored: StoredObject) -> QueuedItem | None:
        acked = device.acked.get((stored.resource_type, stored.key))
        if stored.data is None:
            if acked is None:
                if not (self._config.deletes_for_unseen and device.completed_flows):
                    return None
            elif acked >= stored.revision:
                return None
            event_type = "deleted"
        elif acked is None:
            event_type = "created"
        elif acked >= stored.revision:
            return None
        else:
            event_type = "updated"
        return QueuedItem(stored, event_type)

    def _compute_queue(self, device: Device) -> list[QueuedItem]:
        items = [self._item_for(device, stored) for stored in self._objects.values()]
        return [item for item in items if item is not None]

    def _announce(self, ref: ObjectRef) -> None:
        """Add a changed object to the open sessions and the re-queued items that need it."""
        stored = self._objects[ref]
        if not self._config.snapshot_sessions:
            for session in self._open_sessions.values():
                item = self._item_for(self._devices[session.device_uuid], stored)
                if item is not None:
                    session.items.append(item)
        if not self._config.requeue_at_drain:
            return
        for device in self._devices.values():
            if device.requeued is not None:
                item = self._item_for(device, stored)
                if item is not None:
                    device.requeued.append(item)

    def _expire_idle_sessions(self, now: float) -> None:
        limit = self._config.session_ttl_seconds
        for session in list(self._open_sessions.values()):
            if now - session.last_used > limit:
                self._end_session(session, EXPIRED)

    def _end_session(self, session: Session, state: str) -> None:
        session.end(state)
        self._open_sessions.pop(session.session_id, None)

    # -- protocol -----------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, base_url: str
    ) -> Reply:
        """Answer one protocol request.

        Args:
            method: HTTP method.
            path: Request path (a query string is ignored).
            headers: Request headers, names in lower case.
            body: Request body.
            base_url: Scheme and authority the client used, for `links.self`.

        Returns:
            The reply to send.
        """
        request_id = str(uuid.uuid4())
        path = path.split("?", 1)[0]
        endpoint, session_id = _route(method, path)
        try:
            with self._lock:
                reply = self._dispatch(endpoint, session_id, headers, body, base_url)
        except _ApiError as error:
            reply = Reply(
                error.status, error_envelope(error.status, error.code, error.message, request_id)
            )
            if error.retry_after is not None:
                reply.headers.append(("Retry-After", str(error.retry_after)))
        reply.request_id = request_id
        if self._config.latency_seconds:
            reply.delay_seconds += self._config.latency_seconds
        with self._lock:
            statuses = self._requests.setdefault(
                endpoint if endpoint in {"start", "fetch", "ack"} else "other", {}
            )
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
        return reply

    def _dispatch(
        self,
        endpoint: str,
        session_id: str,
        headers: Mapping[str, str],
        body: bytes,
        base_url: str,
    ) -> Reply:
        self._check_headers(headers)
        if endpoint == "unknown":
            raise _ApiError(404, "incorrect_path", "no such path in the Sync API")
        if endpoint == "method":
            raise _ApiError(405, "method_not_allowed", "this method is not allowed on this path")
        if endpoint == "queue":
            raise _ApiError(404, "not_found", "only the main queue exists")
        device_uuid = headers.get("x-basecrm-device-uuid", "").strip()
        if not device_uuid:
            raise _ApiError(400, "invalid_header", "the X-Basecrm-Device-UUID header is required")

        fault = self._fault_plan.pick(endpoint)
        if fault is not None:
            self._faults_injected[fault.kind] = self._faults_injected.get(fault.kind, 0) + 1
            if fault.kind in STATUS_KINDS:
                status = int(fault.kind)
                if status == http.HTTPStatus.TOO_MANY_REQUESTS:
                    raise self._rate_limit_error(1.0)
                code = "temporarily_unavailable" if status == 503 else "server_error"  # noqa: PLR2004
                raise _ApiError(status, code, "injected server error")

        if endpoint == "start":
            reply = self._start(device_uuid, base_url)
        elif endpoint == "fetch":
            reply = self._fetch(device_uuid, session_id, fault)
        else:
            reply = self._ack(device_uuid, body)
        return _spoil(reply, fault)

    def _check_headers(self, headers: Mapping[str, str]) -> None:
        if not headers.get("user-agent", "").strip():
            raise _ApiError(400, "invalid_user_agent", "a User-Agent header is required")
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self._config.token:
            raise _ApiError(401, "unauthorized", "the access token is missing, invalid or expired")
        if self._config.insufficient_scope:
            raise _ApiError(403, "insufficient_scope", "the access token lacks the sync scope")
        if self._config.rate_limit_per_hour:
            wait = self._bucket.take()
            if wait:
                self._totals["rate_limited"] += 1
                raise self._rate_limit_error(wait)
        accept = headers.get("accept", "")
        if accept and not any(
            part.split(";")[0].strip() in {"application/json", "application/*", "*/*"}
            for part in accept.split(",")
        ):
            raise _ApiError(406, "not_acceptable", "only application/json is served")

    def _rate_limit_error(self, wait: float) -> _ApiError:
        retry_after = math.ceil(wait) if self._config.retry_after else None
        return _ApiError(
            429, "rate_limit_exceeded", "too many requests for this token", retry_after=retry_after
        )

    def _start(self, device_uuid: str, base_url: str) -> Reply:
        now = time.monotonic()
        self._expire_idle_sessions(now)
        active = len(self._open_sessions)
        if active >= self._config.max_active_sessions:
            status = self._config.session_cap_status
            raise _ApiError(
                status,
                "too_many_sessions",
                f"at most {self._config.max_active_sessions} sync sessions may be active",
            )

        device = self._devices.setdefault(device_uuid, Device())
        if self._config.requeue_at_drain and device.requeued is not None:
            items, device.requeued = device.requeued, None
        else:
            items = self._compute_queue(device)
        if not items:
            return Reply(204, content_type=None)

        self._session_count += 1
        if self._config.shuffle:
            random.Random(f"{self._config.seed}/shuffle/{self._session_count}").shuffle(items)  # noqa: S311 - seeded simulation, not security
        session_id = str(uuid.UUID(int=self._session_rng.getrandbits(128), version=4))
        session = Session(session_id, device_uuid, items, now)
        self._sessions[session_id] = session
        self._open_sessions[session_id] = session
        self._totals["sessions_started"] += 1
        page_size = self._config.page_size
        queue_url = f"{base_url}/v2/sync/{session_id}/queues/{QUEUE_NAME}"
        body = {
            "data": {
                "id": session_id,
                "queues": [
                    {
                        "data": {
                            "name": QUEUE_NAME,
                            "pages": math.ceil(len(items) / page_size),
                            "total_count": len(items),
                        },
                        "meta": {"type": "sync_queue", "links": {"self": queue_url}},
                    }
                ],
            },
            "meta": {"type": "sync_session"},
        }
        return Reply(201, _json(body))

    def _fetch(self, device_uuid: str, session_id: str, fault: Fault | None) -> Reply:
        now = time.monotonic()
        self._expire_idle_sessions(now)
        session = self._sessions.get(session_id)
        if session is None or session.device_uuid != device_uuid:
            raise _ApiError(404, "not_found", "no such sync session for this device")
        if fault is not None and fault.kind == "expired_session":
            self._end_session(session, EXPIRED)
        if session.state == EXPIRED:
            raise _ApiError(404, "not_found", "the sync session has expired; start a new one")
        session.last_used = now

        if fault is not None and fault.kind == "empty_page":
            return Reply(200, _page_body([], len(session.items) - session.position, b"[]"))
        if session.position >= len(session.items):
            self._drain(session)
            return Reply(204, content_type=None)

        end = session.position + self._config.page_size
        page = session.items[session.position : end]
        session.position += len(page)
        failed: list[QueuedItem] = []
        if fault is not None and fault.kind == "failed_objects":
            failed, page = page[: fault.count], page[fault.count :]
        # One record per page; delivery_log() expands it, so serving stays cheap.
        self._delivery_log.append((time.time(), device_uuid, session_id, page))
        self._totals["items_delivered"] += len(page)
        failed_json = _json([_failed_object(i) for i in failed])
        return Reply(200, _page_body(page, len(session.items) - session.position, failed_json))

    def _drain(self, session: Session) -> None:
        if session.state != ACTIVE:
            return
        self._end_session(session, DRAINED)
        device = self._devices[session.device_uuid]
        device.completed_flows += 1
        if self._config.requeue_at_drain:
            device.requeued = self._compute_queue(device)

    def _ack(self, device_uuid: str, body: bytes) -> Reply:
        try:
            document = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError) as error:
            raise _ApiError(400, "invalid_payload", "the body is not JSON") from error
        keys = _ack_keys_of(document)
        device = self._devices.setdefault(device_uuid, Device())
        acked = device.acked
        resolved = [self._ack_keys.get(ack_key) for ack_key in keys]
        for found in resolved:
            if found is None:
                self._totals["ack_keys_unknown"] += 1
                continue
            ref = (found[0], found[1])
            previous = acked.get(ref)
            if previous is not None and previous >= found[2]:
                self._totals["ack_keys_repeated"] += 1
            else:
                acked[ref] = found[2]
        self._totals["acks_received"] += len(keys)
        # One record per request; ack_log() expands it.
        self._ack_log.append((time.time(), device_uuid, keys, resolved))
        return Reply(202, content_type=None)


def _route(method: str, path: str) -> tuple[str, str]:
    """Map a path to (endpoint, session id); endpoint "unknown", "method" or "queue" on misses."""
    parts = path.strip("/").split("/")
    if parts[:2] != ["v2", "sync"]:
        return "unknown", ""
    rest = parts[2:]
    if rest == ["start"]:
        return ("start", "") if method == "POST" else ("method", "")
    if rest == ["ack"]:
        return ("ack", "") if method == "POST" else ("method", "")
    if len(rest) == 3 and rest[1] == "queues" and rest[0]:  # noqa: PLR2004 - id/queues/name
        if method != "GET":
            return "method", ""
        return ("fetch", rest[0]) if rest[2] == QUEUE_NAME else ("queue", "")
    return "unknown", ""


def _ack_keys_of(document: object) -> list[str]:
    data = document.get("data") if isinstance(document, dict) else None
    keys = data.get("ack_keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _ApiError(422, "incorrect_payload", 'expected {"data": {"ack_keys": ["...", ...]}}')
    return keys


def _failed_object(item: QueuedItem) -> Data:
    if isinstance(item.key, tuple):
        return {"type": item.resource_type, "deal_id": item.key[0], "contact_id": item.key[1]}
    return {"type": item.resource_type, "id": item.key}


def _page_body(page: Iterable[QueuedItem], count_left: int, failed_json: bytes) -> bytes:
    items = [item.payload for item in page]
    meta = b'{"type":"collection","count":%d,"count_left":%d,"failed_objects":' % (
        len(items),
        count_left,
    )
    return b'{"items":[' + b",".join(items) + b'],"meta":' + meta + failed_json + b"}}"


def _spoil(reply: Reply, fault: Fault | None) -> Reply:
    """Apply an after-the-work fault to a reply."""
    if fault is None:
        return reply
    if fault.kind in {"drop_before_body", "drop_mid_body"}:
        reply.drop = fault.kind.removeprefix("drop_")
    elif fault.kind == "slow":
        reply.delay_seconds += fault.delay_seconds
    elif fault.kind == "not_json":
        reply.status = 200 if reply.status == 204 else reply.status  # noqa: PLR2004
        reply.body = _NOT_JSON_BODY
        reply.content_type = "text/html; charset=utf-8"
    return reply
