# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The control interface under `/_emulator/`: mutations, faults, logs and the current truth.

It is for tests and demos only; the server answers it to loopback peers only. Bodies and answers
are plain JSON (not Sell envelopes). Keys of associated contacts travel as `[deal_id, contact_id]`.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import TYPE_CHECKING, Any, Final

from sell_sync_emulator.faults import Fault

if TYPE_CHECKING:
    from collections.abc import Callable

    from sell_sync_emulator.data import Key
    from sell_sync_emulator.model import Emulator, MutationResult

PREFIX: Final = "/_emulator"
#: The most creates, updates or deletes one mutate request may ask for (each). A batch holds
#: the emulator's lock while it runs; ten thousand changes take seconds, a hundred million would
#: block every other request for hours and grow memory without end.
MAX_MUTATIONS_PER_REQUEST: Final = 10_000


class ControlError(Exception):
    """A control request that cannot be served; the message says why."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the status with the message.

        Args:
            status: HTTP status to answer.
            message: What went wrong.
        """
        super().__init__(message)
        self.status = status


def _key_json(key: Key | None) -> object:
    return list(key) if isinstance(key, tuple) else key


def _key_from_json(value: object) -> Key:
    if isinstance(value, bool):
        msg = f"invalid key {value!r}"
        raise ControlError(400, msg)
    if isinstance(value, int):
        return value
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):  # noqa: PLR2004 - a pair
        return (value[0], value[1])
    msg = f"a key is an integer id or [deal_id, contact_id], got {value!r}"
    raise ControlError(400, msg)


def _device_from_path(text: str) -> str:
    # Devices are named by RFC 4122 UUIDs in the 8-4-4-4-12 form the tap sends; the text is
    # kept as given, because the emulator remembers a device by the exact header value.
    msg = f"a device is a UUID like 4f7d6c3e-2a1b-4c5d-8e9f-0a1b2c3d4e5f, got {text!r}"
    try:
        canonical = str(uuid.UUID(text))
    except ValueError as error:
        raise ControlError(400, msg) from error
    if canonical != text.lower():  # braces, "urn:uuid:" or no hyphens
        raise ControlError(400, msg)
    return text


def _mutation_json(result: MutationResult) -> dict[str, Any]:
    return {
        name: [[t, _key_json(k)] for t, k in getattr(result, name)]
        for name in ("created", "updated", "deleted")
    }


def _int_field(body: dict[str, Any], name: str, default: int | None) -> int | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{name} must be a non-negative integer, got {value!r}"
        raise ControlError(400, msg)
    return value


def _mutation_count(body: dict[str, Any], name: str) -> int:
    count = _int_field(body, name, 0) or 0
    if count > MAX_MUTATIONS_PER_REQUEST:
        msg = (
            f"{name} must be at most {MAX_MUTATIONS_PER_REQUEST} per request, got {count}:"
            " send several requests for more changes"
        )
        raise ControlError(400, msg)
    return count


def handle_control(emulator: Emulator, method: str, path: str, body: bytes) -> object:
    """Serve one control request.

    Args:
        emulator: The emulator.
        method: HTTP method.
        path: Path starting with `/_emulator/`.
        body: Request body (JSON or empty).

    Returns:
        The JSON-ready answer (status 200).

    Raises:
        ControlError: For an unknown path or a bad body.
    """
    route = path.split("?", 1)[0].removeprefix(PREFIX).strip("/")
    try:
        document = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError) as error:
        raise ControlError(400, "the body is not JSON") from error
    if not isinstance(document, dict):
        raise ControlError(400, "the body must be a JSON object")

    handler = _ROUTES.get((method, route))
    if handler is not None:
        return handler(emulator, document)
    if route == "faults":
        return _faults(emulator, method, document)
    if method == "GET" and route.startswith("devices/") and route.endswith("/pending"):
        device_uuid = _device_from_path(route.removeprefix("devices/").removesuffix("/pending"))
        return {"pending": [[t, _key_json(k)] for t, k in emulator.pending_for(device_uuid)]}
    msg = f"no control endpoint {method} {path}"
    raise ControlError(404, msg)


def _acks(emulator: Emulator, _document: dict[str, Any]) -> object:
    events = emulator.ack_log()
    return {"acks": [{**event._asdict(), "key": _key_json(event.key)} for event in events]}


def _deliveries(emulator: Emulator, _document: dict[str, Any]) -> object:
    events = emulator.delivery_log()
    return {"deliveries": [{**event._asdict(), "key": _key_json(event.key)} for event in events]}


def _objects(emulator: Emulator, _document: dict[str, Any]) -> object:
    return {
        "objects": {t: list(objs.values()) for t, objs in emulator.current_objects().items()},
        "deleted": {
            t: sorted((_key_json(k) for k in keys), key=repr)
            for t, keys in emulator.deleted_keys().items()
        },
    }


def _mutate(emulator: Emulator, document: dict[str, Any]) -> object:
    result = emulator.mutate(
        creates=_mutation_count(document, "creates"),
        updates=_mutation_count(document, "updates"),
        deletes=_mutation_count(document, "deletes"),
        seed=_int_field(document, "seed", None),
    )
    return _mutation_json(result)


def _put_object(emulator: Emulator, document: dict[str, Any]) -> object:
    resource_type, data = document.get("type"), document.get("data")
    if not isinstance(resource_type, str) or not isinstance(data, dict):
        raise ControlError(400, 'expected {"type": "<resource type>", "data": {...}}')
    try:
        return {"revision": emulator.put_object(resource_type, data)}
    except ValueError as error:
        raise ControlError(400, str(error)) from error


def _delete_object(emulator: Emulator, document: dict[str, Any]) -> object:
    resource_type = document.get("type")
    if not isinstance(resource_type, str):
        raise ControlError(400, 'expected {"type": "<resource type>", "key": <key>}')
    key = _key_from_json(document.get("key"))
    return _mutation_json(emulator.delete_object(resource_type, key))


def _add_fault(emulator: Emulator, document: dict[str, Any]) -> object:
    emulator.add_fault(_fault(document))
    return {"faults": [f.to_dict() for f in emulator.faults()]}


def _config(emulator: Emulator, _document: dict[str, Any]) -> object:
    settings = dataclasses.asdict(emulator.config)
    settings.pop("token")
    return settings


_ROUTES: Final[dict[tuple[str, str], Callable[[Emulator, dict[str, Any]], object]]] = {
    ("GET", "counters"): lambda emulator, _document: emulator.counters(),
    ("GET", "acks"): _acks,
    ("GET", "deliveries"): _deliveries,
    ("GET", "objects"): _objects,
    ("GET", "config"): _config,
    ("POST", "mutate"): _mutate,
    ("POST", "objects"): _put_object,
    ("POST", "objects/delete"): _delete_object,
    ("POST", "faults/add"): _add_fault,
    ("POST", "sessions/expire"): lambda emulator, _document: {
        "expired": emulator.expire_sessions()
    },
}


def _fault(values: object) -> Fault:
    if not isinstance(values, dict):
        raise ControlError(400, "a fault is a JSON object")
    try:
        return Fault.from_dict(values)
    except ValueError as error:
        raise ControlError(400, str(error)) from error


def _faults(emulator: Emulator, method: str, document: dict[str, Any]) -> object:
    if method == "DELETE":
        emulator.clear_faults()
    elif method == "POST":
        rules = document.get("faults", [])
        if not isinstance(rules, list):
            raise ControlError(400, 'expected {"faults": [...], "seed": <optional int>}')
        emulator.set_faults(*(_fault(r) for r in rules), seed=_int_field(document, "seed", None))
    elif method != "GET":
        msg = f"no control endpoint {method} {PREFIX}/faults"
        raise ControlError(404, msg)
    return {"faults": [f.to_dict() for f in emulator.faults()]}
