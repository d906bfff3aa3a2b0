# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Turns the `timestamp without time zone` columns of the target schema into `timestamptz`.

target-postgres 0.8.1 creates every date-time column as `timestamp without time zone` holding
UTC (its session runs in UTC), and keeps a column's type once it is `timestamptz`. This command
runs after each load (the utility `postgres-timestamptz`, command `convert`, in meltano.yml)
and converts the columns the load created, reading their values as UTC, all in one
transaction: either every column is converted or none is. With nothing to convert it changes
nothing. It connects with the TARGET_POSTGRES_* settings target-postgres uses and never prints
the password.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import errors, sql

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ENV_PREFIX = "TARGET_POSTGRES_"
DEFAULT_SCHEMA = "sell"
CONNECT_TIMEOUT_SECONDS = 30
# A load or a reader holding a table must not make the job hang for ever; waiting longer
# than this converts nothing, and the next run tries again.
LOCK_TIMEOUT_SECONDS = 60
EXIT_FAILURE = 1
MAX_PORT = 65535
PROGRAM = "postgres-timestamptz"

# Top-level columns of ordinary and partitioned tables (partitions and inherited columns
# follow their parent's change) whose type is exactly `timestamp without time zone`.
_TIMESTAMP_COLUMNS = """
SELECT c.relname, a.attname
FROM pg_catalog.pg_attribute AS a
JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %s
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND a.attinhcount = 0
  AND a.atttypid = 'pg_catalog.timestamp'::pg_catalog.regtype
ORDER BY c.relname, a.attnum
"""


class ConversionError(Exception):
    """A failure to report to the user as one line."""


@dataclass(frozen=True)
class ConnectionSettings:
    """Where to connect: target-postgres's settings, read from TARGET_POSTGRES_* variables.

    A setting left unset falls back to libpq's own defaults (PGHOST, PGPORT, ...).
    """

    host: str | None
    port: int | None
    user: str | None
    password: str | None
    database: str | None

    def connect_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `psycopg.connect`, without the unset ones."""
        arguments: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.database,
        }
        return {name: value for name, value in arguments.items() if value is not None}

    def describe(self) -> str:
        """Where the connection goes, for messages (never the password)."""
        host = self.host or "the default host"
        port = f":{self.port}" if self.port is not None else ""
        user = f"{self.user}@" if self.user else ""
        database = f"/{self.database}" if self.database else ""
        return f"{user}{host}{port}{database}"


def settings_from_env(env: Mapping[str, str]) -> ConnectionSettings:
    """Read the connection settings target-postgres uses from its environment variables.

    Args:
        env: The environment (Meltano exports the utility's settings as TARGET_POSTGRES_*).

    Returns:
        The connection settings; empty variables count as unset.

    Raises:
        ConversionError: The port is not a port number.
    """

    def read(name: str) -> str | None:
        return env.get(ENV_PREFIX + name) or None

    port_text = read("PORT")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) <= MAX_PORT:
            msg = f"{ENV_PREFIX}PORT must be a port number (1-{MAX_PORT}), got {port_text!r}"
            raise ConversionError(msg)
        port = int(port_text)
    return ConnectionSettings(
        host=read("HOST"),
        port=port,
        user=read("USER"),
        password=read("PASSWORD"),
        database=read("DATABASE"),
    )


def timestamp_columns(connection: psycopg.Connection[Any], schema: str) -> dict[str, list[str]]:
    """Return the `timestamp without time zone` columns of a schema, by table.

    Args:
        connection: An open connection.
        schema: The schema to look in.

    Returns:
        Column names by table name, in table order; empty when there is nothing to convert.
    """
    columns: dict[str, list[str]] = {}
    for table, column in connection.execute(_TIMESTAMP_COLUMNS, (schema,)).fetchall():
        columns.setdefault(table, []).append(column)
    return columns


def convert_schema(connection: psycopg.Connection[Any], schema: str) -> dict[str, list[str]]:
    """Convert every `timestamp without time zone` column of a schema, in one transaction.

    The session time zone is set to UTC inside the transaction, so the cast reads the stored
    values as UTC instants; on PostgreSQL 12 and later that cast also spares the table a
    rewrite. A column converted in between by someone else is left as it is.

    Args:
        connection: An autocommit connection.
        schema: The schema whose columns to convert.

    Returns:
        The converted column names by table name; empty when there was nothing to convert.
    """
    with connection.transaction():
        connection.execute("SET LOCAL TIME ZONE 'UTC'")
        connection.execute(
            sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{LOCK_TIMEOUT_SECONDS}s"))
        )
        columns = timestamp_columns(connection, schema)
        for table, names in columns.items():
            changes = sql.SQL(", ").join(
                sql.SQL("ALTER COLUMN {} TYPE timestamptz").format(sql.Identifier(name))
                for name in names
            )
            connection.execute(
                sql.SQL("ALTER TABLE {}.{} {}").format(
                    sql.Identifier(schema), sql.Identifier(table), changes
                )
            )
    return columns


def _schema_exists(connection: psycopg.Connection[Any], schema: str) -> bool:
    row = connection.execute(
        "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (schema,)
    ).fetchone()
    return row is not None


def _one_line(error: psycopg.Error) -> str:
    """PostgreSQL's or libpq's message for an error, on one line."""
    text = error.diag.message_primary or str(error)
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def run(schema: str, settings: ConnectionSettings) -> str:
    """Connect, convert the schema and say what was done.

    Args:
        schema: The schema to convert.
        settings: Where to connect.

    Returns:
        A summary: one line, then one line per converted table.

    Raises:
        ConversionError: The connection or the conversion failed; nothing was converted.
    """
    try:
        connection = psycopg.connect(
            **settings.connect_arguments(),
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name=PROGRAM,
        )
    except psycopg.Error as error:
        msg = f"cannot connect to PostgreSQL at {settings.describe()}: {_one_line(error)}"
        raise ConversionError(msg) from error

    with connection:
        try:
            if not _schema_exists(connection, schema):
                return f"schema {schema!r} does not exist (nothing loaded yet): nothing to convert"
            converted = convert_schema(connection, schema)
        except errors.LockNotAvailable as error:
            msg = (
                f"a table of schema {schema!r} stayed locked by another session for"
                f" {LOCK_TIMEOUT_SECONDS} s: nothing was converted; run the command again"
                " once the other session is done"
            )
            raise ConversionError(msg) from error
        except psycopg.Error as error:
            msg = f"converting schema {schema!r} failed, nothing was converted: {_one_line(error)}"
            raise ConversionError(msg) from error

    if not converted:
        return f"schema {schema!r}: no timestamp without time zone column, nothing to convert"
    count = sum(len(names) for names in converted.values())
    header = (
        f"schema {schema!r}: converted {count} columns in {len(converted)} tables"
        " to timestamptz, values read as UTC"
    )
    lines = [header, *(f"  {table}: {', '.join(names)}" for table, names in converted.items())]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: The arguments, without the program name; default, the process's.

    Returns:
        The exit status: 0 when converted or nothing to convert, 1 on failure.
    """
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description=(
            "Convert every `timestamp without time zone` column of a schema to timestamptz,"
            " reading the stored values as UTC, in one transaction. Connects with"
            f" {ENV_PREFIX}HOST, PORT, USER, PASSWORD and DATABASE; libpq's PG* variables"
            " fill in what is unset."
        ),
    )
    parser.add_argument(
        "--schema",
        help=(
            f"schema to convert (default: ${ENV_PREFIX}DEFAULT_TARGET_SCHEMA,"
            f" else {DEFAULT_SCHEMA!r})"
        ),
    )
    arguments = parser.parse_args(argv)
    schema = (
        arguments.schema or os.environ.get(f"{ENV_PREFIX}DEFAULT_TARGET_SCHEMA") or DEFAULT_SCHEMA
    )

    try:
        summary = run(schema, settings_from_env(os.environ))
    except ConversionError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{PROGRAM}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
