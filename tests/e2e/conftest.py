# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Fixtures for the end-to-end tests: real Meltano, real target-postgres, a real PostgreSQL.

scripts/test.sh starts the PostgreSQL server and passes it in E2E_PG_* variables; Meltano
and its plugins are the ones scripts/bootstrap.sh installed. Each test gets its own Meltano
system database (so its own stored state), its own database schema and its own emulator.
A pipeline run is the job users run, `meltano run sell-to-postgres`: the tap, target-postgres,
then the utility that turns the target's date-time columns into timestamptz.
Nothing here skips: a missing server or Meltano fails the test with a message.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from sell_sync_emulator import Emulator, EmulatorConfig, serve
from tap_sell_sync.state import read_bookmark

REPO_ROOT = Path(__file__).resolve().parents[2]
# Helpers shared between the end-to-end test files.
sys.path.insert(0, str(Path(__file__).parent))
TOKEN = "e2e-token-" + "7" * 54
STATE_BOOKMARK = "_sell_sync"
ENVIRONMENT = "dev"
STATE_ID = f"{ENVIRONMENT}:tap-sell-sync-to-target-postgres"
#: The main job of meltano.yml, and its steps as docs/pipeline.md spells them out.
JOB = "sell-to-postgres"
JOB_BLOCKS = ("tap-sell-sync", "target-postgres", "postgres-timestamptz:convert")
MELTANO_TIMEOUT_SECONDS = 300
# Columns the tap or the target add; everything else must equal the emulator's data.
PIPELINE_COLUMNS = frozenset(
    {
        "sell_event_type",
        "sell_revision",
        "_sdc_deleted_at",
        "_sdc_extracted_at",
        "_sdc_received_at",
        "_sdc_batched_at",
        "_sdc_sequence",
        "_sdc_table_version",
        "_sdc_sync_started_at",
    }
)
# Meltano and the plugins read these; a developer's own values must not leak into a test.
_INHERITED_PREFIXES = ("TAP_SELL_SYNC_", "TARGET_POSTGRES_", "TARGET_JSONL_", "TARGET_DUCKDB_")
_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)$")

#: The tap's stream (and table) for each resource type (the shared contract).
STREAMS = {
    "account": "accounts",
    "user": "users",
    "lead": "leads",
    "contact": "contacts",
    "deal": "deals",
    "associated_contact": "associated_contacts",
    "pipeline": "pipelines",
    "stage": "stages",
    "loss_reason": "loss_reasons",
    "lead_unqualified_reason": "lead_unqualified_reasons",
    "deal_unqualified_reason": "deal_unqualified_reasons",
    "source": "sources",
    "lead_source": "lead_sources",
    "deal_source": "deal_sources",
    "note": "notes",
    "task": "tasks",
    "tag": "tags",
    "call": "calls",
    "call_outcome": "call_outcomes",
    "product": "products",
    "order": "orders",
    "line_item": "line_items",
    "text_message": "text_messages",
    "visit": "visits",
    "visit_outcome": "visit_outcomes",
    "collaboration": "collaborations",
    "lead_conversion": "lead_conversions",
}


def key_columns(resource_type: str) -> tuple[str, ...]:
    """Return the primary key columns of a resource type's table."""
    return ("deal_id", "contact_id") if resource_type == "associated_contact" else ("id",)


def stored_ack_keys(state: dict[str, Any] | None) -> set[str]:
    """Return every ack key a stored Singer state holds, whatever its device."""
    if not state:
        return set()
    bookmark = state.get("bookmarks", {}).get(STATE_BOOKMARK)
    return {key for keys in read_bookmark(bookmark).pending.values() for key in keys}


def stored_device(state: dict[str, Any] | None) -> str | None:
    """Return the device UUID a stored Singer state names."""
    if not state:
        return None
    return read_bookmark(state.get("bookmarks", {}).get(STATE_BOOKMARK)).device_uuid


def normalise(value: Any, column_type: str) -> Any:
    """Bring an emulator value into the form PostgreSQL returns for a column type."""
    if value is None:
        return None
    if column_type == "numeric":
        return Decimal(str(value))
    if column_type.startswith("timestamp") and isinstance(value, str) and _ISO_UTC.match(value):
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if column_type.endswith("with time zone") else parsed.replace(tzinfo=None)
    if column_type in {"jsonb", "json", "ARRAY"}:
        return json.loads(json.dumps(value))
    if column_type == "text" and not isinstance(value, str):
        return json.dumps(value) if isinstance(value, dict | list) else str(value)
    return value


def database_value(value: Any, column_type: str) -> Any:
    """Normalise a value read from PostgreSQL so JSON numbers compare by value."""
    if column_type in {"jsonb", "json"} and value is not None:
        return json.loads(json.dumps(value))
    return value


@dataclass
class Postgres:
    """Connection settings of the throwaway server scripts/test.sh started."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def connect(self) -> psycopg.Connection[Any]:
        """Open an autocommit connection."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
            autocommit=True,
        )


@dataclass
class Table:
    """One table read back: column types and rows by key."""

    columns: dict[str, str]
    rows: dict[Any, dict[str, Any]]

    def live(self) -> dict[Any, dict[str, Any]]:
        """Rows not marked deleted."""
        return {key: row for key, row in self.rows.items() if row["_sdc_deleted_at"] is None}

    def deleted(self) -> dict[Any, dict[str, Any]]:
        """Rows marked deleted."""
        return {key: row for key, row in self.rows.items() if row["_sdc_deleted_at"] is not None}


@dataclass
class Pipeline:
    """One Meltano project state and one database schema, for one test."""

    postgres: Postgres
    meltano: Path
    workdir: Path
    schema: str
    api_url: str
    extra_env: dict[str, str] = field(default_factory=dict)

    streams = STREAMS

    @staticmethod
    def same(expected: Any, actual: Any) -> bool:
        """Compare values, numbers by decimal value."""
        return same(expected, actual)

    @staticmethod
    def ack_keys(state: dict[str, Any] | None) -> set[str]:
        """Every ack key a stored state holds."""
        return stored_ack_keys(state)

    @staticmethod
    def device(state: dict[str, Any] | None) -> str | None:
        """The device UUID a stored state names."""
        return stored_device(state)

    def env(self) -> dict[str, str]:
        """The environment of a Meltano command of this test."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(_INHERITED_PREFIXES)
        }
        env.update(
            {
                "MELTANO_DATABASE_URI": f"sqlite:///{self.workdir / 'meltano.db'}",
                "MELTANO_ENVIRONMENT": ENVIRONMENT,
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
                "TAP_SELL_SYNC_ACCESS_TOKEN": TOKEN,
                "TAP_SELL_SYNC_API_URL": self.api_url,
                # Number settings arrive from Meltano as text; fractions included.
                "TAP_SELL_SYNC_REQUEST_TIMEOUT": "30.5",
                "TAP_SELL_SYNC_MAX_ITEMS_PER_RUN": "100000",
                "TARGET_POSTGRES_HOST": self.postgres.host,
                "TARGET_POSTGRES_PORT": str(self.postgres.port),
                "TARGET_POSTGRES_USER": self.postgres.user,
                "TARGET_POSTGRES_PASSWORD": self.postgres.password,
                "TARGET_POSTGRES_DATABASE": self.postgres.database,
                "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": self.schema,
                "TARGET_JSONL_DESTINATION_PATH": str(self.workdir / "jsonl"),
                "TARGET_DUCKDB_PATH": str(self.workdir / "warehouse.duckdb"),
                "TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA": "sell",
            }
        )
        env.update(self.extra_env)
        return env

    def meltano_cmd(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a Meltano command in the repository's project; fail the test on error."""
        merged = self.env() | (env or {})
        result = subprocess.run(
            [str(self.meltano), *args],
            cwd=REPO_ROOT,
            env=merged,
            capture_output=True,
            text=True,
            timeout=MELTANO_TIMEOUT_SECONDS,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        for secret in (TOKEN, self.postgres.password):
            assert secret not in result.stdout + result.stderr, "a secret appeared in the output"
        if check and result.returncode != 0:
            pytest.fail(
                f"meltano {' '.join(args)} exited {result.returncode}\n"
                f"--- stderr (end) ---\n{result.stderr[-6000:]}",
            )
        return result

    def run(
        self, *extra: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`meltano run sell-to-postgres`, the main job, with optional flags."""
        return self.meltano_cmd("run", *extra, JOB, check=check, env=env)

    def run_blocks(self, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The main job's steps named one by one on the command line, as the docs show them."""
        return self.meltano_cmd("run", *extra, *JOB_BLOCKS, check=check)

    def stored_state(self) -> dict[str, Any] | None:
        """The Singer state Meltano holds for the pipeline, or None."""
        result = self.meltano_cmd("state", "get", STATE_ID, check=False)
        if result.returncode != 0 or not result.stdout.strip():
            return None
        document = json.loads(result.stdout.strip().splitlines()[-1])
        return document.get("singer_state")

    def table(self, resource_type: str) -> Table:
        """Read one table back, keyed like the emulator keys objects."""
        name = STREAMS[resource_type]
        keys = key_columns(resource_type)
        with self.postgres.connect() as conn:
            columns = dict(
                conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = %s AND table_name = %s",
                    (self.schema, name),
                ).fetchall()
            )
            if not columns:
                return Table({}, {})
            cursor = conn.execute(
                sql.SQL("SELECT * FROM {}.{}").format(
                    sql.Identifier(self.schema), sql.Identifier(name)
                )
            )
            names = [column.name for column in cursor.description or []]
            rows = {}
            for values in cursor.fetchall():
                row = dict(zip(names, values, strict=True))
                key = row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys)
                rows[key] = row
        return Table(columns, rows)

    def columns_of_type(self, data_type: str) -> set[tuple[str, str]]:
        """Every (table, column) of this test's schema whose type is `data_type`."""
        with self.postgres.connect() as conn:
            return set(
                conn.execute(
                    "SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = %s AND data_type = %s",
                    (self.schema, data_type),
                ).fetchall()
            )

    def table_names(self) -> set[str]:
        """Tables the target created in this test's schema."""
        with self.postgres.connect() as conn:
            return {
                name
                for (name,) in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (self.schema,),
                ).fetchall()
            }

    def differences(self, emu: Emulator) -> list[str]:
        """Everything in which the database differs from the emulator's objects right now.

        Live rows must be exactly the emulator's live objects, field by field; every other
        row must be an object the emulator deleted, marked by `_sdc_deleted_at`.
        """
        problems: list[str] = []
        current = emu.current_objects()
        deleted = emu.deleted_keys()
        for resource_type, objects in current.items():
            table = self.table(resource_type)
            live = table.live()
            missing = set(objects) - set(live)
            extra = set(live) - set(objects)
            if missing:
                problems.append(f"{resource_type}: {len(missing)} objects missing")
            if extra:
                problems.append(f"{resource_type}: {len(extra)} rows live but not in Sell")
            problems.extend(
                f"{resource_type} {key}: marked deleted but live in Sell"
                for key in set(table.deleted()) - deleted.get(resource_type, set())
            )
            for key in set(objects) & set(live):
                problems.extend(
                    f"{resource_type} {key}: {problem}"
                    for problem in row_differences(objects[key], live[key], table.columns)
                )
        return problems


def same(expected: Any, actual: Any) -> bool:
    """Compare values, numbers by decimal value (the tap turns money strings into numbers)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected == actual
    numbers = (int, float, Decimal)
    if isinstance(actual, numbers) and isinstance(expected, str | int | float | Decimal):
        try:
            return Decimal(str(expected)) == Decimal(str(actual))
        except ArithmeticError:
            return False
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same(value, actual[name]) for name, value in expected.items()
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            same(a, b) for a, b in zip(expected, actual, strict=True)
        )
    return bool(expected == actual)


def row_differences(data: dict[str, Any], row: dict[str, Any], columns: dict[str, str]) -> list:
    """Field-by-field differences between an emulator object and its row."""
    problems = []
    for name, value in data.items():
        if name not in columns:
            problems.append(f"field {name!r} has no column")
            continue
        expected = normalise(value, columns[name])
        actual = database_value(row[name], columns[name])
        if not same(expected, actual):
            problems.append(f"{name}: Sell {expected!r} != table {actual!r}")
    return problems


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    names = ("E2E_PG_HOST", "E2E_PG_PORT", "E2E_PG_USER", "E2E_PG_PASSWORD", "E2E_PG_DATABASE")
    missing = [name for name in names if name not in os.environ]
    if missing:
        pytest.fail(
            f"PostgreSQL for the end-to-end tests is not configured ({', '.join(missing)}"
            " unset): run the suite with scripts/test.sh, which starts one on loopback",
        )
    server = Postgres(
        host=os.environ["E2E_PG_HOST"],
        port=int(os.environ["E2E_PG_PORT"]),
        user=os.environ["E2E_PG_USER"],
        password=os.environ["E2E_PG_PASSWORD"],
        database=os.environ["E2E_PG_DATABASE"],
    )
    with server.connect() as conn:
        conn.execute("SELECT 1")
    return server


@pytest.fixture(scope="session")
def meltano() -> Path:
    path = Path(os.environ.get("MELTANO_BIN", REPO_ROOT / ".meltano" / "cli" / "bin" / "meltano"))
    if not path.exists():
        pytest.fail(f"Meltano not found at {path}: run scripts/bootstrap.sh first")
    return path


@pytest.fixture
def emulator():
    """An emulator with a few hundred objects, served on loopback for the test."""
    emu = Emulator(EmulatorConfig(seed=11, objects=300, page_size=100, token=TOKEN))
    with serve(emu) as server:
        yield emu, server.url


@pytest.fixture
def pipeline(postgres, meltano, tmp_path, emulator):
    schema = f"sell_e2e_{uuid.uuid4().hex[:12]}"
    _emu, url = emulator
    yield Pipeline(postgres, meltano, tmp_path, schema, url)
    with postgres.connect() as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
