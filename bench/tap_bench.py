# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Benchmark of tap-sell-sync against a plain protocol loop, on the emulator over loopback.

It prints one table with six figures, each beside a baseline measured in the same run, its
target and whether the target is met: throughput, requests per 1,000 items, use of the
request budget when the rate limit binds, peak memory, state size, and the main job
(`meltano run tap-sell-sync target-postgres`, with the time in the tap and in the target
shown apart). The emulator runs as a command in its own process, so it never shares the
tap's interpreter; the tap and the plain loop run as commands too, measured alike.

    .venv/bin/python bench/tap_bench.py                 # the full run, a few minutes
    .venv/bin/python bench/tap_bench.py --quick         # smaller queues, about a minute
    .venv/bin/python bench/tap_bench.py --skip-main-job # no Meltano and PostgreSQL

Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tap_bench_support import (
    BIN_DIR,
    REPO_ROOT,
    BenchError,
    EmulatorProcess,
    Measured,
    ProcessWatcher,
    ThrowawayPostgres,
    requests_by_call,
    run_measured,
)

from tap_sell_sync.state import STATE_BOOKMARK, read_bookmark

if TYPE_CHECKING:
    from collections.abc import Callable

TOKEN = "bench-" + secrets.token_hex(24)
PAGE_SIZE = 100
SELL_REQUESTS_PER_SECOND = 10
SELL_LATENCY_SECONDS = 0.05
SELL_BURST = 10
UNLIMITED_REQUESTS_PER_SECOND = 1000
DEFAULT_REQUESTS_PER_SECOND = 8  # the tap's max_requests_per_second default
COMMAND_TIMEOUT_SECONDS = 600.0
MELTANO = REPO_ROOT / ".meltano" / "cli" / "bin" / "meltano"
STATE_PREFIX = b'{"type":"STATE"'
RECORD_PREFIX = b'{"type":"RECORD"'
MB = 1024 * 1024
MAIN_JOB_HEAD_START_SECONDS = 20.0

# Targets.
MIN_THROUGHPUT_RATIO = 0.5
MAX_REQUESTS_RATIO = 0.6
MIN_BUDGET_SHARE = 0.9
MAX_MEMORY_GROWTH_BYTES = 50 * MB
MAX_STATE_BYTES = 1_000_000

# Log lines of the tap that open and close the time it talks to Sell.
FIRST_CALL_LINE = "Syncing as device"
LAST_CALL_LINES = ("Queue drained:", "Drain stopped early:", "Sell has nothing new")


def say(message: str) -> None:
    """Print a progress line on stderr (the table alone goes to stdout).

    Args:
        message: The line.
    """
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Row:
    """One line of the table."""

    figure: str
    tap: str
    baseline: str
    ratio: str
    target: str
    met: bool | None


@dataclass
class TapRun:
    """One run of the tap command."""

    measured: Measured
    log: Path
    records: int = 0
    largest_state: int = 0
    last_state: dict[str, Any] | None = None


class Bench:
    """The benchmark's working directory, and how it runs the tap and the plain loop."""

    def __init__(self, workdir: Path) -> None:
        """Use a working directory for configs, states and logs.

        Args:
            workdir: The directory.
        """
        self.workdir = workdir
        self._runs = 0

    def run_tap(
        self,
        emulator: EmulatorProcess,
        device: str,
        *,
        max_requests_per_second: float = UNLIMITED_REQUESTS_PER_SECOND,
        state: dict[str, Any] | None = None,
        keep_output: bool = False,
    ) -> TapRun:
        """Run the tap command against an emulator.

        Args:
            emulator: The emulator.
            device: The device UUID to sync as.
            max_requests_per_second: The tap's client-side rate.
            state: The state to pass with --state.
            keep_output: Write stdout to a file and read records and STATE lines from it
                (else stdout goes to /dev/null).

        Returns:
            The run.

        Raises:
            BenchError: When the tap fails.
        """
        self._runs += 1
        name = f"tap-{self._runs}"
        config = {
            "access_token": TOKEN,
            "api_url": emulator.url,
            "device_uuid": device,
            "max_requests_per_second": max_requests_per_second,
            "max_items_per_run": 0,
        }
        config_path = self.workdir / f"{name}-config.json"
        config_path.write_text(json.dumps(config))
        command = [str(BIN_DIR / "tap-sell-sync"), "--config", str(config_path)]
        if state is not None:
            state_path = self.workdir / f"{name}-state.json"
            state_path.write_text(json.dumps(state))
            command += ["--state", str(state_path)]
        log = self.workdir / f"{name}.log"
        output = self.workdir / f"{name}.jsonl"
        with log.open("wb") as stderr, output.open("wb") as stdout:
            measured = run_measured(
                command,
                stdout=stdout if keep_output else subprocess.DEVNULL,
                stderr=stderr,
                timeout=COMMAND_TIMEOUT_SECONDS,
            )
        if measured.returncode != 0:
            tail = log.read_text(errors="replace")[-1500:]
            msg = f"the tap exited {measured.returncode}:\n{tail}"
            raise BenchError(msg)
        run = TapRun(measured, log)
        if keep_output:
            _read_output(output, run)
        output.unlink()
        return run

    def run_plain_loop(self, emulator: EmulatorProcess) -> tuple[Measured, dict[str, Any]]:
        """Run the plain protocol loop as a command.

        Args:
            emulator: The emulator.

        Returns:
            How long the command took, and what it printed.

        Raises:
            BenchError: When it fails.
        """
        result = self.workdir / "plain-loop.json"
        command = [
            sys.executable,
            str(Path(__file__).with_name("plain_loop.py")),
            emulator.url,
            str(uuid.uuid4()),
        ]
        with result.open("wb") as stdout:
            measured = run_measured(
                command,
                stdout=stdout,
                stderr=None,
                env={**os.environ, "BENCH_TOKEN": TOKEN},
                timeout=COMMAND_TIMEOUT_SECONDS,
            )
        if measured.returncode != 0:
            msg = f"the plain loop exited {measured.returncode}"
            raise BenchError(msg)
        return measured, json.loads(result.read_text())


def _read_output(path: Path, run: TapRun) -> None:
    """Count RECORD lines and find the largest and the last STATE line of a tap's output.

    Args:
        path: The output file.
        run: Where to put what was found.
    """
    last_state = b""
    with path.open("rb") as output:
        for line in output:
            if line.startswith(RECORD_PREFIX):
                run.records += 1
            elif line.startswith(STATE_PREFIX):
                run.largest_state = max(run.largest_state, len(line))
                last_state = line
    if last_state:
        run.last_state = json.loads(last_state)["value"]


def _request_window(log: Path) -> float:
    """Seconds from the tap's first call to Sell to its last, read from its log.

    Args:
        log: The tap's stderr.

    Returns:
        The seconds between the line before its first call and the line after its last.

    Raises:
        BenchError: When the lines are missing.
    """
    first = last = None
    for line in log.read_text(errors="replace").splitlines():
        stamp = line.split(" | ", 1)[0]
        if FIRST_CALL_LINE in line and first is None:
            first = stamp
        elif any(marker in line for marker in LAST_CALL_LINES):
            last = stamp
    if first is None or last is None:
        msg = f"the tap's log {log} lacks the lines that mark its calls to Sell"
        raise BenchError(msg)
    return _log_time(last) - _log_time(first)


def _log_time(stamp: str) -> float:
    """Seconds since the epoch of a log time stamp such as ``2026-01-02 10:11:12,345``."""
    clock, _, millis = stamp.partition(",")
    return time.mktime(time.strptime(clock, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000


def _calls(counts: dict[str, int], call: str) -> int:
    return sum(count for name, count in counts.items() if name.startswith(f"{call} "))


def _status_count(counts: dict[str, int], status: int) -> int:
    return sum(count for name, count in counts.items() if name.endswith(f" {status}"))


def _kb(size: int) -> str:
    return f"{size / 1000:,.0f} kB"


def _mb(size: int) -> str:
    return f"{size / MB:,.1f} MB"


def throughput_and_requests(
    bench: Bench, emulator: EmulatorProcess, notes: list[str]
) -> tuple[list[Row], TapRun]:
    """Figures 1, 2 and 5: the tap and the plain loop draining the same queue.

    The plain loop runs before and after the tap's first run, and its mean is the baseline,
    so that a change of load on the machine during the tap's run shows in both.

    Args:
        bench: The benchmark.
        emulator: An emulator without rate limit or latency.
        notes: Lines printed under the table.

    Returns:
        The rows, and the tap's first run.

    Raises:
        BenchError: When a run does not get every item, or the next run does not ack them.
    """
    items = emulator.objects
    device = str(uuid.uuid4())
    say(f"plain loop, {items:,} items")
    before = emulator.counters()
    plain_first, plain_result = bench.run_plain_loop(emulator)
    plain_counts = requests_by_call(before, emulator.counters())
    say(f"tap, {items:,} items, stdout to a file")
    before = emulator.counters()
    first = bench.run_tap(emulator, device, keep_output=True)
    first_counts = requests_by_call(before, emulator.counters())
    say(f"plain loop again, {items:,} items")
    plain_second, _ = bench.run_plain_loop(emulator)
    say("tap, second run: acks what the first emitted")
    before = emulator.counters()
    bench.run_tap(emulator, device, state=first.last_state)
    after = emulator.counters()
    second_counts = requests_by_call(before, after)
    acked = after["acks_received"] - before["acks_received"]
    if plain_result["items"] != items or first.records != items or acked != items:
        msg = (
            f"expected {items} items everywhere: plain loop {plain_result['items']}, tap "
            f"records {first.records}, keys acked by the next run {acked}"
        )
        raise BenchError(msg)

    plain_seconds = (plain_first.seconds + plain_second.seconds) / 2
    plain_rate = items / plain_seconds
    tap_rate = first.records / first.measured.seconds
    throughput = Row(
        f"Throughput, records/s ({items:,} items)",
        f"{tap_rate:,.0f}",
        f"{plain_rate:,.0f} (plain loop)",
        f"{tap_rate / plain_rate:.2f}",
        f">= {MIN_THROUGHPUT_RATIO}",
        tap_rate / plain_rate >= MIN_THROUGHPUT_RATIO,
    )
    notes.append(
        f"Throughput: whole commands, start-up included; tap {first.measured.seconds:.1f} s "
        f"(CPU {first.measured.user_seconds + first.measured.system_seconds:.1f} s), plain "
        f"loop {plain_first.seconds:.1f} s and {plain_second.seconds:.1f} s (CPU "
        f"{plain_first.user_seconds + plain_first.system_seconds:.1f} s). The tap writes to "
        "a file (its last STATE feeds the next run), the plain loop to /dev/null."
    )

    plain_requests = _calls(plain_counts, "fetch") + _calls(plain_counts, "ack")
    tap_requests = _calls(first_counts, "fetch") + _calls(second_counts, "ack")
    plain_per_1000 = plain_requests / items * 1000
    tap_per_1000 = tap_requests / items * 1000
    requests_row = Row(
        "Requests per 1,000 items (fetches + acks)",
        f"{tap_per_1000:.2f}",
        f"{plain_per_1000:.2f} (plain loop)",
        f"{tap_per_1000 / plain_per_1000:.2f}",
        f"<= {MAX_REQUESTS_RATIO}",
        tap_per_1000 / plain_per_1000 <= MAX_REQUESTS_RATIO,
    )
    notes.append(
        f"Requests: plain loop {_calls(plain_counts, 'fetch')} fetches + "
        f"{_calls(plain_counts, 'ack')} acks; tap {_calls(first_counts, 'fetch')} fetches in "
        f"its run + {_calls(second_counts, 'ack')} acks sent by the next run; one start per "
        "run not counted."
    )

    state = first.last_state or {}
    keys = [
        key
        for group in read_bookmark(state["bookmarks"][STATE_BOOKMARK]).pending.values()
        for key in group
    ]
    listed = dict(state)
    listed["bookmarks"] = {STATE_BOOKMARK: {"ack_keys": keys}}
    plain_state = len(json.dumps({"type": "STATE", "value": listed}, separators=(",", ":")))
    state_row = Row(
        f"Largest STATE line, {len(keys):,} pending keys",
        _kb(first.largest_state),
        f"{_kb(plain_state)} (keys as a JSON list)",
        f"{first.largest_state / plain_state:.2f}",
        f"<= {_kb(MAX_STATE_BYTES)}",
        first.largest_state <= MAX_STATE_BYTES,
    )
    return [throughput, requests_row, state_row], first


def budget(bench: Bench, emulator: EmulatorProcess, notes: list[str]) -> Row:
    """Figure 3: items a second when Sell's rate limit binds, against the ceiling.

    Args:
        bench: The benchmark.
        emulator: An emulator with latency and Sell's rate limit.
        notes: Lines printed under the table.

    Returns:
        The row.
    """
    items = emulator.objects
    device = str(uuid.uuid4())
    say(f"tap at {SELL_REQUESTS_PER_SECOND} requests/s, {items:,} items, 50 ms latency")
    before = emulator.counters()
    first = bench.run_tap(
        emulator, device, max_requests_per_second=SELL_REQUESTS_PER_SECOND, keep_output=True
    )
    say("tap, second run: acks what the first emitted")
    second = bench.run_tap(
        emulator,
        device,
        max_requests_per_second=SELL_REQUESTS_PER_SECOND,
        state=first.last_state,
    )
    after = emulator.counters()
    counts = requests_by_call(before, after)
    too_many = _status_count(counts, 429)

    ack_batch = 1000  # the tap's default ack_batch_size
    requests_per_item = 1 / PAGE_SIZE + 1 / ack_batch
    ceiling = SELL_REQUESTS_PER_SECOND / requests_per_item
    window = _request_window(first.log) + _request_window(second.log)
    achieved = first.records / window
    share = achieved / ceiling
    whole = first.records / (first.measured.seconds + second.measured.seconds)
    notes.append(
        f"Budget: ceiling = {SELL_REQUESTS_PER_SECOND} requests/s / ({PAGE_SIZE}-item pages "
        f"+ {ack_batch}-key acks) = {ceiling:,.0f} items/s; achieved over the {window:.1f} s "
        f"in which the two runs call Sell ({sum(counts.values())} requests: "
        + ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        + f"). Whole commands, start-up and writing records included: {whole:,.0f} items/s "
        f"({whole / ceiling:.0%} of the ceiling)."
    )
    return Row(
        "Items/s, rate limit binding (10 req/s, 50 ms latency)",
        f"{achieved:,.0f}; {too_many} x 429",
        f"{ceiling:,.0f} (ceiling)",
        f"{share:.2f}",
        f">= {MIN_BUDGET_SHARE}, no 429",
        share >= MIN_BUDGET_SHARE and too_many == 0,
    )


def memory(bench: Bench, small: EmulatorProcess, large: EmulatorProcess) -> Row:
    """Figure 4: the tap's peak resident memory for a short and a long queue.

    Args:
        bench: The benchmark.
        small: An emulator with the short queue.
        large: An emulator with the long queue (may still be starting).

    Returns:
        The row.
    """
    peaks = []
    for emulator in (small, large):
        emulator.wait_ready()
        say(f"tap memory, {emulator.objects:,} items")
        run = bench.run_tap(emulator, str(uuid.uuid4()))
        peaks.append(run.measured.peak_rss_bytes)
    growth = peaks[1] - peaks[0]
    return Row(
        f"Peak RSS, {large.objects:,} items (vs {small.objects:,})",
        _mb(peaks[1]),
        _mb(peaks[0]),
        f"+{_mb(growth)}",
        f"<= +{_mb(MAX_MEMORY_GROWTH_BYTES)}",
        growth <= MAX_MEMORY_GROWTH_BYTES,
    )


def main_job(
    bench: Bench,
    emulator: EmulatorProcess,
    postgres: ThrowawayPostgres,
    notes: list[str],
) -> Row:
    """Figure 6: `meltano run tap-sell-sync target-postgres`, the tap and the target apart.

    Args:
        bench: The benchmark.
        emulator: An emulator without rate limit (a new device gets the whole queue).
        postgres: The throwaway PostgreSQL server.
        notes: Lines printed under the table.

    Returns:
        The row.

    Raises:
        BenchError: When Meltano is missing or the run fails.
    """
    if not MELTANO.exists():
        msg = f"Meltano not found at {MELTANO}: run scripts/bootstrap.sh first"
        raise BenchError(msg)
    database = postgres.wait_ready()
    items = emulator.objects
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAP_SELL_SYNC_", "TARGET_", "MELTANO_"))
    }
    env |= {
        "MELTANO_DATABASE_URI": f"sqlite:///{bench.workdir / 'meltano.db'}",
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "TAP_SELL_SYNC_ACCESS_TOKEN": TOKEN,
        "TAP_SELL_SYNC_API_URL": emulator.url,
        "TAP_SELL_SYNC_MAX_ITEMS_PER_RUN": str(items),
        "TARGET_POSTGRES_HOST": database["host"],
        "TARGET_POSTGRES_PORT": database["port"],
        "TARGET_POSTGRES_USER": database["user"],
        "TARGET_POSTGRES_PASSWORD": database["password"],
        "TARGET_POSTGRES_DATABASE": database["database"],
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": "sell",
    }
    say(f"meltano run tap-sell-sync target-postgres, {items:,} items")
    watcher = ProcessWatcher(("tap-sell-sync", "target-postgres"))
    watcher.start()
    log = bench.workdir / "meltano.log"
    try:
        with log.open("wb") as output:
            measured = run_measured(
                [str(MELTANO), "run", "tap-sell-sync", "target-postgres"],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=COMMAND_TIMEOUT_SECONDS,
                on_start=watcher.watch,
                cwd=REPO_ROOT,
            )
    finally:
        watcher.stop()
    if measured.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:].replace(database["password"], "***")
        msg = f"meltano run exited {measured.returncode}:\n{tail}"
        raise BenchError(msg)
    rows = _count_rows(database)
    if rows != items:
        msg = f"expected {items} rows in PostgreSQL after the main job, found {rows}"
        raise BenchError(msg)

    tap = watcher.longest("tap-sell-sync")
    target = watcher.longest("target-postgres")
    tap_seconds = tap.last_seen - tap.first_seen
    target_seconds = target.last_seen - target.first_seen
    notes.append(
        f"Main job: {rows:,} rows landed. Tap process {tap_seconds:.1f} s (CPU "
        f"{tap.cpu_seconds:.1f} s, peak {_mb(tap.peak_rss_bytes)}); target process "
        f"{target_seconds:.1f} s (CPU {target.cpu_seconds:.1f} s), of which "
        f"{max(target.last_seen - tap.last_seen, 0):.1f} s after the tap ended; Meltano's "
        f"own start and finish {measured.seconds - (target.last_seen - tap.first_seen):.1f} s."
    )
    # The tap runs at its default client-side rate; fetching the queue at that rate alone
    # takes this long, whatever else the pipeline does.
    floor = (items / PAGE_SIZE + 2) / DEFAULT_REQUESTS_PER_SECOND
    return Row(
        f"Main job, meltano run to PostgreSQL ({items:,} items)",
        f"{measured.seconds:.1f} s (tap {tap_seconds:.1f} s, target {target_seconds:.1f} s)",
        f"{floor:.1f} s (fetches at {DEFAULT_REQUESTS_PER_SECOND:g} req/s)",
        f"{measured.seconds / floor:.2f}",
        "(none)",
        None,
    )


def _count_rows(database: dict[str, str]) -> int:
    import psycopg  # noqa: PLC0415 - only the main job needs it

    with psycopg.connect(
        host=database["host"],
        port=int(database["port"]),
        user=database["user"],
        password=database["password"],
        dbname=database["database"],
    ) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'sell'"
        ).fetchall()
        total = 0
        for (table,) in tables:
            count = connection.execute(
                f'SELECT count(*) FROM sell."{table}"'  # noqa: S608 - names from the catalog
            ).fetchone()
            total += count[0] if count else 0
        return total


def render(rows: list[Row]) -> str:
    """Render the table as Markdown.

    Args:
        rows: The rows.

    Returns:
        The table.
    """
    header = ("Figure", "Tap", "Baseline (same run)", "Ratio", "Target", "Met")
    lines = [header] + [
        (
            row.figure,
            row.tap,
            row.baseline,
            row.ratio,
            row.target,
            "-" if row.met is None else ("yes" if row.met else "NO"),
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    text = [
        "| "
        + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        + " |"
        for line in lines
    ]
    text.insert(1, "| " + " | ".join("-" * width for width in widths) + " |")
    return "\n".join(text)


def _memory_phase(bench: Bench, options: argparse.Namespace) -> Row:
    """Start the two emulators of figure 4 and measure the tap on each.

    Args:
        bench: The benchmark.
        options: The command's options.

    Returns:
        The row.
    """
    large = EmulatorProcess(objects=options.large_items, token=TOKEN)
    try:
        with EmulatorProcess(objects=options.small_items, token=TOKEN) as small:
            return memory(bench, small, large)
    finally:
        large.stop()


class _Background:
    """A function running in a thread; `result` waits for it and raises what it raised."""

    def __init__(self, function: Callable[..., Row], *args: Any) -> None:  # noqa: ANN401
        self._row: Row | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(function, *args), daemon=True)
        self._thread.start()

    def _run(self, function: Callable[..., Row], *args: Any) -> None:  # noqa: ANN401
        try:
            self._row = function(*args)
        except BaseException as exc:  # noqa: BLE001 - raised again by result()
            self._error = exc

    def result(self) -> Row:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._row is not None  # noqa: S101
        return self._row


def _in_background(function: Callable[..., Row], *args: Any) -> _Background:  # noqa: ANN401
    return _Background(function, *args)


def main() -> int:
    """Run every phase and print the table.

    Returns:
        0 when every target is met, 1 otherwise.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--items", type=int, default=100_000, help="queue for figures 1, 2, 5, 6")
    parser.add_argument("--small-items", type=int, default=10_000, help="short queue, figure 4")
    parser.add_argument("--large-items", type=int, default=300_000, help="long queue, figure 4")
    parser.add_argument("--budget-items", type=int, default=10_000, help="queue for figure 3")
    parser.add_argument("--skip-main-job", action="store_true", help="leave figure 6 out")
    parser.add_argument(
        "--quick", action="store_true", help="20,000 / 2,000 / 60,000 / 3,000 items"
    )
    options = parser.parse_args()
    if options.quick:
        options.items, options.small_items = 20_000, 2_000
        options.large_items, options.budget_items = 60_000, 3_000

    started = time.perf_counter()
    rows: list[Row] = []
    notes: list[str] = []
    postgres = None if options.skip_main_job else ThrowawayPostgres()
    try:
        with tempfile.TemporaryDirectory(prefix="tap-bench-") as directory:
            bench = Bench(Path(directory))
            with EmulatorProcess(objects=options.items, token=TOKEN) as emulator:
                say(f"emulator with {options.items:,} objects up in {emulator.ready_seconds:.1f} s")
                figures, _ = throughput_and_requests(bench, emulator, notes)
                rows += figures
                main_job_row = None
                if postgres is not None:
                    main_job_row = _in_background(main_job, bench, emulator, postgres, notes)
                    # The main job's tap spends its first minutes fetching at its rate limit,
                    # using little CPU; the memory runs go meanwhile. They can only slow the
                    # main job, never speed it up, and peak memory does not depend on CPU.
                    time.sleep(MAIN_JOB_HEAD_START_SECONDS)
                rows.insert(2, _memory_phase(bench, options))
                if main_job_row is not None:
                    rows.append(main_job_row.result())
            if postgres is not None:
                postgres.stop()
            with EmulatorProcess(
                objects=options.budget_items,
                token=TOKEN,
                rate_limit_per_hour=SELL_REQUESTS_PER_SECOND * 3600,
                rate_burst=SELL_BURST,
                latency=SELL_LATENCY_SECONDS,
            ) as limited:
                rows.insert(2, budget(bench, limited, notes))
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if postgres is not None:
            postgres.stop()

    print(render(rows))
    print()
    for note in notes:
        print(f"- {note}")
    print(f"- Benchmark wall time {time.perf_counter() - started:.0f} s on {os.cpu_count()} cores.")
    return 0 if all(row.met is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
