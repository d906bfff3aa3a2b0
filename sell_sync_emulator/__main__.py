# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The `sell-sync-emulator` command: start an emulator and serve it until interrupted.

The first line of output is the URL it listens on. The token in use is never printed (the
built-in default, which is no secret, is shown by --help).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Final, NoReturn

from typing_extensions import override

from sell_sync_emulator.config import (
    DEFAULT_MAX_ACTIVE_SESSIONS,
    DEFAULT_OBJECTS,
    DEFAULT_PAGE_SIZE,
    DEFAULT_RATE_LIMIT_BURST,
    DEFAULT_RATE_LIMIT_PER_HOUR,
    DEFAULT_SEED,
    DEFAULT_SESSION_CAP_STATUS,
    DEFAULT_SESSION_TTL_SECONDS,
    DEFAULT_TOKEN,
    EmulatorConfig,
)
from sell_sync_emulator.model import Emulator
from sell_sync_emulator.server import DEFAULT_HOST, check_host, start_server

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

TOKEN_ENVIRONMENT_VARIABLE: Final = "SELL_SYNC_EMULATOR_TOKEN"  # noqa: S105 - a variable name
PROGRAM: Final = "sell-sync-emulator"
MAX_PORT: Final = 65_535
#: Objects cost about 3.5 KB of memory each: two million is about 7 GB, and far beyond what a
#: test or benchmark needs. A larger number is taken for a typing mistake.
MAX_OBJECTS: Final = 2_000_000
_USAGE_ERROR: Final = 2


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block) and exit status 2."""

    @override
    def error(self, message: str) -> NoReturn:
        self.exit(_USAGE_ERROR, f"{PROGRAM}: error: {message}\n")


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= MAX_PORT:
        msg = f"a port is 0 to {MAX_PORT} (0 picks a free one), got {port}"
        raise argparse.ArgumentTypeError(msg)
    return port


def _object_count(text: str) -> int:
    count = int(text)
    if not 0 <= count <= MAX_OBJECTS:
        msg = f"must be 0 to {MAX_OBJECTS:,}, got {count}"
        raise argparse.ArgumentTypeError(msg)
    return count


def _seconds(text: str) -> float:
    seconds = float(text)
    if not math.isfinite(seconds):
        msg = f"must be a finite number of seconds, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


def _host(text: str) -> str:
    try:
        return check_host(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


# argparse names the type in its message for a value the type function rejects with ValueError.
_port.__name__ = "port"
_object_count.__name__ = "integer"
_seconds.__name__ = "number"


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=PROGRAM,
        description="A local emulator of the Zendesk Sell Sync API, for tests, demos, benchmarks.",
        # Raw, so that the built-in token is never wrapped at its hyphens.
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            f"Without --token or ${TOKEN_ENVIRONMENT_VARIABLE}, the emulator accepts the built-in"
            f" token\n(put it into the tap's access_token):\n  {DEFAULT_TOKEN}"
        ),
    )
    add = parser.add_argument
    add(
        "--host",
        type=_host,
        default=DEFAULT_HOST,
        help="address to bind (default %(default)s); every interface only if written 0.0.0.0 or ::",
    )
    add("--port", type=_port, default=0, help="port to bind; 0 picks a free one (default)")
    add("--seed", type=int, default=DEFAULT_SEED, help="seed of the data (default %(default)s)")
    add(
        "--objects",
        type=_object_count,
        default=DEFAULT_OBJECTS,
        help="objects at start (%(default)s)",
    )
    add("--page-size", type=int, default=DEFAULT_PAGE_SIZE, help="items per page (%(default)s)")
    add(
        "--token",
        default=None,
        help=(
            f"access token to accept (default: ${TOKEN_ENVIRONMENT_VARIABLE}, else the built-in"
            " token shown below)"
        ),
    )
    add("--no-shuffle", action="store_true", help="serve items in creation order")
    add(
        "--requeue-at-drain",
        action="store_true",
        help="compute a device's next queue when its session drains, not at the next start",
    )
    add(
        "--snapshot-sessions",
        action="store_true",
        help="do not add objects changed while a session is open to that session",
    )
    add(
        "--deletes-for-unseen",
        action="store_true",
        help="after a first flow, also send deletes of objects the device never acknowledged",
    )
    add(
        "--rate-limit",
        type=int,
        default=DEFAULT_RATE_LIMIT_PER_HOUR,
        help="requests per hour per token; 0 turns the limit off (default %(default)s)",
    )
    add("--rate-burst", type=int, default=DEFAULT_RATE_LIMIT_BURST, help="burst (%(default)s)")
    add("--retry-after", action="store_true", help="add a Retry-After header to 429 answers")
    add(
        "--max-sessions",
        type=int,
        default=DEFAULT_MAX_ACTIVE_SESSIONS,
        help="active sessions allowed (default %(default)s)",
    )
    add(
        "--session-cap-status",
        type=int,
        choices=(409, 422, 429),
        default=DEFAULT_SESSION_CAP_STATUS,
        help="status of a start beyond the session cap (default %(default)s)",
    )
    add(
        "--session-ttl",
        type=_seconds,
        default=DEFAULT_SESSION_TTL_SECONDS,
        help="seconds of inactivity after which a session expires (default %(default)s)",
    )
    add("--latency", type=_seconds, default=0.0, help="seconds added to every protocol reply")
    add(
        "--unknown-type-objects",
        type=_object_count,
        default=0,
        help="add this many objects of a resource type no client knows",
    )
    add("--insufficient-scope", action="store_true", help="answer 403 insufficient_scope")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command.

    Args:
        argv: Arguments (the process's when None).

    Returns:
        The exit status.
    """
    parser = _parser()
    options = parser.parse_args(argv)
    # A token that is given but empty is refused like any other bad token, never replaced.
    token = options.token
    if token is None:
        token = os.environ.get(TOKEN_ENVIRONMENT_VARIABLE, DEFAULT_TOKEN)
    try:
        config = EmulatorConfig(
            seed=options.seed,
            objects=options.objects,
            page_size=options.page_size,
            token=token,
            shuffle=not options.no_shuffle,
            requeue_at_drain=options.requeue_at_drain,
            snapshot_sessions=options.snapshot_sessions,
            deletes_for_unseen=options.deletes_for_unseen,
            rate_limit_per_hour=options.rate_limit,
            rate_limit_burst=options.rate_burst,
            retry_after=options.retry_after,
            max_active_sessions=options.max_sessions,
            session_cap_status=options.session_cap_status,
            session_ttl_seconds=options.session_ttl,
            latency_seconds=options.latency,
            unknown_type_objects=options.unknown_type_objects,
            insufficient_scope=options.insufficient_scope,
        )
    except ValueError as error:
        parser.error(str(error))

    emulator = Emulator(config)
    # The generated account lives as long as the process: keep the cyclic garbage collector
    # from walking it again and again while serving.
    gc.freeze()
    try:
        running = start_server(emulator, options.host, options.port)
    except OSError as error:
        where = f"{options.host}:{options.port}"
        parser.exit(1, f"sell-sync-emulator: cannot listen on {where}: {error.strerror}\n")
    print(running.url, flush=True)  # noqa: T201 - the command's output is the URL

    stopped = threading.Event()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stopped.wait()
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
