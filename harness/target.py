# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""target-harness-sqlite: a small singer-sdk target that upserts records into one SQLite file.

It is a real Singer target built on the SDK's `Target` and `BatchSink`: each batch is written
in one transaction, and the SDK prints a STATE only after it drained every sink, so a printed
state never names a record that is not committed. The drain interval is short (a setting) so
that states are printed during a run, not only at its end.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sqlite3
import threading
import typing as t

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink
from typing_extensions import override

SECONDS_PER_MINUTE = 60.0
DEFAULT_DRAIN_INTERVAL_SECONDS = 0.5
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
_WRITE_LOCK = threading.Lock()

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS records (
    stream TEXT NOT NULL,
    key TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (stream, key)
)
"""


def _json_default(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    msg = f"cannot store a {type(value).__name__}"
    raise TypeError(msg)


class SqliteUpsertSink(BatchSink):
    """Writes one batch per transaction; a record replaces the stored one with the same key."""

    @override
    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Upsert the batch's records in one transaction.

        Args:
            context: The batch, its records under ``records``.
        """
        key_names = list(self.key_properties or [])
        rows = [
            (
                self.stream_name,
                json.dumps([record.get(name) for name in key_names]),
                json.dumps(record, default=_json_default, sort_keys=True),
            )
            for record in context.get("records", [])
        ]
        with _WRITE_LOCK:
            connection = sqlite3.connect(self.config["path"], timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
            try:
                with connection:
                    connection.execute(SCHEMA_SQL)
                    connection.executemany(
                        "INSERT INTO records (stream, key, record) VALUES (?, ?, ?) "
                        "ON CONFLICT (stream, key) DO UPDATE SET record = excluded.record",
                        rows,
                    )
            finally:
                connection.close()


class TargetHarnessSqlite(Target):
    """A Singer target that keeps the newest record per stream and key in SQLite."""

    name = "target-harness-sqlite"
    default_sink_class = SqliteUpsertSink
    config_jsonschema = th.PropertiesList(
        th.Property("path", th.StringType, required=True, description="The SQLite file."),
        th.Property(
            "state_before_commit",
            th.BooleanType,
            default=False,
            description=(
                "Print each state as soon as it arrives, before the records before it are "
                "committed: a broken target, for checking that the harness notices."
            ),
        ),
        th.Property(
            "drain_interval_seconds",
            th.NumberType,
            default=DEFAULT_DRAIN_INTERVAL_SECONDS,
            description="Drain every sink (and print the state) at least this often.",
        ),
    ).to_dict()

    def __init__(self, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Build the target and set its drain interval from the settings.

        Args:
            kwargs: Passed to `singer_sdk.Target`.
        """
        super().__init__(**kwargs)
        seconds = float(self.config.get("drain_interval_seconds") or 0)
        if seconds > 0:
            self._MAX_RECORD_AGE_IN_MINUTES = seconds / SECONDS_PER_MINUTE

    @override
    def _process_state_message(self, message_dict: dict[str, t.Any]) -> None:
        super()._process_state_message(message_dict)
        if self.config.get("state_before_commit"):
            self._write_state_message(message_dict["value"])


if __name__ == "__main__":
    TargetHarnessSqlite.cli()
