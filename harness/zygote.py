# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Start the tap and the target fast: fork them from a process that has already imported them.

Importing singer-sdk costs most of a second per process, and a schedule starts dozens of
processes. The zygote is forked from a single-threaded harness worker, imports the tap and
the target once, and then forks one child per request. The child takes the standard streams
it was sent, sets its arguments, environment and directory, and calls the same entry point
the installed command calls (``TapSellSync.cli`` for ``tap-sell-sync``). Exit statuses travel
back over the same socket; signals go straight to the child's process id.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import select
import signal
import socket
import sys
import threading
import typing as t

MAX_MESSAGE = 1 << 20
POLL_SECONDS = 0.005
STREAM_COUNT = 3


def _entry_points() -> dict[str, type[t.Any]]:
    # Imported once, in the zygote. Only the classes: reading ``cli`` sets up logging, which
    # the child must do itself, on its own standard error.
    from harness.target import TargetHarnessSqlite  # noqa: PLC0415
    from tap_sell_sync.tap import TapSellSync  # noqa: PLC0415

    return {"tap": TapSellSync, "target": TargetHarnessSqlite}


def _child(plugin: type[t.Any], request: dict[str, t.Any], fds: list[int]) -> None:
    """Become the requested program; never returns."""
    code = 1
    try:
        for target_fd, fd in enumerate(fds):
            os.dup2(fd, target_fd)
        for fd in fds:
            if fd > 2:  # noqa: PLR2004
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        random.seed()
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)))
        sys.stderr = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
            errors="backslashreplace",
            line_buffering=True,
        )
        for owner in (plugin, getattr(plugin, "message_reader_class", None)):
            if owner is not None and hasattr(owner, "default_input"):
                # The SDK's reader keeps the interpreter's first stdin as a class attribute.
                owner.default_input = sys.stdin
        try:
            plugin.cli()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - print it as the interpreter would
            import traceback  # noqa: PLC0415

            traceback.print_exc()
            code = 1
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    finally:
        os._exit(code)


def _serve(sock: socket.socket) -> None:
    """The zygote's loop: fork a child per request, report each child's exit."""
    entries = _entry_points()
    children: set[int] = set()
    while True:
        ready, _, _ = select.select([sock], [], [], POLL_SECONDS)
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if not pid:
                break
            children.discard(pid)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            sock.sendall(json.dumps({"exit": pid, "code": code}).encode() + b"\n")
        if not ready:
            continue
        message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, STREAM_COUNT)
        if not message:
            return
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(entries[request["kind"]], request, fds)
        for fd in fds:
            os.close(fd)
        children.add(pid)
        sock.sendall(json.dumps({"spawned": pid}).encode() + b"\n")


class Zygote:
    """The harness side: ask the zygote for children, wait for their exit."""

    def __init__(self) -> None:
        """Fork the zygote; call this while the process has no other thread."""
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            parent_sock.close()
            code = 0
            try:
                _serve(child_sock)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        child_sock.close()
        self.pid = pid
        self._sock = parent_sock
        self._reader = parent_sock.makefile("rb")
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._spawned: list[int] = []
        self._exits: dict[int, int] = {}
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._reader:
            message = json.loads(line)
            with self._changed:
                if "spawned" in message:
                    self._spawned.append(message["spawned"])
                else:
                    self._exits[message["exit"]] = message["code"]
                self._changed.notify_all()

    def spawn(
        self, kind: str, argv: list[str], cwd: str, env: dict[str, str], fds: list[int]
    ) -> int:
        """Start a child with the given standard streams; returns its process id."""
        request = json.dumps({"kind": kind, "argv": argv, "cwd": cwd, "env": env}).encode()
        with self._lock, self._changed:
            socket.send_fds(self._sock, [request], fds)
            while not self._spawned:
                self._changed.wait()
            return self._spawned.pop(0)

    def wait(self, pid: int, timeout: float | None = None) -> int | None:
        """Wait for a child's exit code (negative: killed by that signal); None on timeout."""
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits, timeout)
            return self._exits.get(pid)

    def poll(self, pid: int) -> int | None:
        """Return the child's exit code, or None while it runs."""
        with self._changed:
            return self._exits.get(pid)

    def close(self) -> None:
        """Stop the zygote."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)
        os.waitpid(self.pid, 0)
        self._sock.close()
