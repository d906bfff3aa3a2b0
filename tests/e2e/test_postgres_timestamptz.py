# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""scripts/postgres_timestamptz.py, the job's last step, against the real PostgreSQL server.

The script runs as a command with the TARGET_POSTGRES_* variables Meltano gives it, with no
PGTZ: its sessions start in the server's time zone, Asia/Kolkata.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from psycopg import sql

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres_timestamptz.py"
TIMEOUT_SECONDS = 60
TIMESTAMP = "timestamp without time zone"
TIMESTAMPTZ = "timestamp with time zone"
MARCH = dt.datetime(2024, 3, 10, 1, 30, tzinfo=dt.UTC)
JUNE = dt.datetime(2024, 6, 30, 23, 59, 59, 123456, tzinfo=dt.UTC)


@pytest.fixture
def schemas(postgres):
    """Two new schemas: the one to convert and another one, dropped afterwards."""
    names = [f"tz_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with postgres.connect() as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    yield names
    with postgres.connect() as conn:
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def _convert(postgres, schema: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TARGET_POSTGRES_", "PG"))
    }
    env |= {
        "TARGET_POSTGRES_HOST": postgres.host,
        "TARGET_POSTGRES_PORT": str(postgres.port),
        "TARGET_POSTGRES_USER": postgres.user,
        "TARGET_POSTGRES_PASSWORD": postgres.password,
        "TARGET_POSTGRES_DATABASE": postgres.database,
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
    }
    env |= overrides
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _execute(postgres, statement: str, schema: str, *params) -> None:
    """Run one statement with `{}` standing for the schema, in a UTC session."""
    with postgres.connect() as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute(sql.SQL(statement).format(sql.Identifier(schema)), params)


def _types(postgres, schema: str) -> dict[tuple[str, str], str]:
    with postgres.connect() as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s",
            (schema,),
        ).fetchall()
    return {(table, column): data_type for table, column, data_type in rows}


def _values(postgres, schema: str, table: str) -> list[tuple]:
    with postgres.connect() as conn:
        return conn.execute(
            sql.SQL("SELECT * FROM {}.{} ORDER BY id").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
        ).fetchall()


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("postgres-timestamptz: error: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.stderr


def test_converts_every_timestamp_column_of_the_schema_as_utc_and_nothing_else(postgres, schemas):
    target, other = schemas
    _execute(
        postgres,
        "CREATE TABLE {}.deals (id bigint PRIMARY KEY, updated_at timestamp,"
        " closed_at timestamptz, name text, due date)",
        target,
    )
    _execute(postgres, "CREATE TABLE {}.calls (id bigint PRIMARY KEY, made_at timestamp)", target)
    _execute(postgres, "CREATE INDEX ON {}.calls (made_at)", target)
    _execute(postgres, "CREATE TABLE {}.kept (id bigint PRIMARY KEY, at timestamp)", other)
    naive_march = MARCH.replace(tzinfo=None)
    naive_june = JUNE.replace(tzinfo=None)
    _execute(
        postgres,
        "INSERT INTO {}.deals VALUES (1, %s, %s, 'a', '2024-01-02'), (2, NULL, NULL, 'b', NULL)",
        target,
        naive_march,
        JUNE,
    )
    _execute(postgres, "INSERT INTO {}.calls VALUES (1, %s)", target, naive_june)
    _execute(postgres, "INSERT INTO {}.kept VALUES (1, %s)", other, naive_march)

    first = _convert(postgres, target)

    assert first.returncode == 0, first.stderr
    assert "converted 2 columns in 2 tables" in first.stdout
    assert "deals: updated_at" in first.stdout
    assert "calls: made_at" in first.stdout
    types = _types(postgres, target)
    assert types[("deals", "updated_at")] == TIMESTAMPTZ
    assert types[("deals", "closed_at")] == TIMESTAMPTZ
    assert types[("calls", "made_at")] == TIMESTAMPTZ
    assert types[("deals", "due")] == "date"
    assert types[("deals", "name")] == "text"
    assert _types(postgres, other)[("kept", "at")] == TIMESTAMP
    assert _values(postgres, target, "deals") == [
        (1, MARCH, JUNE, "a", dt.date(2024, 1, 2)),
        (2, None, None, "b", None),
    ]
    assert _values(postgres, target, "calls") == [(1, JUNE)]
    assert _values(postgres, other, "kept") == [(1, naive_march)]

    second = _convert(postgres, target)

    assert second.returncode == 0, second.stderr
    assert "nothing to convert" in second.stdout
    assert _values(postgres, target, "deals")[0] == (1, MARCH, JUNE, "a", dt.date(2024, 1, 2))
    assert _values(postgres, target, "calls") == [(1, JUNE)]


def test_a_schema_that_does_not_exist_yet_is_nothing_to_convert(postgres):
    result = _convert(postgres, f"tz_missing_{uuid.uuid4().hex[:12]}")

    assert result.returncode == 0, result.stderr
    assert "does not exist" in result.stdout
    assert "nothing to convert" in result.stdout


def test_a_column_that_cannot_change_leaves_every_table_as_it_was(postgres, schemas):
    target, _other = schemas
    _execute(postgres, "CREATE TABLE {}.accounts (id bigint PRIMARY KEY, at timestamp)", target)
    _execute(postgres, "CREATE TABLE {}.visits (id bigint PRIMARY KEY, at timestamp)", target)
    # A view on a column blocks a change of its type; accounts comes first and would convert.
    _execute(postgres, "CREATE VIEW {0}.recent AS SELECT at FROM {0}.visits", target)

    result = _convert(postgres, target)

    _assert_one_line_error(result, "nothing was converted", "view")
    types = _types(postgres, target)
    assert types[("accounts", "at")] == TIMESTAMP
    assert types[("visits", "at")] == TIMESTAMP


def test_a_rejected_password_fails_on_one_line_without_showing_it(postgres, schemas):
    target, _other = schemas
    _execute(postgres, "CREATE TABLE {}.tags (id bigint PRIMARY KEY, at timestamp)", target)
    wrong = "not-the-password-" + uuid.uuid4().hex

    result = _convert(postgres, target, TARGET_POSTGRES_PASSWORD=wrong)

    _assert_one_line_error(result, "cannot connect to PostgreSQL", "password authentication")
    assert wrong not in result.stdout + result.stderr
    assert postgres.password not in result.stdout + result.stderr
    assert _types(postgres, target)[("tags", "at")] == TIMESTAMP


def test_a_port_that_is_not_a_number_fails_on_one_line(postgres, schemas):
    target, _other = schemas

    result = _convert(postgres, target, TARGET_POSTGRES_PORT="54x")

    _assert_one_line_error(result, "TARGET_POSTGRES_PORT", "'54x'")
