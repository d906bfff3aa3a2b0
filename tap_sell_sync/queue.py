# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""One run of the Sync flow: ack what the target confirmed, drain the main queue, spool it.

What is acked, and when (the guarantee of this tap):

* An ack key is sent to Sell only when it came back in the state the run was given. Those
  keys are sent first, in packs, before a session starts; each pack leaves the pending list
  once Sell accepted it. If a pack cannot be sent after retries the run stops with an error
  before starting a session, and every key not yet accepted stays in the state it writes.
* An item's ack key joins the pending keys of the state only after its record was written
  to stdout (the stream adds it when its ``yield`` returns), so a STATE holding a key always
  follows that key's RECORD. Every STATE holds the device UUID and all keys still pending.
* Items that are not emitted are never acked, with two exceptions chosen by settings:
  items of deselected streams (``ack_deselected_streams``, default on) and items of unknown
  resource types (``ack_unknown_types``, default off). Their keys join the pending keys
  during the drain and are acked at the start of the next run, like every other key.
* Items that cannot be read, items beyond the run's bounds, ``failed_objects``, and
  everything spooled but not emitted when a run stops early are not acked; Sell sends them
  again in a later session.

The drain writes items to a temporary SQLite spool that keeps, per stream and key, only
the newest revision (the ack keys of older revisions stay attached to it), so memory does
not grow with the queue and an older revision is never emitted after a newer one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import sqlite3
import threading
import time
import typing as t
import weakref
from collections import Counter
from dataclasses import dataclass, field
from types import MappingProxyType

import msgspec

from tap_sell_sync.conform import RecordChecks, conform_record
from tap_sell_sync.errors import RetriableError, SellApiError, SessionLostError
from tap_sell_sync.schemas import DELETED_AT_COLUMN, EVENT_TYPE_COLUMN, REVISION_COLUMN
from tap_sell_sync.state import KeyPack, build_bookmark, is_valid_ack_key, pack_keys

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from tap_sell_sync.client import QueuePage, SellClient

LOGGER = logging.getLogger("tap-sell-sync.queue")

PROGRESS_INTERVAL_SECONDS = 10.0
MAX_CONSECUTIVE_EMPTY_PAGES = 50
MAX_LOGGED_FAILED_OBJECTS = 20
MAX_LOGGED_UNREADABLE_ITEMS = 10
MAX_SHOWN_VALUE_CHARS = 60
EVENT_DELETED = "deleted"
KNOWN_EVENT_TYPES = frozenset({"created", "updated", EVENT_DELETED})
KEY_JOINER = ":"
ACK_KEY_JOINER = "\n"

SpoolRow = tuple[str, str, int | None, int, bytes, str]
"""(stream, key, revision, is_delete, record body, ack key) of one item."""

_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder(float_hook=decimal.Decimal)


@dataclass(frozen=True)
class Route:
    """Where items of one resource type go.

    ``deleted_template`` is built once from ``properties``: every property of the stream's
    schema set to null, so a delete record names every column and stream maps that read a
    non-key field see null rather than an undefined name.
    """

    resource_type: str
    stream: str
    key_fields: tuple[str, ...]
    properties: frozenset[str]
    money_fields: tuple[str, ...] = ()
    checks: RecordChecks = field(default_factory=RecordChecks)
    deleted_template: Mapping[str, None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Build the null record that delete records start from."""
        # Sorted, so that records list their columns in the same order in every run.
        template = dict.fromkeys(sorted(self.properties))
        object.__setattr__(self, "deleted_template", MappingProxyType(template))


@dataclass(frozen=True)
class RunOptions:
    """The settings that shape one run."""

    ack_batch_size: int
    max_items: int | None
    max_seconds: float | None
    ack_unknown_types: bool
    ack_deselected_streams: bool
    # Streams a catalog leaves out (an older catalog, say): their items are never acked,
    # since nobody chose not to have them.
    unlisted_streams: frozenset[str] = frozenset()
    first_page_only: bool = False


@dataclass
class RunCounters:
    """What a run saw and did, for the progress lines and the summary."""

    items: int = 0
    pages: int = 0
    empty_pages: int = 0
    malformed_pages: int = 0
    records: dict[str, int] = field(default_factory=dict)
    deletes: dict[str, int] = field(default_factory=dict)
    dropped_by_maps: dict[str, int] = field(default_factory=dict)
    superseded: int = 0
    unreadable: int = 0
    unknown: dict[str, int] = field(default_factory=dict)
    unknown_acked: int = 0
    deselected: dict[str, int] = field(default_factory=dict)
    deselected_acked: int = 0
    unlisted: dict[str, int] = field(default_factory=dict)
    unknown_event_types: int = 0
    failed_objects: int = 0
    incoming_acked: int = 0
    dropped_fields: dict[str, set[str]] = field(default_factory=dict)
    invalid_values: dict[str, Counter[str]] = field(default_factory=dict)


class AckLedger:
    """The ack keys still pending, grouped by device, and the state bookmark built from them.

    Incoming keys (from the state the run was given) are held as lists until they are acked;
    keys of this run go into a compressed `KeyPack` for the current device.
    """

    def __init__(self, device_uuid: str, incoming: dict[str, list[str]]) -> None:
        """Create the ledger.

        Args:
            device_uuid: The device this run syncs as.
            incoming: Keys pending from earlier runs, by device.
        """
        self.device_uuid = device_uuid
        self._incoming = {
            device: list(dict.fromkeys(keys)) for device, keys in incoming.items() if keys
        }
        self._incoming_groups: dict[str, dict[str, t.Any]] = {}
        self._current = KeyPack(device_uuid)

    @property
    def incoming_count(self) -> int:
        """Keys from earlier runs not acked yet."""
        return sum(len(keys) for keys in self._incoming.values())

    @property
    def pending_count(self) -> int:
        """All keys pending."""
        return self.incoming_count + self._current.count

    def add(self, ack_keys: Iterable[str]) -> None:
        """Add keys of this run (their records were written, or a policy acks them).

        Args:
            ack_keys: The keys.
        """
        self._current.add_all(ack_keys)

    def ack_incoming(self, client: SellClient, batch_size: int) -> int:
        """Send the incoming keys to Sell in packs, each device with its own UUID.

        Args:
            client: The Sell client.
            batch_size: Keys per ack call.

        Returns:
            The number of keys acked.
        """
        acked = 0
        for device in list(self._incoming):
            keys = self._incoming[device]
            while keys:
                pack = keys[:batch_size]
                client.ack(pack, device)
                del keys[: len(pack)]
                self._incoming_groups.pop(device, None)
                acked += len(pack)
            del self._incoming[device]
        return acked

    def bookmark(self) -> dict[str, t.Any]:
        """Return the state bookmark holding the device UUID and every pending key.

        Returns:
            The value of ``state["bookmarks"]["_sell_sync"]``.
        """
        groups = []
        for device, keys in self._incoming.items():
            if device not in self._incoming_groups:
                self._incoming_groups[device] = pack_keys(device, keys)
            groups.append(self._incoming_groups[device])
        groups.append(self._current.to_group())
        return build_bookmark(self.device_uuid, groups)


class Spool:
    """A temporary SQLite store of this run's records, newest revision per stream and key."""

    def __init__(self) -> None:
        """Create the store: a private temporary SQLite database.

        SQLite keeps it in memory up to its page cache and then in a file of the temporary
        folder that it deletes as soon as it opens it, so a run that is killed leaves no
        copy of the records behind.
        """
        # Only the thread that drains uses the connection, but the finalizer that closes it
        # may run in whichever thread the garbage collector happens to run in.
        self._connection = sqlite3.connect("", check_same_thread=False)
        self._connection.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE items (
                stream TEXT NOT NULL,
                key TEXT NOT NULL,
                revision INTEGER,
                is_delete INTEGER NOT NULL,
                body BLOB NOT NULL,
                ack_keys TEXT NOT NULL,
                PRIMARY KEY (stream, key)
            );
            """,
        )
        self._finalizer = weakref.finalize(self, self._connection.close)

    def close(self) -> None:
        """Delete the store."""
        self._finalizer()

    def add(self, rows: list[SpoolRow]) -> None:
        """Store items, keeping the newest revision per stream and key.

        A row replaces the stored one unless the stored revision is higher; equal or
        unknown revisions are decided by arrival (the later wins). Either way the ack keys
        of both are kept together, so acking the survivor acks the superseded item too.

        Args:
            rows: (stream, key, revision, is_delete, body, ack_key) per item.
        """
        self._connection.executemany(
            """
            INSERT INTO items (stream, key, revision, is_delete, body, ack_keys)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (stream, key) DO UPDATE SET
                body = CASE WHEN items.revision > excluded.revision
                    THEN items.body ELSE excluded.body END,
                is_delete = CASE WHEN items.revision > excluded.revision
                    THEN items.is_delete ELSE excluded.is_delete END,
                revision = CASE WHEN items.revision > excluded.revision
                    THEN items.revision ELSE excluded.revision END,
                ack_keys = items.ack_keys || char(10) || excluded.ack_keys
            """,
            rows,
        )

    def index(self) -> None:
        """Build the index used to emit each stream in ack key order."""
        self._connection.execute("CREATE INDEX items_by_stream ON items (stream, ack_keys)")

    def count(self) -> int:
        """Rows stored (one per stream and key).

        Returns:
            The number of rows.
        """
        return int(self._connection.execute("SELECT count(*) FROM items").fetchone()[0])

    def rows(self, stream: str) -> Iterator[tuple[bytes, str, int]]:
        """Iterate over one stream's records, newest revision per key, in ack key order.

        Sell does not order its queue, so any order is as good; ack key order makes the
        pending keys of the state arrive sorted, which compresses them best.

        Args:
            stream: The stream name.

        Returns:
            (body, ack keys joined by newline, is_delete) per record.
        """
        return iter(
            self._connection.execute(
                "SELECT body, ack_keys, is_delete FROM items WHERE stream = ? ORDER BY ack_keys",
                (stream,),
            ),
        )


def _parse_revision(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _parse_money(value: object) -> tuple[bool, object]:
    """Turn a money value into an exact number.

    Args:
        value: An integer, a decimal string, a JSON number already read as Decimal, or null.

    Returns:
        (ok, value): ok is False when the value is not a number.
    """
    if value is None or isinstance(value, decimal.Decimal):
        return True, value
    if isinstance(value, bool):
        return False, value
    if isinstance(value, int):
        return True, value
    if isinstance(value, str):
        try:
            number = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            return False, value
        return number.is_finite(), number
    return False, value


def _convert_money(record: dict[str, t.Any], money_fields: tuple[str, ...]) -> list[str]:
    """Replace money values in place with exact numbers, and those that are not with null.

    A money value that is not a number is a value of the wrong type like any other: it
    becomes null and is counted, so the record still loads.

    Args:
        record: The record being built.
        money_fields: Top-level names, or "list.field" for a list of objects.

    Returns:
        The paths of the values set to null, one entry per value.
    """
    nulled: list[str] = []
    for path in money_fields:
        name, _, inner = path.partition(".")
        if name not in record:
            continue
        if not inner:
            ok, record[name] = _parse_money(record[name])
            if not ok:
                record[name] = None
                nulled.append(path)
            continue
        entries = record[name]
        if not isinstance(entries, list):
            # Not a list: the schema check of the list itself deals with it.
            continue
        for entry in entries:
            if isinstance(entry, dict) and inner in entry:
                ok, entry[inner] = _parse_money(entry[inner])
                if not ok:
                    entry[inner] = None
                    nulled.append(path)
    return nulled


def _envelope_problem(item: object) -> str:  # noqa: PLR0911 - one return per reason
    """Say why an item's envelope (meta, ack key, resource type, data) cannot be read.

    Args:
        item: An item the reader found unreadable.

    Returns:
        The reason, for the log.
    """
    if not isinstance(item, dict):
        return f"the item is {type(item).__name__}, not an object"
    meta = item.get("meta")
    if not isinstance(meta, dict):
        return "no meta object"
    sync = meta.get("sync")
    if not isinstance(sync, dict):
        return "no meta.sync object"
    ack_key = sync.get("ack_key")
    if ack_key is None:
        return "no ack_key"
    if not is_valid_ack_key(ack_key):
        return "the ack_key is not a non-empty string on one line"
    if not isinstance(meta.get("type"), str):
        return "no resource type (meta.type) as a string"
    return f"data is {_shown(item.get('data'))}, not an object"


def _shown(value: object) -> str:
    """Show a value from an item in a log line: its repr, cut short, on one line.

    Args:
        value: Any value read from an item.

    Returns:
        The text to log.
    """
    text = repr(value)
    if len(text) > MAX_SHOWN_VALUE_CHARS:
        return text[: MAX_SHOWN_VALUE_CHARS - 3] + "..."
    return text


def _utc_now_text() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _PageFetch:
    """One fetch of the next queue page, running in a background thread.

    The drain asks for the next page while it reads the current one, so the reading does not
    add to each round trip and the request budget stays busy. There is never more than one
    fetch in flight, and the order of calls is the same as without it. The thread is a
    daemon, so a run stopped by a signal does not wait for it.
    """

    def __init__(self, client: SellClient, session_id: str, device_uuid: str) -> None:
        """Start the fetch.

        Args:
            client: The Sell client (used by this thread only until `result` returns).
            session_id: The session.
            device_uuid: The device.
        """
        self._page: QueuePage | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        thread = threading.Thread(
            target=self._run,
            args=(client, session_id, device_uuid),
            name="tap-sell-sync-fetch",
            daemon=True,
        )
        thread.start()

    def _run(self, client: SellClient, session_id: str, device_uuid: str) -> None:
        try:
            self._page = client.fetch_page(session_id, device_uuid)
        except BaseException as exc:  # noqa: BLE001 - raised again in the waiting thread
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> QueuePage | None:
        """Wait for the page.

        Returns:
            The page, or None when the queue is drained.

        Raises:
            BaseException: Whatever the fetch raised.
        """
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._page


class SyncRun:
    """Drains one session of the main queue into a spool and hands each stream its records.

    See the module docstring for what is acked and when.
    """

    def __init__(  # noqa: PLR0913
        self,
        *,
        client: SellClient,
        ledger: AckLedger,
        routes: dict[str, Route],
        selected_streams: Iterable[str],
        options: RunOptions,
        write_state: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare a run; nothing is sent until `drain`.

        Args:
            client: The Sell client.
            ledger: Pending ack keys.
            routes: Resource type -> route.
            selected_streams: Names of the streams the catalog selects.
            options: Run settings.
            write_state: Writes a STATE message with the current state.
            clock: A monotonic clock (injectable for tests).
        """
        self.client = client
        self.ledger = ledger
        self.routes = routes
        self.selected = frozenset(selected_streams)
        self.options = options
        self.counters = RunCounters()
        self.stop_reason: str | None = None
        self._write_state = write_state
        self._clock = clock
        self._spool: Spool | None = None
        self._drained = False
        self._finished_streams: set[str] = set()
        self._started = clock()
        self._summary_logged = False

    @property
    def drained(self) -> bool:
        """Whether the drain has run."""
        return self._drained

    def drain(self) -> None:
        """Ack the incoming keys, start a session and drain the queue into the spool.

        Raises:
            SellApiError: When the incoming keys cannot be acked, the session cannot be
                started, or Sell refuses the token; the state is written first.
        """
        if self._drained:
            return
        self._drained = True
        self._started = self._clock()
        self._spool = Spool()
        try:
            self._ack_incoming()
            session = self.client.start_session(self.ledger.device_uuid)
            if session is None:
                LOGGER.info("Sell has nothing new for device %s (204).", self.ledger.device_uuid)
                self.stop_reason = "nothing to sync"
            else:
                LOGGER.info(
                    "Started sync session %s; about %s items queued.",
                    session.session_id,
                    "?" if session.total_count is None else session.total_count,
                )
                self._drain_session(session.session_id)
        except SellApiError as exc:
            self.stop_reason = f"failed: {exc}"
            self._write_state()
            self.finish()
            raise
        self._spool.index()

    def _ack_incoming(self) -> None:
        count = self.ledger.incoming_count
        if not count:
            return
        LOGGER.info("Acking %d keys that came back in the state.", count)
        try:
            self.ledger.ack_incoming(self.client, self.options.ack_batch_size)
        except SellApiError as exc:
            left = self.ledger.incoming_count
            self.counters.incoming_acked = count - left
            msg = (
                f"could not ack {left} pending keys, so no session was started; they stay "
                f"pending in the state and are acked on the next run: {exc}"
            )
            raise SellApiError(msg) from exc
        self.counters.incoming_acked = count

    def _drain_session(self, session_id: str) -> None:  # noqa: C901
        assert self._spool is not None  # noqa: S101
        device_uuid = self.ledger.device_uuid
        last_progress = self._clock()
        consecutive_empty = 0
        count_left: int | None = None
        pending: _PageFetch | None = None
        while True:
            if pending is None:
                self.stop_reason = self._bound_reached(self.counters.items)
                if self.stop_reason:
                    break
                pending = _PageFetch(self.client, session_id, device_uuid)
            try:
                page = pending.result()
            except SessionLostError as exc:
                self.stop_reason = str(exc)
                break
            except RetriableError as exc:
                self.stop_reason = f"gave up fetching after retries: {exc}"
                break
            pending = None
            if page is None:
                self.stop_reason = "queue drained"
                break

            # Ask for the next page before reading this one, so that reading it overlaps the
            # next round trip; the same checks as above decide whether to ask.
            consecutive_empty = 0 if page.items else consecutive_empty + 1
            if self._may_fetch_after(page, consecutive_empty):
                pending = _PageFetch(self.client, session_id, device_uuid)

            self.counters.pages += 1
            count_left = page.count_left if page.count_left is not None else count_left
            self._take_page(page)
            if not page.items:
                self.counters.empty_pages += 1
                if consecutive_empty >= MAX_CONSECUTIVE_EMPTY_PAGES:
                    self.stop_reason = f"{consecutive_empty} empty pages in a row"
                    break

            now = self._clock()
            if now - last_progress >= PROGRESS_INTERVAL_SECONDS:
                last_progress = now
                self._log_progress(count_left)

        if self.stop_reason == "queue drained":
            LOGGER.info(
                "Queue drained: %d items in %d pages.", self.counters.items, self.counters.pages
            )
        else:
            LOGGER.warning(
                "Drain stopped early: %s; %d items in %d pages. The items received are "
                "emitted; Sell keeps the rest for the next run.",
                self.stop_reason,
                self.counters.items,
                self.counters.pages,
            )

    def _bound_reached(self, items: int) -> str | None:
        """Tell whether the run's bounds forbid another fetch.

        Args:
            items: Items taken so far (counting a page about to be taken).

        Returns:
            Why the drain stops, or None to go on.
        """
        options = self.options
        if options.first_page_only and items:
            return "a connection test (--test) reads one page"
        if options.max_items and items >= options.max_items:
            return f"max_items_per_run ({options.max_items}) reached"
        if options.max_seconds and self._clock() - self._started >= options.max_seconds:
            return f"max_seconds_per_run ({options.max_seconds:g}) reached"
        return None

    def _may_fetch_after(self, page: QueuePage, consecutive_empty: int) -> bool:
        """Tell whether another page is to be fetched once this page is taken.

        Args:
            page: The page about to be taken.
            consecutive_empty: Empty pages in a row, this one included.

        Returns:
            True when neither the empty pages nor the run's bounds stop the drain.
        """
        if consecutive_empty >= MAX_CONSECUTIVE_EMPTY_PAGES:
            return False
        taken = len(page.items)
        if self.options.max_items:
            taken = max(0, min(taken, self.options.max_items - self.counters.items))
        return self._bound_reached(self.counters.items + taken) is None

    def _log_progress(self, count_left: int | None) -> None:
        elapsed = max(self._clock() - self._started, 1e-9)
        rate = self.counters.items / elapsed
        if count_left is None or rate <= 0:
            LOGGER.info("Progress: %d items, %.0f items/s.", self.counters.items, rate)
            return
        LOGGER.info(
            "Progress: %d items, about %d left, %.0f items/s, about %.0f s to go.",
            self.counters.items,
            count_left,
            rate,
            count_left / rate,
        )

    def _take_page(self, page: QueuePage) -> None:
        assert self._spool is not None  # noqa: S101
        counters = self.counters
        if not page.well_formed:
            counters.malformed_pages += 1
            LOGGER.warning("A queue page had no list of items; it is skipped.")
        self._note_failed_objects(page.failed_objects)

        items = page.items
        if self.options.max_items:
            room = self.options.max_items - counters.items
            items = items[:room]
        counters.items += len(items)

        deleted_at = _utc_now_text()
        rows = []
        policy_keys: list[str] = []
        for item in items:
            row = self._read_item(item, deleted_at, policy_keys)
            if row is not None:
                rows.append(row)
        if rows:
            self._spool.add(rows)
        if policy_keys:
            self.ledger.add(policy_keys)

    def _note_failed_objects(self, failed: list[t.Any]) -> None:
        for entry in failed:
            self.counters.failed_objects += 1
            if self.counters.failed_objects <= MAX_LOGGED_FAILED_OBJECTS:
                LOGGER.warning(
                    "Sell could not deliver %s (failed_objects).",
                    self._describe_failed_object(entry),
                )

    def _describe_failed_object(self, entry: object) -> str:
        """Name a ``failed_objects`` entry by its resource type and its key fields.

        Entries are ``{type, id}``, except associated contacts, which Sell names by
        ``deal_id`` and ``contact_id`` like their items.

        Args:
            entry: One entry of a page's ``failed_objects``.

        Returns:
            For example ``deal id=1`` or ``associated_contact deal_id=1 contact_id=9``.
        """
        if not isinstance(entry, dict):
            return _shown(entry)
        resource_type = entry.get("type")
        route = self.routes.get(resource_type) if isinstance(resource_type, str) else None
        key_fields = route.key_fields if route is not None else ("id",)
        key = " ".join(f"{name}={_shown(entry[name])}" for name in key_fields if name in entry)
        shown_type = resource_type if isinstance(resource_type, str) else _shown(resource_type)
        return f"{shown_type} {key}" if key else f"{shown_type} {_shown(entry)}"

    def _read_item(  # noqa: C901, PLR0911, PLR0912
        self,
        item: object,
        deleted_at: str,
        policy_keys: list[str],
    ) -> SpoolRow | None:
        counters = self.counters
        if not isinstance(item, dict):
            self._skip_unreadable(item, _envelope_problem(item))
            return None
        meta = item.get("meta")
        sync = meta.get("sync") if isinstance(meta, dict) else None
        if not isinstance(meta, dict) or not isinstance(sync, dict):
            self._skip_unreadable(item, _envelope_problem(item))
            return None
        ack_key = sync.get("ack_key")
        resource_type = meta.get("type")
        data = item.get("data")
        if (
            not isinstance(ack_key, str)
            or not is_valid_ack_key(ack_key)
            or not isinstance(resource_type, str)
            or not isinstance(data, dict)
        ):
            self._skip_unreadable(item, _envelope_problem(item))
            return None

        route = self.routes.get(resource_type)
        if route is None:
            counters.unknown[resource_type] = counters.unknown.get(resource_type, 0) + 1
            if self.options.ack_unknown_types:
                counters.unknown_acked += 1
                policy_keys.append(ack_key)
            return None
        if route.stream not in self.selected:
            if route.stream in self.options.unlisted_streams:
                counters.unlisted[route.stream] = counters.unlisted.get(route.stream, 0) + 1
                return None
            counters.deselected[route.stream] = counters.deselected.get(route.stream, 0) + 1
            if self.options.ack_deselected_streams:
                counters.deselected_acked += 1
                policy_keys.append(ack_key)
            return None

        key_values = []
        for name in route.key_fields:
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                self._skip_unreadable(
                    item,
                    f"key field {name} is missing"
                    if value is None
                    else f"key field {name} is not an integer",
                )
                return None
            key_values.append(value)

        event_type = sync.get("event_type")
        if event_type not in KNOWN_EVENT_TYPES:
            counters.unknown_event_types += 1
            event_type = event_type if isinstance(event_type, str) else None
        revision = _parse_revision(sync.get("revision"))

        if event_type == EVENT_DELETED:
            record: dict[str, t.Any] = dict(route.deleted_template)
            record.update(zip(route.key_fields, key_values, strict=True))
            record[DELETED_AT_COLUMN] = deleted_at
            is_delete = 1
        else:
            # Usually every field is in the schema: the item's own dict becomes the record.
            record = data if route.properties.issuperset(data) else self._schema_fields(route, data)
            # Money first: its exact decimal strings become numbers before the type checks.
            invalid = _convert_money(record, route.money_fields) if route.money_fields else []
            invalid += conform_record(record, route.checks)
            if invalid:
                counters.invalid_values.setdefault(route.stream, Counter()).update(invalid)
            is_delete = 0
        record[EVENT_TYPE_COLUMN] = event_type
        record[REVISION_COLUMN] = revision

        key_text = (
            str(key_values[0]) if len(key_values) == 1 else KEY_JOINER.join(map(str, key_values))
        )
        return (
            route.stream,
            key_text,
            revision,
            is_delete,
            _ENCODER.encode(record),
            ack_key,
        )

    def _skip_unreadable(self, item: object, reason: str) -> None:
        """Count an item that cannot be read; log the first few with what can be read of them.

        Args:
            item: The item as Sell sent it.
            reason: What is wrong with it.
        """
        counters = self.counters
        counters.unreadable += 1
        if counters.unreadable > MAX_LOGGED_UNREADABLE_ITEMS:
            return

        meta = item.get("meta") if isinstance(item, dict) else None
        data = item.get("data") if isinstance(item, dict) else None
        sync = meta.get("sync") if isinstance(meta, dict) else None
        resource_type = meta.get("type") if isinstance(meta, dict) else None
        ack_key = sync.get("ack_key") if isinstance(sync, dict) else None
        route = self.routes.get(resource_type) if isinstance(resource_type, str) else None
        key_fields = route.key_fields if route is not None else ("id",)
        key = (
            " ".join(f"{name}={_shown(data[name])}" for name in key_fields if name in data)
            if isinstance(data, dict)
            else ""
        )
        LOGGER.warning(
            "Unreadable item skipped, not acked: type %s, key %s, ack key %s: %s.",
            "?" if resource_type is None else _shown(resource_type),
            key or "?",
            "?" if ack_key is None else _shown(ack_key),
            reason,
        )
        if counters.unreadable == MAX_LOGGED_UNREADABLE_ITEMS:
            LOGGER.warning(
                "Further unreadable items are not logged one by one; the summary counts them.",
            )

    def _schema_fields(self, route: Route, data: dict[str, t.Any]) -> dict[str, t.Any]:
        """Keep the fields the stream's schema names; note the others for the summary.

        Args:
            route: The item's route.
            data: The item's data.

        Returns:
            A new dict with the named fields only.
        """
        properties = route.properties
        dropped = self.counters.dropped_fields.setdefault(route.stream, set())
        dropped.update(name for name in data if name not in properties)
        return {name: value for name, value in data.items() if name in properties}

    def records(self, stream: str) -> Iterator[dict[str, t.Any]]:
        """Yield one stream's records; after each yield returns, its ack keys become pending.

        The caller (the stream's ``get_records``) yields each record to the SDK, which
        writes it to stdout before asking for the next one; only then do the keys join the
        pending keys of the state.

        Args:
            stream: The stream name.

        Yields:
            The stream's records, newest revision per key, in ack key order.
        """
        self.drain()
        assert self._spool is not None  # noqa: S101
        counters = self.counters
        decode = _DECODER.decode
        emitted = deletes = 0
        for body, ack_keys, is_delete in self._spool.rows(stream):
            yield decode(body)
            keys = ack_keys.split(ACK_KEY_JOINER)
            if len(keys) > 1:
                unique = list(dict.fromkeys(keys))
                counters.superseded += len(unique) - 1
                keys = unique
            self.ledger.add(keys)
            emitted += 1
            deletes += is_delete
        counters.records[stream] = emitted
        counters.deletes[stream] = deletes
        self._finished_streams.add(stream)
        if self._finished_streams >= self.selected:
            self.finish()

    def note_dropped_by_map(self, stream: str) -> None:
        """Count a record that the stream maps dropped; its keys are acked like the rest.

        Args:
            stream: The stream name.
        """
        dropped = self.counters.dropped_by_maps
        dropped[stream] = dropped.get(stream, 0) + 1

    def finish(self) -> None:
        """Log the summary once and release the spool and the HTTP connections."""
        if self._summary_logged:
            return
        self._summary_logged = True
        if self._spool is not None:
            self._spool.close()
        self.client.close()
        self.log_summary()

    def log_summary(self) -> None:
        """Log what the run did."""
        counters = self.counters
        elapsed = self._clock() - self._started
        for stream in sorted(counters.records):
            if counters.records[stream]:
                LOGGER.info(
                    "Stream %s: %d records, %d of them deletes.",
                    stream,
                    counters.records[stream],
                    counters.deletes[stream],
                )
        if counters.dropped_by_maps:
            LOGGER.info(
                "Records the stream maps dropped (counted above; their keys are acked): %s.",
                ", ".join(f"{k} {v}" for k, v in sorted(counters.dropped_by_maps.items())),
            )
        for stream, names in sorted(counters.dropped_fields.items()):
            LOGGER.warning(
                "Stream %s: fields not in its schema were left out: %s.",
                stream,
                ", ".join(sorted(names)),
            )
        for stream, fields in sorted(counters.invalid_values.items()):
            LOGGER.warning(
                "Stream %s: values of the wrong type were set to null: %s.",
                stream,
                ", ".join(f"{name} {count}" for name, count in sorted(fields.items())),
            )
        if counters.deselected:
            LOGGER.info(
                "Items of deselected streams: %s; %s. Selecting such a stream later needs a "
                "full resync (a new device UUID).",
                ", ".join(f"{k} {v}" for k, v in sorted(counters.deselected.items())),
                "their keys are pending ack"
                if self.options.ack_deselected_streams
                else "not acked, so Sell sends them again",
            )
        if counters.unlisted:
            LOGGER.warning(
                "Items of streams the catalog does not list: %s; not acked, so Sell sends "
                "them again. Add the streams to the catalog (see --discover), selected or "
                "deselected.",
                ", ".join(f"{k} {v}" for k, v in sorted(counters.unlisted.items())),
            )
        if counters.unknown:
            LOGGER.warning(
                "Items of unknown resource types: %s; %s.",
                ", ".join(f"{k} {v}" for k, v in sorted(counters.unknown.items())),
                "their keys are pending ack (ack_unknown_types)"
                if self.options.ack_unknown_types
                else "not acked, so a newer tap can pick them up",
            )
        LOGGER.info(
            "Summary: %d items in %d pages (%d empty, %d without a list of items) in %.1f s; "
            "stopped: %s; %d records (%d deletes, %d dropped by stream maps); "
            "%d superseded revisions; "
            "%d unreadable items skipped; %d values of the wrong type set to null; "
            "%d strings with characters that are not valid Unicode repaired; "
            "%d unknown event types; %d failed_objects; %d incoming keys acked; %d keys "
            "pending ack; requests: %d (%s), %d retries.",
            counters.items,
            counters.pages,
            counters.empty_pages,
            counters.malformed_pages,
            elapsed,
            self.stop_reason or "not started",
            sum(counters.records.values()),
            sum(counters.deletes.values()),
            sum(counters.dropped_by_maps.values()),
            counters.superseded,
            counters.unreadable,
            sum(sum(fields.values()) for fields in counters.invalid_values.values()),
            self.client.counters.repaired_strings,
            counters.unknown_event_types,
            counters.failed_objects,
            counters.incoming_acked,
            self.ledger.pending_count,
            self.client.counters.total,
            ", ".join(f"{k}: {v}" for k, v in sorted(self.client.counters.by_call.items())),
            self.client.counters.retries,
        )
