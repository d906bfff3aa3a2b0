#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the end-to-end tests: a new cluster in a temporary
# directory, listening on 127.0.0.1 at a free port, owned by an unprivileged user (PostgreSQL
# refuses to run as root), stopped and removed when the calling shell exits. Debian's
# postgresql package is installed when no server binaries are found.
#
# Source this file, then call start_postgres; it exports E2E_PG_HOST, E2E_PG_PORT,
# E2E_PG_USER, E2E_PG_PASSWORD and E2E_PG_DATABASE.

PG_SYSTEM_USER=${PG_SYSTEM_USER:-sell-sync-pg}
PG_START_ATTEMPTS=3
# Not UTC on purpose: the tests show that timestamps still land as the UTC instants Sell sent.
PG_SERVER_TIMEZONE=${PG_SERVER_TIMEZONE:-Asia/Kolkata}

find_postgres_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

install_postgres() {
    if [ "$(id -u)" != 0 ]; then
        echo "PostgreSQL server binaries not found and not root: install Debian's postgresql package" >&2
        return 1
    fi
    echo "Installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

# Runs a command as the unprivileged server owner when we are root, as ourselves otherwise.
as_pg_user() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$PG_SYSTEM_USER" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop_postgres() {
    if [ -n "${PG_TMP_DIR:-}" ] && [ -d "$PG_TMP_DIR" ]; then
        as_pg_user "$PG_BIN_DIR/pg_ctl" -D "$PG_TMP_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_TMP_DIR"
    fi
}

start_postgres() {
    PG_BIN_DIR=$(find_postgres_bindir) || { install_postgres && PG_BIN_DIR=$(find_postgres_bindir); } || {
        echo "PostgreSQL server binaries are missing and could not be installed" >&2
        return 1
    }

    if [ "$(id -u)" = 0 ] && ! id "$PG_SYSTEM_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_SYSTEM_USER"
    fi

    PG_TMP_DIR=$(mktemp -d /tmp/sell-sync-pg.XXXXXX)  # not $TMPDIR: the server user must reach it
    trap stop_postgres EXIT
    chmod 755 "$PG_TMP_DIR"
    E2E_PG_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    printf '%s\n' "$E2E_PG_PASSWORD" > "$PG_TMP_DIR/pwfile"
    if [ "$(id -u)" = 0 ]; then
        chown -R "$PG_SYSTEM_USER" "$PG_TMP_DIR"
    fi

    as_pg_user "$PG_BIN_DIR/initdb" -D "$PG_TMP_DIR/data" -U postgres --pwfile="$PG_TMP_DIR/pwfile" \
        --auth=scram-sha-256 --encoding=UTF8 --no-locale --no-sync >"$PG_TMP_DIR/initdb.log" 2>&1 || {
        cat "$PG_TMP_DIR/initdb.log" >&2
        echo "initdb failed" >&2
        return 1
    }
    rm -f "$PG_TMP_DIR/pwfile"

    local attempt port
    for attempt in $(seq "$PG_START_ATTEMPTS"); do
        port=$(free_port)
        if as_pg_user "$PG_BIN_DIR/pg_ctl" -D "$PG_TMP_DIR/data" -l "$PG_TMP_DIR/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TMP_DIR -c timezone=$PG_SERVER_TIMEZONE -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            export E2E_PG_HOST=127.0.0.1 E2E_PG_PORT=$port E2E_PG_USER=postgres
            export E2E_PG_PASSWORD E2E_PG_DATABASE=postgres
            echo "PostgreSQL $("$PG_BIN_DIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (attempt $attempt)"
            return 0
        fi
    done
    cat "$PG_TMP_DIR/server.log" >&2
    echo "PostgreSQL did not start" >&2
    return 1
}
