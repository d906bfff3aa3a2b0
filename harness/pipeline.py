# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""One run of the pipeline: ``tap-sell-sync | target``, relayed line by line, with kills.

The relay stands where Meltano stands: it forwards the tap's stdout to the target's stdin,
reads the target's stdout, remembers when the target printed each STATE and keeps the last
one for the next run. It can kill the tap or the target at a chosen moment.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

if t.TYPE_CHECKING:
    from harness.zygote import Zygote

REPO_ROOT = Path(__file__).resolve().parents[1]
TAP_COMMAND = str(Path(sys.executable).parent / "tap-sell-sync")
TARGET_MODULE = "harness.target"
TARGET_COMMAND = "target-harness-sqlite"
RUN_TIMEOUT_SECONDS = 120.0
TERMINATE_GRACE_SECONDS = 5.0
ACK_POLL_SECONDS = 0.002
RECORD_PREFIX = b'{"type":"RECORD"'
STATE_PREFIX = b'{"type":"STATE"'


@dataclass(frozen=True)
class Kill:
    """When and how to kill one process of the pipeline.

    Attributes:
        signal: ``SIGKILL`` or ``SIGTERM``.
        trigger: For the tap: ``line`` (before relaying line ``value``; relaying stops on
            SIGKILL), ``record_state`` (the ``value``-th time a STATE follows a RECORD: the
            STATE is not relayed), ``time`` (``value`` tenths of a second after the start)
            or ``acks`` (once the emulator received ``value`` ack keys in this run). For the
            target: ``line`` (after ``value`` lines were relayed, usually before a commit)
            or ``state`` (right after it printed its ``value``-th STATE, after a commit).
        value: The trigger's number.
    """

    signal: str
    trigger: str
    value: int

    def describe(self) -> str:
        """Return a short text such as ``SIGKILL@line=40``."""
        return f"{self.signal}@{self.trigger}={self.value}"


@dataclass
class RunResult:
    """What one run did, as seen from the relay."""

    tap_returncode: int | None = None
    target_returncode: int | None = None
    records_relayed: int = 0
    lines_relayed: int = 0
    states: list[tuple[float, dict[str, t.Any]]] = field(default_factory=list)
    tap_killed: bool = False
    target_killed: bool = False
    tap_stderr: str = ""
    target_stderr: str = ""
    token_seen: bool = False
    elapsed: float = 0.0


class Child:
    """A started program: a subprocess (``exec``) or a child of the zygote (``fork``)."""

    def __init__(
        self,
        *,
        popen: subprocess.Popen[bytes] | None = None,
        zygote: Zygote | None = None,
        pid: int = 0,
    ) -> None:
        """Wrap a subprocess, or a process id the zygote reports on."""
        self._popen = popen
        self._zygote = zygote
        self.pid = popen.pid if popen is not None else pid

    def poll(self) -> int | None:
        """Return the exit code, or None while the program runs."""
        if self._popen is not None:
            return self._popen.poll()
        assert self._zygote is not None  # noqa: S101
        return self._zygote.poll(self.pid)

    def wait(self, timeout: float) -> int | None:
        """Wait for the exit code; None on timeout."""
        if self._popen is not None:
            try:
                return self._popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None
        assert self._zygote is not None  # noqa: S101
        return self._zygote.wait(self.pid, timeout)

    def signal(self, name: str) -> None:
        """Send a signal (by name) if the program still runs."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, getattr(signal, name))


def _start(  # noqa: PLR0913, PLR0917
    kind: str,
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    fds: list[int],
    zygote: Zygote | None,
) -> Child:
    if zygote is not None:
        return Child(zygote=zygote, pid=zygote.spawn(kind, argv, str(cwd), env, fds))
    return Child(
        popen=subprocess.Popen(  # noqa: S603
            argv, stdin=fds[0], stdout=fds[1], stderr=fds[2], env=env, cwd=cwd
        ),
    )


def run_pipeline(  # noqa: C901, PLR0912, PLR0913, PLR0915
    *,
    workdir: Path,
    tap_config: dict[str, t.Any],
    target_config: dict[str, t.Any],
    state: dict[str, t.Any] | None,
    token: str,
    tap_kill: Kill | None = None,
    target_kill: Kill | None = None,
    acks_received: t.Callable[[], int] | None = None,
    zygote: Zygote | None = None,
) -> RunResult:
    """Run the tap into the target once.

    Args:
        workdir: Where config, state and logs of this run go.
        tap_config: The tap's settings.
        target_config: The target's settings.
        state: The state to pass with ``--state`` (the target's last one), or None.
        token: The access token, to look for in every output.
        tap_kill: When to kill the tap, or None.
        target_kill: When to kill the target, or None.
        acks_received: Returns the emulator's count of ack keys received (for ``acks``).
        zygote: Fork the programs from this zygote; None runs the installed commands.

    Returns:
        What happened.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    tap_config_path = workdir / "tap-config.json"
    tap_config_path.write_text(json.dumps(tap_config))
    target_config_path = workdir / "target-config.json"
    target_config_path.write_text(json.dumps(target_config))
    tap_args = [TAP_COMMAND, "--config", str(tap_config_path)]
    if state is not None:
        state_path = workdir / "state.json"
        state_path.write_text(json.dumps(state))
        tap_args += ["--state", str(state_path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_SELL_SYNC_", "TARGET_"))}
    env["PYTHONPATH"] = str(REPO_ROOT)
    tap_err = (workdir / "tap.stderr").open("wb")
    target_err = (workdir / "target.stderr").open("wb")
    result = RunResult()
    started = time.monotonic()
    tap_out_read, tap_out_write = os.pipe()
    target_in_read, target_in_write = os.pipe()
    target_out_read, target_out_write = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        tap = _start(
            "tap", tap_args, workdir, env, [devnull, tap_out_write, tap_err.fileno()], zygote
        )
        target = _start(
            "target",
            [TARGET_COMMAND, "--config", str(target_config_path)]
            if zygote is not None
            else [sys.executable, "-m", TARGET_MODULE, "--config", str(target_config_path)],
            workdir,
            env,
            [target_in_read, target_out_write, target_err.fileno()],
            zygote,
        )
    finally:
        for fd in (tap_out_write, target_in_read, target_out_write, devnull):
            os.close(fd)
    tap_stdout = os.fdopen(tap_out_read, "rb")
    target_stdin = os.fdopen(target_in_write, "wb")
    target_stdout = os.fdopen(target_out_read, "rb")
    token_bytes = token.encode()
    done = threading.Event()
    acks_at_start = acks_received() if acks_received else 0

    def kill_tap() -> None:
        if tap_kill is not None and not result.tap_killed:
            result.tap_killed = True
            tap.signal(tap_kill.signal)

    def kill_target() -> None:
        if target_kill is not None and not result.target_killed:
            result.target_killed = True
            target.signal(target_kill.signal)

    def read_target() -> None:
        for line in target_stdout:
            seen = time.time()
            if token_bytes in line:
                result.token_seen = True
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                result.states.append((seen, value))
                if (
                    target_kill is not None
                    and target_kill.trigger == "state"
                    and len(result.states) == target_kill.value
                ):
                    kill_target()
        # The target is gone: Meltano stops the tap as well.
        tap.signal("SIGTERM")

    def watch() -> None:
        assert tap_kill is not None  # noqa: S101
        deadline = started + tap_kill.value / 10 if tap_kill.trigger == "time" else None
        while not done.is_set() and tap.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                kill_tap()
                return
            if (
                tap_kill.trigger == "acks"
                and acks_received is not None
                and acks_received() - acks_at_start >= tap_kill.value
            ):
                kill_tap()
                return
            time.sleep(ACK_POLL_SECONDS)

    reader = threading.Thread(target=read_target, daemon=True)
    reader.start()
    watcher = None
    if tap_kill is not None and tap_kill.trigger in {"time", "acks"}:
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()

    previous_was_record = False
    record_state_seen = 0
    relaying = True
    try:
        for line in tap_stdout:
            if token_bytes in line:
                result.token_seen = True
            if not relaying:
                continue
            is_record = line.startswith(RECORD_PREFIX)
            if tap_kill is not None and tap_kill.trigger == "line":
                if result.lines_relayed + 1 == tap_kill.value:
                    kill_tap()
                    relaying = tap_kill.signal != "SIGKILL"
            elif (
                tap_kill is not None
                and tap_kill.trigger == "record_state"
                and previous_was_record
                and line.startswith(STATE_PREFIX)
            ):
                record_state_seen += 1
                if record_state_seen == tap_kill.value:
                    kill_tap()
                    relaying = False
            if not relaying:
                continue
            previous_was_record = is_record
            try:
                target_stdin.write(line)
                target_stdin.flush()
            except (BrokenPipeError, OSError):
                relaying = False
                continue
            result.lines_relayed += 1
            result.records_relayed += is_record
            if (
                target_kill is not None
                and target_kill.trigger == "line"
                and result.lines_relayed == target_kill.value
            ):
                kill_target()
    finally:
        done.set()
        with contextlib.suppress(BrokenPipeError, OSError):
            target_stdin.close()
        tap_stdout.close()
        for process in (tap, target):
            if process.wait(RUN_TIMEOUT_SECONDS) is None:
                process.signal("SIGKILL")
                process.wait(RUN_TIMEOUT_SECONDS)
        reader.join(timeout=TERMINATE_GRACE_SECONDS)
        if watcher is not None:
            watcher.join(timeout=TERMINATE_GRACE_SECONDS)
        tap_err.close()
        target_err.close()

    target_stdout.close()
    result.tap_returncode = tap.poll()
    result.target_returncode = target.poll()
    result.elapsed = time.monotonic() - started
    result.tap_stderr = (workdir / "tap.stderr").read_text(errors="replace")
    result.target_stderr = (workdir / "target.stderr").read_text(errors="replace")
    if token in result.tap_stderr or token in result.target_stderr:
        result.token_seen = True
    return result
