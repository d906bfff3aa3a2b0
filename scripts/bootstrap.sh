#!/usr/bin/env bash
# Installs everything the pipeline needs, from nothing: the project's virtual environment
# (.venv, the project with its test extras), Meltano in a virtual environment of its own
# (.meltano/cli, kept apart because Meltano pins SQLAlchemy below the version singer-sdk
# brings), and every plugin of meltano.yml in Meltano's own plugin environments.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
MELTANO_VERSION=4.4.1
MELTANO_VENV=.meltano/cli

# Nothing here may call home: the only network use is the package index.
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
export MELTANO_CLI_DISABLE_VERSION_CHECK=true
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e '.[test]'

if ! "$MELTANO_VENV/bin/meltano" --version 2>/dev/null | grep -q "$MELTANO_VERSION"; then
    "$PYTHON" -m venv "$MELTANO_VENV"
    "$MELTANO_VENV/bin/python" -m pip install --quiet "meltano==$MELTANO_VERSION"
fi

"$MELTANO_VENV/bin/meltano" install

# target-duckdb opens output/warehouse.duckdb (meltano.yml) but does not create the folder.
mkdir -p output
