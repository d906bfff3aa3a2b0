#!/usr/bin/env bash
# Runs the whole test suite. Installs what it needs first (scripts/bootstrap.sh: the virtual
# environment, the project with its test extras, Meltano and its plugins), lints and
# type-checks, starts a throwaway PostgreSQL on loopback for the end-to-end tests
# (scripts/postgres.sh), then runs pytest. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh
start_postgres

export MELTANO_BIN="$PWD/.meltano/cli/bin/meltano"
status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" = 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$status"
