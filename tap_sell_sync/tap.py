# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The tap-sell-sync Tap: settings and their validation, capabilities, streams, state wiring.

It builds one `SyncRun` per run, lazily, when the first selected stream asks for records;
building the tap (``--discover``, ``--about``) sends nothing to Sell.
"""

from __future__ import annotations

import contextlib
import decimal
import difflib
import fnmatch
import importlib.metadata
import io
import ipaddress
import json
import logging
import math
import os
import re
import signal
import sys
import typing as t
import urllib.parse
import uuid
from pathlib import Path

import click
import jsonschema
from dotenv import dotenv_values
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.configuration._dict_config import parse_environment_config
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import (
    ConfigValidationError,
    MapExpressionError,
    StreamMapConfigError,
)
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.helpers._state import StateWriter
from singer_sdk.helpers._typing import is_boolean_type
from singer_sdk.helpers.capabilities import (
    CapabilitiesEnum,
    PluginCapabilities,
    TapCapabilities,
)
from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.singerlib import SingerMessageType
from singer_sdk.tap_base import CliTestOptionValue
from typing_extensions import override

from tap_sell_sync import schemas
from tap_sell_sync.client import DEFAULT_MAX_RETRY_SECONDS, SellClient
from tap_sell_sync.conform import compile_properties
from tap_sell_sync.errors import (
    CatalogError,
    OutputError,
    SettingsError,
    StateError,
    TapSellSyncError,
)
from tap_sell_sync.queue import AckLedger, Route, RunOptions, SyncRun
from tap_sell_sync.schemas import MONEY_FIELDS
from tap_sell_sync.state import (
    STATE_BOOKMARK,
    UUID_FORM,
    IncomingState,
    is_valid_uuid,
    read_bookmark,
)
from tap_sell_sync.streams import STREAM_TYPES, SellStream

if t.TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from singer_sdk.helpers import types
    from singer_sdk.io_base import GenericSingerWriter
    from singer_sdk.singerlib.encoding.simple import Message

PACKAGE = "tap-sell-sync"
try:
    VERSION = importlib.metadata.version(PACKAGE)
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
    VERSION = "0.0.0"

DEFAULT_API_URL = "https://api.getbase.com"
DEFAULT_USER_AGENT = f"{PACKAGE}/{VERSION}"
DEFAULT_REQUEST_TIMEOUT = 60.0
MAX_REQUEST_TIMEOUT = 3600.0
MAX_RETRY_SECONDS = 86_400.0
DEFAULT_MAX_REQUESTS_PER_SECOND = 8.0
SELL_REQUESTS_PER_SECOND = 10.0
MAX_REQUESTS_PER_SECOND = 1000.0
# Slower than this, one request waits more than a minute: a mistake, not a setting.
MIN_REQUESTS_PER_SECOND = 1 / 60
DEFAULT_MAX_ITEMS_PER_RUN = 100_000
# Official clients ack one page (about 100 keys) per call; no maximum is documented. 1,000
# keys (about 20 kB of JSON) cut the ack calls tenfold and stay far from any body limit.
DEFAULT_ACK_BATCH_SIZE = 1000
MAX_ACK_BATCH_SIZE = 10_000
LOOPBACK_NAMES = frozenset({"localhost"})
REDACTED = "<redacted>"
NESTED_TOO_DEEPLY = "nested too deeply to read"
MAX_SHOWN_SETTING_CHARS = 60
BOOLEAN_WORDS = frozenset({"true", "1", "yes", "on", "false", "0", "no", "off"})
SIGNAL_EXIT_BASE = 128  # a run stopped by signal N exits with 128 + N, as shells report it
TOKEN_ENV_VAR = "TAP_SELL_SYNC_ACCESS_TOKEN"  # noqa: S105 - a variable name

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "access_token",
        th.StringType,
        required=True,
        secret=True,
        title="Access token",
        description="Sell OAuth or personal access token with the 'sync' scope.",
    ),
    th.Property(
        "device_uuid",
        th.StringType,
        title="Device UUID",
        description=(
            "The device Sell tracks acknowledgements for. Default: the one in the state, "
            "else a new one (a new device means a full resync)."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        title="API URL",
        description="Base URL of the Sell API; plain http only for loopback addresses.",
    ),
    th.Property(
        "user_agent",
        th.StringType,
        title="User agent",
        description=f"User-Agent header. Default: {PACKAGE}/<version>.",
    ),
    th.Property(
        "request_timeout",
        th.NumberType,
        default=DEFAULT_REQUEST_TIMEOUT,
        title="Request timeout",
        description="Seconds to wait for a connection and for each read.",
    ),
    th.Property(
        "max_requests_per_second",
        th.NumberType,
        default=DEFAULT_MAX_REQUESTS_PER_SECOND,
        title="Max requests per second",
        description=(
            "Client-side request rate. Sell allows about 10 a second per token, shared by "
            "every integration using it; higher values are meant for local emulators."
        ),
    ),
    th.Property(
        "max_items_per_run",
        th.IntegerType,
        default=DEFAULT_MAX_ITEMS_PER_RUN,
        title="Max items per run",
        description=(
            "Stop draining after this many items (0 or null: no bound). Keeps the state "
            "small; the next run continues."
        ),
    ),
    th.Property(
        "max_seconds_per_run",
        th.NumberType,
        title="Max seconds per run",
        description="Stop draining after this many seconds (null: no bound).",
    ),
    th.Property(
        "max_retry_seconds",
        th.NumberType,
        default=DEFAULT_MAX_RETRY_SECONDS,
        title="Max retry seconds",
        description=(
            "How long one call (start, fetch or ack) keeps retrying 429, 5xx, timeouts and "
            "dropped connections before the run gives up."
        ),
    ),
    th.Property(
        "ack_batch_size",
        th.IntegerType,
        default=DEFAULT_ACK_BATCH_SIZE,
        title="Ack batch size",
        description=f"Ack keys per ack call, 1 to {MAX_ACK_BATCH_SIZE}.",
    ),
    th.Property(
        "ack_unknown_types",
        th.BooleanType,
        default=False,
        title="Ack unknown types",
        description=(
            "Ack items of resource types this tap does not know (default: leave them "
            "un-acked so that no data is lost)."
        ),
    ),
    th.Property(
        "ack_deselected_streams",
        th.BooleanType,
        default=True,
        title="Ack deselected streams",
        description=(
            "Ack items of streams the catalog deselects. Selecting such a stream later "
            "needs a full resync (a new device UUID)."
        ),
    ),
).to_dict()


NUMBER_SETTINGS = (
    "request_timeout",
    "max_requests_per_second",
    "max_seconds_per_run",
    "max_retry_seconds",
)
INTEGER_SETTINGS = ("max_items_per_run", "ack_batch_size")
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _number_from_text(text: str, *, integer: bool) -> object:
    """Read a setting's text as a number, or return the text unchanged.

    Args:
        text: The text, without surrounding spaces.
        integer: Whether the setting takes whole numbers only.

    Returns:
        An int or a Decimal, or the text when it is not a number of that kind.
    """
    if integer:
        return int(text) if _INTEGER_TEXT.fullmatch(text) else text
    return decimal.Decimal(text) if _NUMBER_TEXT.fullmatch(text) else text


def _as_json(value: object) -> str:
    """Show a setting's value as it would be written in a JSON config file.

    Args:
        value: The value.

    Returns:
        Its JSON text, shortened when long.
    """
    text = str(value) if isinstance(value, decimal.Decimal) else json.dumps(value, default=str)
    return text if len(text) <= MAX_SHOWN_SETTING_CHARS else text[:MAX_SHOWN_SETTING_CHARS] + "..."


def _positive_number(
    config: t.Mapping[str, t.Any],
    name: str,
    upper: float | None = None,
    lower: float = 0,
) -> None:
    value = config.get(name)
    if value is None:
        return
    # JSON config files are read with exact decimals, so numbers may arrive as Decimal.
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        msg = f"{name} must be a number above 0, got {_as_json(value)}"
        raise SettingsError(msg)
    if not value > 0 or not math.isfinite(value):
        msg = f"{name} must be a number above 0, got {value}"
        raise SettingsError(msg)
    if value < lower:
        msg = f"{name} must be at least {lower:g}, got {value}"
        raise SettingsError(msg)
    if upper is not None and value > upper:
        msg = f"{name} must be at most {upper:g}, got {value}"
        raise SettingsError(msg)


def _check_api_url(value: object) -> None:
    if not isinstance(value, str) or not value:
        msg = "api_url must be a URL such as https://api.getbase.com"
        raise SettingsError(msg)
    try:
        parsed = urllib.parse.urlsplit(value)
        host = parsed.hostname
        _ = parsed.port
    except ValueError as exc:
        msg = f"api_url is not a valid URL: {exc}"
        raise SettingsError(msg) from exc
    if parsed.scheme not in {"http", "https"} or not host:
        msg = "api_url must be an http(s) URL with a host, such as https://api.getbase.com"
        raise SettingsError(msg)
    if parsed.username or parsed.password or "?" in value or "#" in value:
        msg = "api_url must not hold credentials, a query or a fragment"
        raise SettingsError(msg)
    if parsed.scheme == "http" and not _is_loopback(host):
        msg = "api_url must use https (plain http is allowed only for loopback addresses)"
        raise SettingsError(msg)


def _fits_header(text: str) -> bool:
    """Tell whether text can be sent in an HTTP header (which requests encodes as Latin-1).

    Args:
        text: The header value.

    Returns:
        True when every character is Latin-1.
    """
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_settings(config: t.Mapping[str, t.Any]) -> None:
    """Check the settings beyond what the JSON schema says.

    Args:
        config: The tap's configuration.

    Raises:
        SettingsError: For the first mistake found.
    """
    token = config.get("access_token")
    if not isinstance(token, str) or not token.strip():
        msg = "access_token is required: a Sell access token with the 'sync' scope"
        raise SettingsError(msg)
    if any(char.isspace() or not char.isprintable() for char in token):
        msg = "access_token must not contain spaces or control characters"
        raise SettingsError(msg)
    if not _fits_header(token):
        msg = (
            "access_token holds characters that cannot go in an HTTP header (only Latin-1 "
            "text can); paste the token exactly as Sell shows it"
        )
        raise SettingsError(msg)
    device = config.get("device_uuid")
    if device is not None and not is_valid_uuid(device):
        msg = f"device_uuid must be a UUID of {UUID_FORM}"
        raise SettingsError(msg)
    _check_api_url(config.get("api_url", DEFAULT_API_URL))
    agent = config.get("user_agent")
    if agent is not None and (
        not isinstance(agent, str)
        or not agent.strip()
        or not agent.isprintable()
        or not _fits_header(agent)
    ):
        msg = "user_agent must be a non-empty line of printable text"
        raise SettingsError(msg)
    _positive_number(config, "request_timeout", MAX_REQUEST_TIMEOUT)
    _positive_number(
        config, "max_requests_per_second", MAX_REQUESTS_PER_SECOND, MIN_REQUESTS_PER_SECOND
    )
    _positive_number(config, "max_seconds_per_run")
    _positive_number(config, "max_retry_seconds", MAX_RETRY_SECONDS)
    items = config.get("max_items_per_run")
    if items is not None and (isinstance(items, bool) or not isinstance(items, int) or items < 0):
        msg = f"max_items_per_run must be 0 (no bound) or a positive integer, got {_as_json(items)}"
        raise SettingsError(msg)
    batch = config.get("ack_batch_size")
    if batch is not None and (
        isinstance(batch, bool)
        or not isinstance(batch, int)
        or not 1 <= batch <= MAX_ACK_BATCH_SIZE
    ):
        msg = (
            f"ack_batch_size must be an integer from 1 to {MAX_ACK_BATCH_SIZE}, "
            f"got {_as_json(batch)}"
        )
        raise SettingsError(msg)
    for name in ("ack_unknown_types", "ack_deselected_streams"):
        if name in config and not isinstance(config[name], bool):
            msg = f"{name} must be true or false, got {_as_json(config[name])}"
            raise SettingsError(msg)


def redact(message: str, secret: object) -> str:
    """Remove a secret from a message.

    Args:
        message: The text to show.
        secret: The value that must not appear.

    Returns:
        The message with every occurrence of the secret replaced.
    """
    for form in {str(secret), repr(secret)} if secret not in (None, "") else ():
        message = message.replace(form, REDACTED)
    return message


class _SecretFilter(logging.Filter):
    """Replaces secrets in every log line a handler writes, traceback text included.

    Sell or a proxy may echo the token in an error body, which then travels in retry
    warnings and the summary; this filter is the last line of defence for all of them.
    """

    def __init__(self) -> None:
        """Start with no secret."""
        super().__init__()
        self.secrets: set[str] = set()

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        hidden = self._hide(message)
        if hidden is not message:
            record.msg, record.args = hidden, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._hide(record.exc_text)
        return True

    def _hide(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


_SECRET_FILTER = _SecretFilter()


def hide_in_logs(secret: object) -> None:
    """Keep a secret out of every log line, on every handler configured so far.

    Args:
        secret: The value; ignored unless it is a non-empty string.
    """
    if not isinstance(secret, str) or not secret.strip():
        return
    _SECRET_FILTER.secrets.add(secret)
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if _SECRET_FILTER not in handler.filters:
                handler.addFilter(_SECRET_FILTER)


class _RecordBufferingWriter(MsgSpecWriter):
    """The msgspec writer, flushing stdout after every message except RECORD.

    The SDK's writer flushes after each message, one system call per record. Records now
    wait in stdout's buffer until the next SCHEMA or STATE message (or the end of the
    run), which writes them out in order before itself, so a STATE still follows the
    RECORDs of the keys it holds.
    """

    def __init__(self) -> None:
        """Start with no write in progress."""
        super().__init__()
        self.writing = False
        # Set by a signal that arrived during a write, run once that write is done.
        self.after_write: Callable[[], None] | None = None

    @override
    def write_message(self, message: Message) -> None:
        self.writing = True
        try:
            sys.stdout.buffer.write(self.format_message(message))
            if message.type != SingerMessageType.RECORD:
                sys.stdout.flush()
        except OSError as exc:
            # Nothing more can reach the target; what it stored is in the last STATE it
            # printed, and nothing after that is acked.
            _silence_stdout()
            reason = (
                "the target stopped reading (broken pipe)"
                if isinstance(exc, BrokenPipeError)
                else exc.strerror or str(exc)
            )
            msg = (
                f"cannot write to standard output: {reason}; nothing after the last state "
                "the target printed is acked"
            )
            raise OutputError(msg) from exc
        finally:
            self.writing = False
        if self.after_write is not None:
            after_write, self.after_write = self.after_write, None
            after_write()


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the exit does not fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        return


class _PendingKeysStateWriter(StateWriter):
    """Puts the current device UUID and pending ack keys into the state before each write."""

    def __init__(
        self, message_writer: GenericSingerWriter[t.Any, t.Any], refresh: Callable[[], None]
    ) -> None:
        super().__init__(message_writer)
        self._refresh = refresh

    @override
    def write_state(self, state: types.TapState) -> None:
        self._refresh()
        super().write_state(state)


class TapSellSync(Tap):
    """Singer tap for Zendesk Sell through the Sync API, acking only what the target stored."""

    name = PACKAGE
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = _RecordBufferingWriter
    # Set for ``--test``, which reads one page of the queue (see `cb_test`).
    connection_test: t.ClassVar[bool] = False
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.DISCOVER,
        TapCapabilities.STATE,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
        TapCapabilities.LOG_BASED,
    ]

    def __init__(self, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Build the tap; validates settings and state, sends nothing.

        Args:
            kwargs: Passed to `singer_sdk.Tap`.
        """
        self._incoming = IncomingState(None, {})
        self._sync_run: SyncRun | None = None
        super().__init__(**kwargs)
        hide_in_logs(self.config.get("access_token"))
        if kwargs.get("validate_config", True):
            validate_settings(self.config)

        configured = self.config.get("device_uuid")
        if configured:
            self.device_uuid = str(configured)
            self._device_reason = "from the device_uuid setting"
        elif self._incoming.device_uuid:
            self.device_uuid = self._incoming.device_uuid
            self._device_reason = "from the state"
        else:
            self.device_uuid = str(uuid.uuid4())
            self._device_reason = (
                "new: neither the settings nor the state name one, so Sell sends every "
                "object, a full resync"
            )
        self.ledger = AckLedger(self.device_uuid, self._incoming.pending)
        self._state_writer = _PendingKeysStateWriter(self.message_writer, self._refresh_bookmark)
        # A state from the start, so that the SDK writes one before the first record.
        # Targets built like pipelinewise's (target-duckdb) take the first state they see
        # for stored, even when records before it are still in memory: this one holds only
        # keys that came back in the state, stored by definition.
        self._refresh_bookmark()
        self._check_catalog_selection()
        self._check_stream_maps()

    @classproperty
    def _env_var_config(cls) -> dict[str, t.Any]:  # noqa: N805
        """Read the TAP_SELL_SYNC_* variables, and a ``.env`` of the current folder.

        The SDK would read the first ``.env`` found above its own installation, whatever the
        current folder, and let it override variables already set: a project's ``.env``,
        where Meltano keeps the token, could then replace an exported loopback ``api_url``.
        Here only ``./.env`` is read, and only for variables that are not set.

        Returns:
            The settings found.
        """
        schema = cls.config_jsonschema
        cls.append_builtin_config(schema)
        prefix = cls._env_var_prefix
        local = Path.cwd() / ".env"
        if local.is_file():
            for name, value in dotenv_values(local).items():
                if name.startswith(prefix) and value is not None:
                    os.environ.setdefault(name, value)
        # The SDK reads any word but true, 1, yes and on as false: a typo would turn a
        # policy off.
        for name, property_schema in schema.get("properties", {}).items():
            variable = prefix + name.upper()
            value = os.environ.get(variable)
            if (
                value is not None
                and is_boolean_type(property_schema)
                and value.lower() not in BOOLEAN_WORDS
            ):
                msg = f"{variable} must be true or false (or 1/0, yes/no, on/off), got {value!r}"
                raise ValueError(msg)
        return parse_environment_config(schema, prefix, dotenv_path=os.devnull)

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Read number settings given as text first, then validate the settings.

        Environment variables, and Meltano settings set from the command line, arrive as
        text: ``"2.5"`` for ``max_requests_per_second`` is read as 2.5, ``"500"`` for
        ``ack_batch_size`` as 500. Text that is not a number is left for the check to refuse.

        Args:
            raise_errors: Raise on the first error rather than warn.

        Returns:
            The errors found.
        """
        config = self._config
        for name in NUMBER_SETTINGS + INTEGER_SETTINGS:
            value = config.get(name)
            if isinstance(value, str) and value.strip():
                config[name] = _number_from_text(value.strip(), integer=name in INTEGER_SETTINGS)
        errors = super()._validate_config(raise_errors=raise_errors)
        known = set(self.config_jsonschema.get("properties", {}))
        for name in sorted(set(config) - known):
            # Names only: a value under a misspelt name may be the token.
            close = difflib.get_close_matches(name, known, n=1)
            self.logger.warning(
                "Unknown setting %r is ignored%s.",
                name,
                f" (did you mean {close[0]}?)" if close else "",
            )
        return errors

    @override
    def discover_streams(self) -> list[SellStream]:
        """Return one stream per Sell resource type.

        Returns:
            The streams.
        """
        return [stream_type(self) for stream_type in STREAM_TYPES]

    @override
    def load_state(self, state: dict[str, t.Any]) -> None:
        """Load the state and capture the device UUID and the ack keys pending in it.

        Args:
            state: The incoming state.

        Raises:
            StateError: When the state is not what this tap writes.
        """
        if not isinstance(t.cast("object", state), dict):
            msg = "the state must be a JSON object"
            raise StateError(msg)
        bookmarks = state.get("bookmarks", {})
        if not isinstance(bookmarks, dict) or not all(
            isinstance(value, dict) for value in bookmarks.values()
        ):
            msg = "the state's bookmarks must be an object of objects"
            raise StateError(msg)
        if state and "bookmarks" not in state:
            msg = (
                'the state has no "bookmarks", so it was not written by this tap (a config '
                "or another file?); pass the state this tap wrote, or {} for a first run"
            )
            raise StateError(msg)
        if bookmarks and STATE_BOOKMARK not in bookmarks:
            msg = (
                f"the state's bookmarks lack {STATE_BOOKMARK}, so it was written by another "
                "tap; pass the state this tap wrote, or {} for a first run"
            )
            raise StateError(msg)
        super().load_state(state)
        self._incoming = read_bookmark(bookmarks.get(STATE_BOOKMARK))

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """Write the state, say the run was stopped, and exit with 128 plus the signal number.

        The SDK exits 0 here, which tells Meltano and orchestrators that the run completed.
        The state written holds the keys of the records emitted so far, so the next run
        acks those and Sell sends the rest again. A signal that interrupts a write (a slow
        target) waits for that write to finish, so that the state follows a whole line; a
        second signal meanwhile stops at once, without a final state.

        Args:
            signum: The signal number.
            frame: The interrupted frame.
        """
        writer = self.message_writer
        if isinstance(writer, _RecordBufferingWriter) and writer.writing:
            if writer.after_write is None:
                writer.after_write = lambda: self._stop(signum)
                return
            self._stop(signum, write_state=False)
        self._stop(signum)

    def _stop(self, signum: int, *, write_state: bool = True) -> t.NoReturn:
        name = signal.Signals(signum).name
        written = False
        if write_state:
            with contextlib.suppress(OSError, RuntimeError, ValueError, TapSellSyncError):
                self._state_writer.write_state(self.state)
                written = True
        if written:
            self.logger.warning(
                "Stopped by %s: the state written keeps the keys of the records emitted so "
                "far; Sell sends the rest again in the next run.",
                name,
            )
        else:
            self.logger.warning(
                "Stopped by %s before a final state could be written: the target's last "
                "state stands, and Sell sends everything after it again in the next run.",
                name,
            )
        sys.exit(SIGNAL_EXIT_BASE + signum)

    def _check_stream_maps(self) -> None:
        """Warn of stream maps that name no stream of the tap or send records to another's."""
        maps = self.config.get("stream_maps")
        if not isinstance(maps, dict) or self._mapper is None:
            return
        names = set(self.streams)
        sources = {
            name: str(value.get("__source__", name)) if isinstance(value, dict) else name
            for name, value in maps.items()
        }
        unmatched = sorted(
            name
            for name, source in sources.items()
            if not any(fnmatch.fnmatchcase(stream, source) for stream in names)
        )
        if unmatched:
            self.logger.warning(
                "stream_maps name streams this tap does not have, which nothing matches: %s.",
                ", ".join(unmatched),
            )
        senders: dict[str, list[str]] = {}
        for stream, stream_maps in self._mapper.stream_maps.items():
            for stream_map in stream_maps:
                if not isinstance(stream_map, RemoveRecordTransform):
                    senders.setdefault(stream_map.stream_alias, []).append(stream)
        for alias, streams in sorted(senders.items()):
            mixed = sorted(set(streams))
            if len(mixed) > 1:
                self.logger.warning(
                    "Stream maps send records of %s into one stream, %s: targets would mix "
                    "them in one table and overwrite rows that share a key.",
                    " and ".join(mixed),
                    alias,
                )

    def _unlisted_streams(self) -> list[str]:
        """The tap's streams that the input catalog leaves out, if a catalog was given.

        Returns:
            Their names, sorted.
        """
        catalog = self.input_catalog
        if catalog is None:
            return []
        return sorted(set(self.streams) - set(catalog))

    def _check_catalog_selection(self) -> None:
        """Warn of a catalog that leaves streams out, names unknown ones or selects none."""
        catalog = self.input_catalog
        if catalog is None:
            return
        unlisted = self._unlisted_streams()
        if unlisted:
            self.logger.warning(
                "The catalog does not list streams %s (it may predate them): their items are "
                "not acked and come again every run until the catalog lists them (run "
                "--discover), selected or deselected.",
                ", ".join(unlisted),
            )
        unknown = sorted(set(catalog) - set(self.streams))
        if unknown:
            self.logger.warning(
                "The catalog names streams this tap does not have, which are ignored: %s.",
                ", ".join(unknown),
            )
        if not any(stream.selected for stream in self.streams.values()):
            self.logger.warning(
                "The catalog selects no stream: no session is started, nothing is synced and "
                "no key is acked. Select streams, or run without a catalog to sync them all.",
            )

    def _refresh_bookmark(self) -> None:
        ledger = getattr(self, "ledger", None)
        if ledger is not None:
            self.state.setdefault("bookmarks", {})[STATE_BOOKMARK] = ledger.bookmark()

    def _routes(self) -> dict[str, Route]:
        routes = {}
        for stream in self.streams.values():
            if isinstance(stream, SellStream):
                # Items are keyed by the resource type's own key, whatever the catalog says:
                # a catalog without a key would otherwise fold every item onto one key.
                own_key = tuple(type(stream).primary_keys)
                catalog_key = tuple(stream.primary_keys or ())
                if catalog_key != own_key:
                    self.logger.warning(
                        "The catalog gives stream %s the key (%s) instead of (%s): the tap "
                        "still keeps the newest revision per %s, but targets upsert by the "
                        "catalog's key%s.",
                        stream.name,
                        ", ".join(catalog_key),
                        ", ".join(own_key),
                        " and ".join(own_key),
                        "" if catalog_key else " (none: they append every record)",
                    )
                routes[stream.resource_type] = Route(
                    resource_type=stream.resource_type,
                    stream=stream.name,
                    key_fields=own_key,
                    properties=self._emitted_properties(stream, own_key),
                    money_fields=MONEY_FIELDS.get(stream.resource_type, ()),
                    checks=compile_properties(_announced_schema(stream)),
                )
        return routes

    @staticmethod
    def _emitted_properties(stream: SellStream, own_key: tuple[str, ...]) -> frozenset[str]:
        """The properties a stream's records hold: those of the schema its SCHEMA announces.

        A catalog may narrow a stream's schema; records then follow it, so that they match
        the SCHEMA message. It may not drop the key or the tap's own columns of a selected
        stream: a delete would then reach the target as a live-looking row.

        Args:
            stream: The stream.
            own_key: The resource type's key fields.

        Returns:
            The property names.

        Raises:
            CatalogError: When the catalog's schema of a selected stream lacks a needed one.
        """
        own = frozenset(stream.schema["properties"])
        properties = own & frozenset(_announced_schema(stream)["properties"])
        missing = [
            name
            for name in (*own_key, *schemas.TAP_COLUMNS)
            if name not in properties and stream.selected
        ]
        if missing:
            msg = (
                f"the catalog's schema of stream {stream.name} lacks {', '.join(missing)}, "
                "which the tap needs to load deletes; deselect fields in the catalog's "
                "metadata instead of removing them from its schema, or run --discover again"
            )
            raise CatalogError(msg)
        return properties

    def build_client(self) -> SellClient:
        """Create the HTTP client from the settings.

        Returns:
            The client.
        """
        config = self.config
        return SellClient(
            api_url=config.get("api_url") or DEFAULT_API_URL,
            access_token=config["access_token"],
            user_agent=config.get("user_agent") or DEFAULT_USER_AGENT,
            timeout=float(config.get("request_timeout") or DEFAULT_REQUEST_TIMEOUT),
            max_requests_per_second=float(
                config.get("max_requests_per_second") or DEFAULT_MAX_REQUESTS_PER_SECOND,
            ),
            max_retry_seconds=float(config.get("max_retry_seconds") or DEFAULT_MAX_RETRY_SECONDS),
        )

    def sync_run(self) -> SyncRun:
        """Return this run's queue drain, creating it on first use.

        Returns:
            The run.
        """
        if self._sync_run is None:
            config = self.config
            selected = [name for name, stream in self.streams.items() if stream.selected]
            options = RunOptions(
                ack_batch_size=config.get("ack_batch_size") or DEFAULT_ACK_BATCH_SIZE,
                max_items=config.get("max_items_per_run", DEFAULT_MAX_ITEMS_PER_RUN) or None,
                max_seconds=float(config.get("max_seconds_per_run") or 0) or None,
                ack_unknown_types=bool(config.get("ack_unknown_types", False)),
                ack_deselected_streams=bool(config.get("ack_deselected_streams", True)),
                unlisted_streams=frozenset(self._unlisted_streams()),
                first_page_only=self.connection_test,
            )
            self.logger.info("Syncing as device %s (%s).", self.device_uuid, self._device_reason)
            rate = float(config.get("max_requests_per_second") or DEFAULT_MAX_REQUESTS_PER_SECOND)
            if rate > SELL_REQUESTS_PER_SECOND:
                self.logger.warning(
                    "max_requests_per_second is %g, above Sell's limit of about %g a second: "
                    "expect 429 answers from Sell.",
                    rate,
                    SELL_REQUESTS_PER_SECOND,
                )
            for device in self._incoming.pending:
                if device != self.device_uuid:
                    self.logger.info(
                        "Keys pending for device %s are acked with that device.",
                        device,
                    )
            deselected = sorted(set(self.streams) - set(selected) - options.unlisted_streams)
            if deselected:
                self.logger.info(
                    "Deselected streams: %s. Their items are %s; selecting one later needs a "
                    "full resync (a new device UUID).",
                    ", ".join(deselected),
                    "acked without being emitted"
                    if options.ack_deselected_streams
                    else "left un-acked, so Sell sends them again every run",
                )
            self._sync_run = SyncRun(
                client=self.build_client(),
                ledger=self.ledger,
                routes=self._routes(),
                selected_streams=selected,
                options=options,
                write_state=lambda: self.state_writer.write_state(self.state),
            )
        return self._sync_run

    @classmethod
    @override
    def cb_config(
        cls,
        ctx: click.Context,
        param: click.Option,
        value: tuple[str, ...],
    ) -> _ConfigInput:
        """Read the config files; a missing or malformed file ends with one line and exit 1.

        Args:
            ctx: Click context.
            param: Click option.
            value: The --config arguments.

        Returns:
            The merged configuration input.
        """
        try:
            # The SDK merges each file into a dict, so a JSON list of pairs, or an empty list,
            # would pass as settings, and other lists fail with Python's own words; only an
            # object is a config file, so that is checked first.
            for path in value:
                if path != "ENV" and not isinstance(json.loads(_read_text(path)), dict):
                    msg = f"{path} must hold a JSON object of settings, not a list or a value"
                    raise ValueError(msg)  # noqa: TRY301
            config = super().cb_config(ctx, param, value)
        except (OSError, ValueError, TypeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            if isinstance(exc, RecursionError):
                reason = NESTED_TOO_DEEPLY
            cls.logger.error("cannot read the config file: %s", reason)  # noqa: TRY400
            ctx.exit(1)
        # Here rather than in `invoke`: --discover and --test run before it.
        token = _find_token(config)
        hide_in_logs(token)
        if config.parse_env:
            try:
                _check_environment_settings(cls)
            except SettingsError as exc:
                cls.logger.error("%s", redact(str(exc), token))  # noqa: TRY400
                ctx.exit(1)
        return config

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """Run ``--test``; a user's mistake ends with one line and exit 1.

        Args:
            ctx: Click context.
            param: Click option.
            value: The --test argument.
        """
        config: _ConfigInput = ctx.params.get("config", _ConfigInput())
        # One page of the queue shows that the settings work; without this bound the drain
        # before the first record would read the whole queue, up to 100,000 items.
        cls.connection_test = value != CliTestOptionValue.Disabled.value
        try:
            super().cb_test(ctx, param, value)
        except ConfigValidationError as exc:
            message = "invalid settings: " + "; ".join(exc.errors or [str(exc)])
            cls.logger.error("%s", redact(message, _find_token(config)))  # noqa: TRY400
            ctx.exit(1)
        except TapSellSyncError as exc:
            cls.logger.error("%s", redact(str(exc), _find_token(config)))  # noqa: TRY400
            ctx.exit(1)

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """Build the command; ``--catalog`` takes a path that `invoke` reads and checks.

        Click would answer a missing catalog file with a usage error (exit code 2) and the
        SDK a malformed one with a traceback; `invoke` gives one line and exit code 1.

        Returns:
            The command.
        """
        command = super().get_singer_command()
        for param in command.params:
            if param.name == "catalog":
                param.type = click.STRING
        return command

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: _ConfigInput | None = None,
        state: t.IO[str] | None = None,
        catalog: t.IO[str] | str | None = None,
    ) -> None:
        """Run the tap; a user's mistake or a Sell refusal ends with one line and exit 1.

        Args:
            about: Display package metadata and settings.
            about_format: Output style for ``--about``.
            config: Configuration input.
            state: The state file.
            catalog: The catalog file (its path, from the command line).
        """
        token: object = None
        try:
            if config is not None:
                token = _find_token(config)
            if state is not None:
                state = io.StringIO(_read_state_text(state))
            if isinstance(catalog, str):
                catalog = io.StringIO(_read_catalog_text(catalog))
            super().invoke(
                about=about,
                about_format=about_format,
                config=config,
                state=state,
                catalog=catalog,
            )
        except ConfigValidationError as exc:
            message = "invalid settings: " + "; ".join(exc.errors or [str(exc)])
            cls.logger.error("%s", redact(message, token))  # noqa: TRY400
            sys.exit(1)
        except TapSellSyncError as exc:
            cls.logger.error("%s", redact(str(exc), token))  # noqa: TRY400
            sys.exit(1)
        except (MapExpressionError, StreamMapConfigError) as exc:
            # Maps that fail on a record end in the streams, naming it; these are the
            # settings the SDK cannot read or parse.
            reason = " ".join(str(exc).split())
            cls.logger.error("the stream_maps setting is wrong: %s", redact(reason, token))  # noqa: TRY400
            sys.exit(1)


def _announced_schema(stream: SellStream) -> dict[str, t.Any]:
    """The schema a stream's SCHEMA message carries: the catalog's, else the tap's own.

    Records follow it: they hold only its properties, and values are held to its types, so
    that a catalog that narrows the schema or changes a type (Meltano's ``schema`` extra)
    gets records that match.

    Args:
        stream: The stream.

    Returns:
        The schema, with an object of properties.
    """
    schema = stream.effective_schema
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        return schema
    return stream.schema


def _check_environment_settings(tap_class: type[TapSellSync]) -> None:
    """Read the TAP_SELL_SYNC_* variables once, so that a bad one ends with one line.

    Args:
        tap_class: The tap class, which knows the settings and their types.

    Raises:
        SettingsError: A variable that cannot be read as its setting's type.
    """
    try:
        _ = tap_class._env_var_config  # noqa: SLF001
    except ValueError as exc:
        msg = f"a {tap_class._env_var_prefix}* environment variable cannot be read: {exc}"  # noqa: SLF001
        raise SettingsError(msg) from exc


def _read_text(path: str) -> str:
    """Read a settings file.

    Args:
        path: The file.

    Returns:
        Its text.
    """
    with open(path, encoding="utf-8") as file:  # noqa: PTH123
        return file.read()


def _find_token(config: _ConfigInput) -> object:
    """Find the access token in the settings, to keep it out of error messages.

    Args:
        config: The CLI's configuration input.

    Returns:
        The token as found, or None.
    """
    if "access_token" in config.config:
        return config.config["access_token"]
    if config.parse_env:
        return os.environ.get(TOKEN_ENV_VAR)
    return None


def _read_catalog_text(path: str) -> str:
    """Read the catalog file and check that it is a JSON object.

    Args:
        path: The file given with --catalog.

    Returns:
        The file's text.

    Raises:
        CatalogError: When it is missing, unreadable, empty or not a JSON object.
    """
    try:
        text = _read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        msg = f"cannot read the catalog file {path}: {reason}"
        raise CatalogError(msg) from exc
    if not text.strip():
        msg = f"the catalog file {path} is empty; pass the output of --discover, or no catalog"
        raise CatalogError(msg)
    try:
        value = json.loads(text)
        problem = _catalog_problem(value) if isinstance(value, dict) else None
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        if isinstance(exc, RecursionError):
            reason = NESTED_TOO_DEEPLY
        msg = f"the catalog file {path} is not JSON ({reason})"
        raise CatalogError(msg) from exc
    if not isinstance(value, dict):
        msg = f"the catalog file {path} must hold a JSON object, as --discover writes"
        raise CatalogError(msg)
    if problem:
        msg = f"the catalog file {path} is not a catalog as --discover writes: {problem}"
        raise CatalogError(msg)
    return text


# The parts of a Singer catalog the SDK reads, with the types it expects of them.
_CATALOG_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "required": ["streams"],
    "properties": {
        "streams": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tap_stream_id"],
                "properties": {
                    "tap_stream_id": {"type": "string"},
                    "stream": {"type": "string"},
                    "schema": {
                        "type": "object",
                        "properties": {
                            "properties": {
                                "type": "object",
                                "additionalProperties": {"type": ["object", "boolean"]},
                            },
                        },
                    },
                    "key_properties": {"type": ["array", "null"], "items": {"type": "string"}},
                    "replication_key": {"type": ["string", "null"]},
                    "replication_method": {"type": ["string", "null"]},
                    "metadata": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["breadcrumb", "metadata"],
                            "properties": {
                                "breadcrumb": {"type": "array", "items": {"type": "string"}},
                                "metadata": {
                                    "type": "object",
                                    "properties": {
                                        "selected": {"type": "boolean"},
                                        "selected-by-default": {"type": "boolean"},
                                        "inclusion": {
                                            "enum": ["available", "automatic", "unsupported"],
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
_CATALOG_VALIDATOR = jsonschema.Draft7Validator(_CATALOG_SCHEMA)
MAX_SHOWN_CATALOG_CHARS = 80


def _catalog_problem(catalog: dict[str, t.Any]) -> str | None:
    """Find the first part of a catalog that the SDK could not read.

    Args:
        catalog: The parsed catalog.

    Returns:
        Where and what the problem is, or None.
    """
    error = jsonschema.exceptions.best_match(_CATALOG_VALIDATOR.iter_errors(catalog))
    if error is None:
        for index, entry in enumerate(catalog["streams"]):
            if "schema" not in entry:
                continue
            try:
                jsonschema.Draft7Validator.check_schema(entry["schema"])
            except jsonschema.exceptions.SchemaError as exc:
                error = exc
                error.path.extendleft(reversed(["streams", index, "schema"]))
                break
        else:
            return None
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.path)
    message = " ".join(error.message.split())
    if len(message) > MAX_SHOWN_CATALOG_CHARS:
        message = message[:MAX_SHOWN_CATALOG_CHARS] + "..."
    return f"{where.lstrip('.') or 'the top level'}: {message}"


def _read_state_text(state: t.IO[str]) -> str:
    """Read the state file and check that it is a JSON object.

    Args:
        state: The state file.

    Returns:
        The file's text.

    Raises:
        StateError: When it is empty or not a JSON object.
    """
    text = state.read()
    if not text.strip():
        msg = "the state file is empty; pass a state written by this tap, or no state"
        raise StateError(msg)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = NESTED_TOO_DEEPLY if isinstance(exc, RecursionError) else str(exc)
        msg = f"the state file is not JSON ({reason})"
        raise StateError(msg) from exc
    if not isinstance(value, dict):
        msg = "the state file must hold a JSON object"
        raise StateError(msg)
    if value.get("type") == "STATE" and "value" in value:
        msg = (
            "the state file holds a whole STATE message; pass only its value (the object "
            'under "value")'
        )
        raise StateError(msg)
    if "bookmarks" not in value and set(value) & {"singer_state", "value"}:
        # `meltano state get` prints the state wrapped in "singer_state".
        msg = (
            "the state file holds a wrapped state; pass only the object under "
            '"singer_state" (or "value"), which has "bookmarks" at its top level'
        )
        raise StateError(msg)
    return text
