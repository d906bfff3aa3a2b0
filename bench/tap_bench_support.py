# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Processes for the tap benchmark: emulator, measured commands, PostgreSQL, process watcher.

The emulator runs as its own command; commands are timed with the kernel's account of their
CPU and peak memory; a throwaway PostgreSQL comes from scripts/postgres.sh; a watcher times
the tap and the target inside a Meltano run.

Everything binds or talks to 127.0.0.1 only, and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from typing_extensions import Self

if TYPE_CHECKING:
    from collections.abc import Callable

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN_DIR = Path(sys.executable).parent
EMULATOR_START_SECONDS = 120.0
STOP_SECONDS = 30.0
WATCH_INTERVAL_SECONDS = 0.02
MAX_ANCESTRY = 5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


class EmulatorProcess:
    """The `sell-sync-emulator` command on 127.0.0.1, in its own process."""

    def __init__(  # noqa: PLR0913
        self,
        *,
        objects: int,
        token: str,
        seed: int = 1,
        page_size: int = 100,
        rate_limit_per_hour: int = 0,
        rate_burst: int = 10,
        latency: float = 0.0,
    ) -> None:
        """Start the emulator; `wait_ready` returns once it listens.

        Args:
            objects: Objects in the account.
            token: The access token it accepts (passed in its environment).
            seed: Data seed.
            page_size: Items per queue page.
            rate_limit_per_hour: Requests an hour per token (0: no limit).
            rate_burst: Requests allowed at once before the hourly rate applies.
            latency: Seconds added to every protocol reply.
        """
        self.objects = objects
        self.started = time.perf_counter()
        command = [
            str(BIN_DIR / "sell-sync-emulator"),
            "--host", "127.0.0.1",
            "--port", "0",
            "--objects", str(objects),
            "--seed", str(seed),
            "--page-size", str(page_size),
            "--rate-limit", str(rate_limit_per_hour),
            "--rate-burst", str(rate_burst),
            "--latency", str(latency),
        ]  # fmt: skip
        env = {**os.environ, "SELL_SYNC_EMULATOR_TOKEN": token}
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
        )
        self.url = ""
        self.ready_seconds = 0.0

    def wait_ready(self) -> str:
        """Wait until the emulator prints its URL.

        Returns:
            The base URL.

        Raises:
            BenchError: When it exits or stays silent for EMULATOR_START_SECONDS.
        """
        if self.url:
            return self.url
        stdout = self._process.stdout
        assert stdout is not None  # noqa: S101
        ready, _, _ = select.select([stdout], [], [], EMULATOR_START_SECONDS)
        line = stdout.readline().strip() if ready else ""
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            stderr = self._process.stderr.read() if self._process.stderr else ""
            msg = f"the emulator ({self.objects} objects) did not start: {stderr[-500:]}"
            raise BenchError(msg)
        self.url = line
        self.ready_seconds = time.perf_counter() - self.started
        return line

    def counters(self) -> dict[str, Any]:
        """Read the emulator's counters over its control interface.

        Returns:
            The counters (requests by endpoint and status, items delivered, acks, ...).
        """
        with urllib.request.urlopen(f"{self.url}/_emulator/counters", timeout=30) as answer:  # noqa: S310
            return dict(json.load(answer))

    def stop(self) -> None:
        """Stop the emulator."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> Self:
        """Wait until it listens.

        Returns:
            The emulator.
        """
        self.wait_ready()
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop it."""
        self.stop()


def requests_by_call(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Requests the emulator answered between two counter readings, by call and status.

    Args:
        before: Counters read first.
        after: Counters read later.

    Returns:
        ``{"fetch 200": n, "ack 202": n, "fetch 429": n, ...}`` for the calls in between.
    """
    result = {}
    for call, statuses in after["requests"].items():
        for status, count in statuses.items():
            delta = count - before["requests"].get(call, {}).get(status, 0)
            if delta:
                result[f"{call} {status}"] = delta
    return result


@dataclass
class Measured:
    """What one command took."""

    seconds: float
    user_seconds: float
    system_seconds: float
    peak_rss_bytes: int
    returncode: int


def run_measured(  # noqa: PLR0913
    command: list[str],
    *,
    stdout: IO[Any] | int,
    stderr: IO[Any] | int | None,
    env: dict[str, str] | None = None,
    timeout: float,
    on_start: Callable[[int], None] | None = None,
    cwd: Path | None = None,
) -> Measured:
    """Run a command to its end; time it and read its peak resident memory.

    The peak comes from the kernel's own account of the process (``wait4``), so nothing
    is sampled and nothing is missed.

    Args:
        command: The command.
        stdout: Where its standard output goes.
        stderr: Where its standard error goes.
        env: Its environment (default: ours).
        timeout: Seconds after which it is killed.
        on_start: Called with its process id once it runs.
        cwd: Its working directory (default: ours).

    Returns:
        Wall time, CPU times, peak resident memory and exit status.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env, cwd=cwd)
    if on_start is not None:
        on_start(process.pid)
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        seconds=seconds,
        user_seconds=usage.ru_utime,
        system_seconds=usage.ru_stime,
        peak_rss_bytes=usage.ru_maxrss * 1024,
        returncode=process.returncode,
    )


@dataclass
class WatchedProcess:
    """A process seen by `ProcessWatcher`: when it ran and the CPU it used."""

    first_seen: float
    last_seen: float
    cpu_seconds: float = 0.0
    peak_rss_bytes: int = 0


@dataclass
class ProcessWatcher:
    """Polls /proc for descendants of one process whose program is one of the given names.

    A Meltano run starts the tap and the target as its own children; this is how their
    start, end, CPU time and peak memory are seen from outside without changing Meltano.
    Processes of the same names that other people run on the machine are not descendants.
    """

    names: tuple[str, ...]
    root: int | None = None
    _seen: dict[int, tuple[str, WatchedProcess]] = field(default_factory=dict)
    _ignored: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling in a background thread."""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS)

    def longest(self, name: str) -> WatchedProcess:
        """The longest-lived process of a program (Meltano may also run it briefly first).

        Args:
            name: The program name.

        Returns:
            What was seen of it.

        Raises:
            BenchError: When no such process was seen.
        """
        found = [watched for seen_name, watched in self._seen.values() if seen_name == name]
        if not found:
            msg = f"no {name} process was seen"
            raise BenchError(msg)
        return max(found, key=lambda watched: watched.last_seen - watched.first_seen)

    def watch(self, root: int) -> None:
        """Set the process whose descendants are watched.

        Args:
            root: Its process id.
        """
        self.root = root

    def _descends_from_root(self, pid: int) -> bool:
        for _ in range(MAX_ANCESTRY):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                return False
            pid = int(stat.rsplit(")", 1)[1].split()[1])
            if pid == self.root:
                return True
            if pid <= 1:
                return False
        return False

    def _program(self, pid: int) -> str | None:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        for arg in argv[:2]:
            name = Path(arg.decode(errors="replace")).name
            if name in self.names:
                return name
        return None

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.perf_counter()
            if self.root is None:
                time.sleep(WATCH_INTERVAL_SECONDS)
                continue
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit() or int(entry.name) in self._ignored:
                    continue
                pid = int(entry.name)
                if pid not in self._seen:
                    if not self._descends_from_root(pid):
                        self._ignored.add(pid)
                        continue
                    # Checked again on each poll: a new child shows its parent's command
                    # line until it runs its own program.
                    name = self._program(pid)
                    if name is None:
                        continue
                    self._seen[pid] = (name, WatchedProcess(now, now))
                self._sample(pid, self._seen[pid][1], now)
            time.sleep(WATCH_INTERVAL_SECONDS)

    @staticmethod
    def _sample(pid: int, watched: WatchedProcess, now: float) -> None:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":  # exited, not reaped yet
            return
        watched.last_seen = now
        watched.cpu_seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                watched.peak_rss_bytes = int(line.split()[1]) * 1024


class ThrowawayPostgres:
    """A PostgreSQL server started by scripts/postgres.sh, removed when this stops."""

    def __init__(self) -> None:
        """Start the server in a shell that keeps it until its input closes."""
        script = (
            "source scripts/postgres.sh && start_postgres >&2 || exit 1; "
            'printf "%s\\n" "$E2E_PG_HOST" "$E2E_PG_PORT" "$E2E_PG_USER" '
            '"$E2E_PG_PASSWORD" "$E2E_PG_DATABASE"; read -r _'
        )
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            "w+", prefix="tap-bench-postgres-", suffix=".log"
        )
        self._process = subprocess.Popen(
            ["bash", "-c", script],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.settings: dict[str, str] = {}

    def wait_ready(self) -> dict[str, str]:
        """Wait until the server accepts connections.

        Returns:
            host, port, user, password, database.

        Raises:
            BenchError: When it does not start.
        """
        if self.settings:
            return self.settings
        stdout = self._process.stdout
        assert stdout is not None  # noqa: S101
        # Bounded by scripts/postgres.sh itself (pg_ctl waits at most 60 s, three tries).
        lines = [stdout.readline().rstrip("\n") for _ in range(5)]
        lines = [line for line in lines if line]
        if len(lines) < 5:  # noqa: PLR2004
            self._log.seek(0)
            log = self._log.read()[-800:]
            self.stop()
            msg = f"PostgreSQL did not start: {log}"
            raise BenchError(msg)
        names = ("host", "port", "user", "password", "database")
        self.settings = dict(zip(names, lines, strict=True))
        return self.settings

    def stop(self) -> None:
        """Stop and remove the server."""
        if self._process.poll() is None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.send_signal(signal.SIGTERM)
                self._process.wait(timeout=STOP_SECONDS)
        self._log.close()
