# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The HTTP side of the emulator: keep-alive server threads and the wire form of replies.

It also owns dropped connections, the loopback-only guard of the control interface and the
check that a bind address never means every interface unless it says so.
"""

from __future__ import annotations

import contextlib
import http
import ipaddress
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final

from typing_extensions import override

from sell_sync_emulator.control import PREFIX, ControlError, handle_control

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sell_sync_emulator.model import Emulator, Reply

DEFAULT_HOST: Final = "127.0.0.1"
_POLL_SECONDS: Final = 0.05
_MAX_BODY_BYTES: Final = 32 * 1024 * 1024
_MAX_HEADER_LINE: Final = 65536
_MAX_HEADERS: Final = 100
_SUPPORTED_VERSIONS: Final = frozenset({"HTTP/1.0", "HTTP/1.1"})
_END_OF_HEADERS: Final = frozenset({b"\r\n", b"\n", b""})


def _plain_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Read an address without its IPv6 scope, an IPv4-mapped one as IPv4; None if no address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_any_address(address: str) -> bool:
    ip = _plain_address(address)
    return ip is not None and ip.is_unspecified


def check_host(host: str) -> str:
    """Refuse a bind address that would mean every interface without saying so.

    The socket layer binds every interface for an empty host, and for names and short forms
    that resolve to the unspecified address (`0`, `0x0`, `0.0`, `::ffff:0.0.0.0`, a host-file
    entry). Only the literal unspecified addresses (`0.0.0.0`, `::` and its other spellings)
    are taken as a request to listen everywhere. A name that does not resolve passes: binding
    it reports the failure.

    Args:
        host: The address to bind, as the user gave it.

    Returns:
        The host, unchanged.

    Raises:
        ValueError: When the host is empty, holds whitespace, or means every interface
            without being written as 0.0.0.0 or ::.
    """
    if not host.strip():
        msg = "the host is empty; name an address such as 127.0.0.1 (0.0.0.0 binds every interface)"
        raise ValueError(msg)
    if any(character.isspace() for character in host):
        msg = f"the host {host!r} contains whitespace; name an address such as 127.0.0.1"
        raise ValueError(msg)
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host.split("%", 1)[0]).is_unspecified:
            return host  # written out as the unspecified address: every interface on purpose
    # Resolve the way the server's socket will (IPv6 when the host holds a colon).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        resolved = socket.getaddrinfo(host, None, family, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return host
    if any(_is_any_address(str(entry[4][0])) for entry in resolved):
        msg = (
            f"the host {host!r} means every interface; write 0.0.0.0 (or ::) if that is meant,"
            " else name an address such as 127.0.0.1"
        )
        raise ValueError(msg)
    return host


def _is_loopback(address: str) -> bool:
    ip = _plain_address(address)
    return ip is not None and ip.is_loopback


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one emulator; it can cut its open connections on close."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        """Bind and listen.

        Args:
            address: (host, port); port 0 picks a free port.
            emulator: The emulator to serve.

        Raises:
            ValueError: When the host would mean every interface without saying so (see
                `check_host`).
        """
        check_host(address[0])
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    @override
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (often on purpose, after a slow or faulty reply) is routine;
        # anything else is reported on one line, without request data.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        print(f"sell-sync-emulator: error while serving a request: {error!r}", file=sys.stderr)  # noqa: T201 - the server's only diagnostic

    def track(self, connection: socket.socket, *, add: bool) -> None:
        """Remember or forget an open client connection.

        Args:
            connection: The socket.
            add: True when it opens, False when it closes.
        """
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut down every open client connection (used when the server stops)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer
    server_version = "sell-sync-emulator"
    raw_requestline: bytes  # set by the base class before parse_request
    header_map: dict[str, str]

    @override
    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    @override
    def finish(self) -> None:
        self.server.track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    @override
    def parse_request(self) -> bool:
        # The standard parser runs every header block through the e-mail package, which costs
        # more than serving a page; this one reads the same HTTP/1.x request head into a dict
        # with lower-case names.
        self.close_connection = True
        self.command, self.request_version, self.header_map = "", "HTTP/1.1", {}
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) != 3:  # noqa: PLR2004 - method, target, version
            self.send_error(http.HTTPStatus.BAD_REQUEST, "Bad request line")
            return False
        command, path, version = words
        if version not in _SUPPORTED_VERSIONS:
            self.send_error(http.HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "Only HTTP/1.x")
            return False
        self.command, self.path, self.request_version = command, path, version

        for _ in range(_MAX_HEADERS + 1):
            line = self.rfile.readline(_MAX_HEADER_LINE + 1)
            if len(line) > _MAX_HEADER_LINE:
                self.send_error(http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Header too long")
                return False
            if line in _END_OF_HEADERS:
                break
            name, colon, value = line.decode("iso-8859-1").partition(":")
            if not colon or not name.strip():
                self.send_error(http.HTTPStatus.BAD_REQUEST, "Bad header line")
                return False
            self.header_map[name.strip().lower()] = value.strip()
        else:
            self.send_error(http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False

        connection = self.header_map.get("connection", "").lower()
        if version == "HTTP/1.1":
            self.close_connection = "close" in connection
        else:
            self.close_connection = "keep-alive" not in connection
        if self.header_map.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    @override
    def log_message(self, format: str, *args: Any) -> None:
        # Requests are counted by the emulator; a line per request would only slow it down.
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _read_body(self) -> bytes | None:
        raw_length = self.header_map.get("content-length")
        try:
            length = int(raw_length) if raw_length else 0
        except ValueError:
            return None
        if length < 0 or length > _MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            self._write_plain(400, {"error": "invalid Content-Length"})
            self.close_connection = True
            return
        if self.path.startswith(PREFIX + "/") or self.path == PREFIX:
            self._serve_control(body)
            return
        host = self.header_map.get("host") or f"{DEFAULT_HOST}:{self.server.server_address[1]}"
        reply = self.server.emulator.handle(
            self.command, self.path, self.header_map, body, f"http://{host}"
        )
        self._write_reply(reply)

    def _serve_control(self, body: bytes) -> None:
        if not _is_loopback(self.client_address[0]):
            self._write_plain(403, {"error": "the control interface answers loopback peers only"})
            return
        try:
            answer = handle_control(self.server.emulator, self.command, self.path, body)
        except ControlError as error:
            self._write_plain(error.status, {"error": str(error)})
            return
        self._write_plain(200, answer)

    def _write_plain(self, status: int, document: object) -> None:
        body = json.dumps(document, ensure_ascii=False).encode()
        self._write(status, body, "application/json; charset=utf-8", [])

    def _write_reply(self, reply: Reply) -> None:
        if reply.delay_seconds:
            time.sleep(reply.delay_seconds)
        headers = [("X-Request-Id", reply.request_id), ("Content-Language", "en"), *reply.headers]
        if reply.drop == "before_body":
            self._cut()
            return
        if reply.drop == "mid_body":
            head = self._head(reply.status, len(reply.body), reply.content_type, headers)
            self.wfile.write(head + reply.body[: len(reply.body) // 2])
            self._cut()
            return
        self._write(reply.status, reply.body, reply.content_type, headers)

    def _head(
        self, status: int, length: int, content_type: str | None, headers: list[tuple[str, str]]
    ) -> bytes:
        lines = [
            f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
            f"Date: {self.date_time_string()}",
        ]
        lines.extend(f"{name}: {value}" for name, value in headers)
        if status not in {http.HTTPStatus.NO_CONTENT, http.HTTPStatus.NOT_MODIFIED}:
            lines.append(f"Content-Length: {length}")
            if content_type:
                lines.append(f"Content-Type: {content_type}")
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _write(
        self, status: int, body: bytes, content_type: str | None, headers: list[tuple[str, str]]
    ) -> None:
        # One write for head and body: no small second segment for Nagle to hold back.
        self.wfile.write(self._head(status, len(body), content_type, headers) + body)

    def _cut(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)


@dataclass
class RunningServer:
    """A server running in background threads.

    Attributes:
        url: Base URL of the server, e.g. ``http://127.0.0.1:54321``.
        host: The bound host.
        port: The bound port.
        emulator: The emulator it serves.
    """

    url: str
    host: str
    port: int
    emulator: Emulator
    _server: EmulatorHTTPServer
    _thread: threading.Thread

    def stop(self) -> None:
        """Stop serving, cut open connections and release the port."""
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join()


def start_server(emulator: Emulator, host: str = DEFAULT_HOST, port: int = 0) -> RunningServer:
    """Start serving an emulator in background threads.

    Args:
        emulator: The emulator.
        host: Address to bind (loopback by default).
        port: Port to bind; 0 picks a free one.

    Returns:
        The running server; call `stop` when done.

    Raises:
        ValueError: When the host would mean every interface without saying so (see
            `check_host`).
    """
    server = EmulatorHTTPServer((host, port), emulator)
    bound_host = str(server.server_address[0])
    bound_port = int(server.server_address[1])
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _POLL_SECONDS},
        name=f"sell-sync-emulator:{bound_port}",
        daemon=True,
    )
    thread.start()
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    return RunningServer(
        f"http://{shown_host}:{bound_port}",
        bound_host,
        bound_port,
        emulator,
        server,
        thread,
    )


@contextlib.contextmanager
def serve(emulator: Emulator, host: str = DEFAULT_HOST, port: int = 0) -> Iterator[RunningServer]:
    """Serve an emulator in background threads for the duration of a `with` block.

    Args:
        emulator: The emulator.
        host: Address to bind (loopback by default).
        port: Port to bind; 0 picks a free one.

    Yields:
        The running server, with its `url`.

    Raises:
        ValueError: When the host would mean every interface without saying so (see
            `check_host`).
    """
    running = start_server(emulator, host, port)
    try:
        yield running
    finally:
        running.stop()
