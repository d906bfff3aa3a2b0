# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
r"""The tap's piece of the Singer state: the device UUID and the ack keys still pending.

Everything lives in one pseudo-bookmark, ``state["bookmarks"]["_sell_sync"]``::

    {
      "format": 1,
      "device_uuid": "<the device this run syncs as>",
      "pending": [
        {"device_uuid": "<device>", "count": 2, "ack_keys": "<base64 of zlib of 'k1\\nk2'>"}
      ]
    }

``pending`` is a list (Meltano's state merge replaces lists wholesale but merges dicts, so a
dict would let stale keys survive a merge). Each group holds the ack keys, newline-joined,
zlib-compressed and base64-encoded, with their count beside them; 100,000 keys take a few
hundred kilobytes. The reader accepts exactly this shape and rejects anything else, and it
stops decompressing at `MAX_PENDING_KEY_BYTES`, so a small state cannot make it inflate
gigabytes.
"""

from __future__ import annotations

import base64
import binascii
import re
import typing as t
import zlib

from tap_sell_sync.errors import StateError

STATE_BOOKMARK = "_sell_sync"
STATE_FORMAT = 1
KEY_SEPARATOR = "\n"
_ZLIB_LEVEL = 9
_BUFFERED_KEYS = 1000
_BOOKMARK_FIELDS = frozenset({"format", "device_uuid", "pending"})
_GROUP_FIELDS = frozenset({"device_uuid", "count", "ack_keys"})
# The newline-joined text of every pending key in a state, after decompression. Sell's ack
# keys are about 20 characters ("Lead-123-7"): this holds a million keys of 128 characters.
MAX_PENDING_KEY_BYTES = 128 * 1024 * 1024
UUID_FORM = "8-4-4-4-12 hexadecimal digits, such as 0f8fad5b-d9cb-469f-a165-70867728950e"
_UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


class _TooManyKeysError(StateError):
    """The pending keys are larger than `MAX_PENDING_KEY_BYTES` once decompressed."""


def is_valid_ack_key(ack_key: object) -> bool:
    """Tell whether a value can be kept as an ack key in the state.

    Args:
        ack_key: The value found in an item's ``meta.sync.ack_key``.

    Returns:
        True for a non-empty string without line breaks (the state joins keys by newline).
    """
    return (
        isinstance(ack_key, str) and bool(ack_key) and "\n" not in ack_key and "\r" not in ack_key
    )


def is_valid_uuid(value: object) -> bool:
    """Tell whether a value is a UUID in its 8-4-4-4-12 hexadecimal text form.

    Sell tracks a device by the exact text of its UUID, so other spellings of the same UUID
    (braces, ``urn:uuid:``, no dashes) would be another device and a silent full resync.

    Args:
        value: The value to check.

    Returns:
        True when the value is a string of exactly that form.
    """
    return isinstance(value, str) and _UUID_PATTERN.fullmatch(value) is not None


class KeyPack:
    """A growing, compressed list of ack keys for one device.

    Keys are buffered and fed to a streaming zlib compressor in blocks, so adding a key
    costs well under a microsecond, and a snapshot costs one copy of the compressor plus a
    base64 pass over the compressed bytes, whatever the number of keys.

    A snapshot may be taken from a signal handler (the SDK writes the state on SIGTERM)
    while the main thread is in the middle of `add`. Every change is therefore published
    by one assignment of an immutable value: a snapshot sees a block of keys either
    completely or not at all, and never a half-fed compressor.
    """

    def __init__(self, device_uuid: str) -> None:
        """Start an empty pack.

        Args:
            device_uuid: The device the keys were delivered to.
        """
        self.device_uuid = device_uuid
        # (compressed chunks, compressor that produced them, number of keys in them)
        self._packed: tuple[tuple[bytes, ...], t.Any, int] = (
            (),
            zlib.compressobj(_ZLIB_LEVEL),
            0,
        )
        self._buffer: list[str] = []
        self._snapshot: dict[str, t.Any] | None = None

    @property
    def count(self) -> int:
        """Keys added so far."""
        return self._packed[2] + len(self._buffer)

    def add(self, ack_key: str) -> None:
        """Append one key.

        Args:
            ack_key: The key, already checked with `is_valid_ack_key`.
        """
        self._buffer.append(ack_key)
        self._snapshot = None
        if len(self._buffer) >= _BUFFERED_KEYS:
            self._flush_buffer()

    def _flush_buffer(self) -> None:
        keys = self._buffer
        if not keys:
            return
        self._buffer = []
        chunks, compressor, count = self._packed
        text = KEY_SEPARATOR.join(keys)
        if count:
            text = KEY_SEPARATOR + text
        compressor = compressor.copy()
        chunk = compressor.compress(text.encode())
        self._packed = ((*chunks, chunk) if chunk else chunks, compressor, count + len(keys))

    def add_all(self, ack_keys: t.Iterable[str]) -> None:
        """Append several keys.

        Args:
            ack_keys: The keys, each already checked with `is_valid_ack_key`.
        """
        for ack_key in ack_keys:
            self.add(ack_key)

    def to_group(self) -> dict[str, t.Any]:
        """Return the state group for the keys added so far (cached until the next add).

        Returns:
            ``{"device_uuid", "count", "ack_keys"}`` as written into the state.
        """
        snapshot = self._snapshot
        if snapshot is None:
            self._flush_buffer()
            chunks, compressor, count = self._packed
            packed = b"".join(chunks) + compressor.copy().flush()
            snapshot = {
                "device_uuid": self.device_uuid,
                "count": count,
                "ack_keys": base64.b64encode(packed).decode("ascii"),
            }
            self._snapshot = snapshot
        return snapshot


def pack_keys(device_uuid: str, ack_keys: t.Iterable[str]) -> dict[str, t.Any]:
    """Build one state group from keys.

    Args:
        device_uuid: The device the keys belong to.
        ack_keys: The keys; sorted before packing because sorted keys compress better.

    Returns:
        The group as written into the state.
    """
    pack = KeyPack(device_uuid)
    pack.add_all(sorted(ack_keys))
    return pack.to_group()


def unpack_keys(group: dict[str, t.Any], max_bytes: int = MAX_PENDING_KEY_BYTES) -> list[str]:
    """Read the keys of one state group.

    Args:
        group: A group as produced by `KeyPack.to_group`.
        max_bytes: Most bytes the keys may take once decompressed.

    Returns:
        The keys.

    Raises:
        StateError: When the group is not exactly what this tap writes, or too large.
    """
    count = group["count"]
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(group["ack_keys"], validate=True), max_bytes)
        if inflater.unconsumed_tail:
            msg = (
                "the pending ack keys take more than "
                f"{MAX_PENDING_KEY_BYTES // (1024 * 1024)} MiB once decompressed; pass a "
                "state written by this tap"
            )
            raise _TooManyKeysError(msg)
        if not inflater.eof:
            raise zlib.error("truncated")  # noqa: EM101, TRY301
        text = raw.decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as exc:
        msg = "its ack_keys are not base64 of zlib-compressed text"
        raise StateError(msg) from exc
    keys = text.split(KEY_SEPARATOR) if text else []
    if len(keys) != count:
        msg = f"its count is {count} but it holds {len(keys)} ack keys"
        raise StateError(msg)
    if any(not is_valid_ack_key(key) for key in keys):
        msg = "it holds an empty ack key"
        raise StateError(msg)
    return keys


class IncomingState(t.NamedTuple):
    """What a run found in the state it was given."""

    device_uuid: str | None
    pending: dict[str, list[str]]


def _read_group(where: str, group: object, max_bytes: int) -> tuple[str, list[str]]:
    """Validate and read one pending group.

    Args:
        where: The group's place in the state, for messages.
        group: The group.
        max_bytes: Most bytes its keys may take once decompressed.

    Returns:
        The device UUID and its keys.

    Raises:
        StateError: When the group is not exactly what this tap writes.
    """
    if not isinstance(group, dict) or set(group) != _GROUP_FIELDS:
        msg = f"{where} must be an object with keys {sorted(_GROUP_FIELDS)}"
        raise StateError(msg)
    if not is_valid_uuid(group["device_uuid"]):
        msg = f"{where}.device_uuid must be a UUID of {UUID_FORM}"
        raise StateError(msg)
    count = group["count"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        msg = f"{where}.count must be a non-negative integer"
        raise StateError(msg)
    if not isinstance(group["ack_keys"], str):
        msg = f"{where}.ack_keys must be a string"
        raise StateError(msg)
    try:
        keys = unpack_keys(group, max_bytes)
    except _TooManyKeysError as exc:
        msg = f"{where}: {exc}"
        raise StateError(msg) from exc
    except StateError as exc:
        msg = f"{where} is malformed: {exc}"
        raise StateError(msg) from exc
    return group["device_uuid"], keys


def read_bookmark(bookmark: object) -> IncomingState:
    """Validate and read the tap's bookmark from an incoming state.

    Args:
        bookmark: ``state["bookmarks"]["_sell_sync"]`` or None when absent.

    Returns:
        The device UUID and the pending keys grouped by device.

    Raises:
        StateError: When the bookmark is not exactly what this tap writes.
    """
    if bookmark is None:
        return IncomingState(None, {})
    if not isinstance(bookmark, dict) or set(bookmark) != _BOOKMARK_FIELDS:
        msg = f"bookmarks.{STATE_BOOKMARK} must be an object with keys {sorted(_BOOKMARK_FIELDS)}"
        raise StateError(msg)
    if bookmark["format"] != STATE_FORMAT or isinstance(bookmark["format"], bool):
        msg = f"bookmarks.{STATE_BOOKMARK}.format must be {STATE_FORMAT}"
        raise StateError(msg)
    if not is_valid_uuid(bookmark["device_uuid"]):
        msg = f"bookmarks.{STATE_BOOKMARK}.device_uuid must be a UUID of {UUID_FORM}"
        raise StateError(msg)
    groups = bookmark["pending"]
    if not isinstance(groups, list):
        msg = f"bookmarks.{STATE_BOOKMARK}.pending must be a list"
        raise StateError(msg)

    pending: dict[str, list[str]] = {}
    budget = MAX_PENDING_KEY_BYTES
    for index, group in enumerate(groups):
        where = f"bookmarks.{STATE_BOOKMARK}.pending[{index}]"
        device, keys = _read_group(where, group, max(budget, 1))
        pending.setdefault(device, []).extend(keys)
        # Each key takes its length plus one separator in the decompressed text.
        budget -= sum(len(key.encode()) for key in keys) + max(len(keys) - 1, 0)
    return IncomingState(bookmark["device_uuid"], pending)


def build_bookmark(device_uuid: str, groups: t.Iterable[dict[str, t.Any]]) -> dict[str, t.Any]:
    """Assemble the bookmark the tap writes.

    Args:
        device_uuid: The device this run syncs as.
        groups: Pending key groups; empty groups are left out.

    Returns:
        The value of ``state["bookmarks"]["_sell_sync"]``.
    """
    return {
        "format": STATE_FORMAT,
        "device_uuid": device_uuid,
        "pending": [group for group in groups if group["count"]],
    }
