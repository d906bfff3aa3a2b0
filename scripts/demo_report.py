# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Prints what the demo loaded into DuckDB: rows per table, rows marked deleted, a few rows.

Run with the Python of target-duckdb's environment (it has the duckdb module):
`demo_report.py DATABASE_FILE SCHEMA [SAMPLE_TABLE ...]`.
"""

from __future__ import annotations

import sys

import duckdb

SAMPLE_ROWS = 3
SAMPLE_COLUMNS = ("id", "name", "value", "currency", "updated_at", "_sdc_deleted_at")
USAGE = "usage: demo_report.py DATABASE_FILE SCHEMA [SAMPLE_TABLE ...]"
MIN_ARGS = 3


def main(argv: list[str]) -> int:
    """Print the report; return the exit status."""
    if len(argv) < MIN_ARGS:
        print(USAGE, file=sys.stderr)
        return 2
    path, schema, samples = argv[1], argv[2], argv[3:]
    connection = duckdb.connect(path, read_only=True)
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
            " ORDER BY table_name",
            [schema],
        ).fetchall()
    ]
    total = deleted_total = 0
    print(f"  {'table':<28}{'rows':>7}{'deleted':>9}")
    for table in tables:
        rows, deleted = connection.execute(
            f'SELECT count(*), count("_sdc_deleted_at") FROM "{schema}"."{table}"'  # noqa: S608 - names from the catalog
        ).fetchone() or (0, 0)
        total += rows
        deleted_total += deleted
        print(f"  {table:<28}{rows:>7}{deleted:>9}")
    print(f"  {'all tables':<28}{total:>7}{deleted_total:>9}")

    for table in samples:
        if table not in tables:
            continue
        present = {
            name
            for (name,) in connection.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = ? AND table_name = ?",
                [schema, table],
            ).fetchall()
        }
        columns = [name for name in SAMPLE_COLUMNS if name in present]
        listed = ", ".join(f'"{name}"' for name in columns)
        print(f"\n  a few rows of {table} (most recently changed first):")
        print("    " + " | ".join(columns))
        for row in connection.execute(
            f'SELECT {listed} FROM "{schema}"."{table}"'  # noqa: S608 - names from the catalog
            ' ORDER BY "_sdc_batched_at" DESC, "id" LIMIT ?',
            [SAMPLE_ROWS],
        ).fetchall():
            print("    " + " | ".join("" if value is None else str(value) for value in row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
