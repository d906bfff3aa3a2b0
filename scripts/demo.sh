#!/usr/bin/env bash
# The main job on the embedded default, from nothing: installs what is needed, starts the
# Sell emulator on loopback with realistic data, runs `meltano run tap-sell-sync
# target-duckdb`, changes, adds and deletes objects in the emulator, runs again, and shows
# rows per table, a few rows and how many rows are marked deleted. Everything it writes
# goes to .demo/ (started afresh each time); the emulator is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_DIR=.demo
DEMO_OBJECTS=${DEMO_OBJECTS:-1000}
DEMO_SEED=${DEMO_SEED:-42}
SCHEMA=sell
SAMPLE_TABLES=(deals contacts)
EMULATOR_START_SECONDS=30

say() { printf '\n==> %s\n' "$*"; }

rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"

say "Installing the project, Meltano and its plugins (the first time takes a few minutes)"
if ! bash scripts/bootstrap.sh >"$DEMO_DIR/install.log" 2>&1; then
    tail -n 30 "$DEMO_DIR/install.log" >&2
    echo "installation failed; full log in $DEMO_DIR/install.log" >&2
    exit 1
fi
MELTANO="$PWD/.meltano/cli/bin/meltano"
REPORT_PYTHON="$PWD/.meltano/loaders/target-duckdb/venv/bin/python"
# The demo keeps its own Meltano state and its own DuckDB file, apart from real runs.
export MELTANO_DATABASE_URI="sqlite:///$PWD/$DEMO_DIR/meltano.db"
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
export TARGET_DUCKDB_PATH="$PWD/$DEMO_DIR/warehouse.duckdb"
export TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA=$SCHEMA
TOKEN="demo-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
export TAP_SELL_SYNC_ACCESS_TOKEN=$TOKEN

say "Starting the Sell emulator on loopback ($DEMO_OBJECTS objects, seed $DEMO_SEED)"
.venv/bin/sell-sync-emulator --host 127.0.0.1 --port 0 --objects "$DEMO_OBJECTS" \
    --seed "$DEMO_SEED" --token "$TOKEN" >"$DEMO_DIR/emulator.out" 2>"$DEMO_DIR/emulator.log" &
EMULATOR_PID=$!
trap 'kill "$EMULATOR_PID" 2>/dev/null || true; wait "$EMULATOR_PID" 2>/dev/null || true' EXIT
for _ in $(seq $((EMULATOR_START_SECONDS * 10))); do
    [ -s "$DEMO_DIR/emulator.out" ] && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$DEMO_DIR/emulator.log" >&2; exit 1; }
    sleep 0.1
done
URL=$(head -n 1 "$DEMO_DIR/emulator.out")
[ -n "$URL" ] || { echo "the emulator printed no URL" >&2; exit 1; }
export TAP_SELL_SYNC_API_URL=$URL
echo "emulator at $URL"

control() {
    python3 - "$URL/_emulator/$1" "${2:-}" <<'EOF'
import json, sys, urllib.request
url, body = sys.argv[1], sys.argv[2]
request = urllib.request.Request(url, data=body.encode() if body else None,
                                 headers={"Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=30) as answer:
    print(answer.read().decode())
EOF
}

run_pipeline() {
    local log="$DEMO_DIR/run-$1.log"
    if ! "$MELTANO" run tap-sell-sync target-duckdb >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "meltano run failed; full log in $log" >&2
        exit 1
    fi
    echo "meltano run finished (log: $log)"
}

report() {
    "$REPORT_PYTHON" scripts/demo_report.py "$TARGET_DUCKDB_PATH" "$SCHEMA" "${SAMPLE_TABLES[@]}"
    control counters | python3 -c '
import json, sys
counters = json.load(sys.stdin)
print()
print("  emulator so far:", counters["items_delivered"], "items delivered,",
      counters["acks_received"], "ack keys received")'
}

say "Run 1: meltano run tap-sell-sync target-duckdb"
run_pipeline 1
report

say "Changing Sell: 50 objects created, 80 changed, 30 deleted"
control mutate '{"creates": 50, "updates": 80, "deletes": 30, "seed": 7}' | python3 -c '
import json, sys
change = json.load(sys.stdin)
print(", ".join(f"{len(change[name])} {name}" for name in ("created", "updated", "deleted")),
      "(deletes cascade to dependent objects)")'

say "Run 2: the same command; it first acks what run 1 stored, then syncs the changes"
run_pipeline 2
report

say "Done. Data: $TARGET_DUCKDB_PATH (schema $SCHEMA). Meltano state: $DEMO_DIR/meltano.db"
