# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The HTTP server: keep-alive, concurrent workers, stopping, and the loopback guard."""

from __future__ import annotations

import socket
import threading
import time

import requests

from sell_sync_emulator import Emulator, EmulatorConfig, serve
from sell_sync_emulator import server as server_module


def test_workers_sharing_a_session_never_get_the_same_item(make_server):
    _emulator, client = make_server(objects=600, page_size=20)
    session_id = client.session()
    seen: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        http = requests.Session()
        headers = client.headers()
        url = f"{client.url}/v2/sync/{session_id}/queues/main"
        for _ in range(100):
            response = http.get(url, headers=headers, timeout=10)
            if response.status_code == 204:
                return
            keys = [i["meta"]["sync"]["ack_key"] for i in response.json()["items"]]
            with lock:
                seen.extend(keys)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(seen) == 600
    assert len(set(seen)) == 600


def test_stopping_cuts_open_keep_alive_connections():
    emulator = Emulator(EmulatorConfig(objects=10))
    http = requests.Session()
    with serve(emulator) as running:
        assert http.get(f"{running.url}/_emulator/counters", timeout=5).status_code == 200
        started = time.perf_counter()
    assert time.perf_counter() - started < 2


def test_control_requests_from_other_hosts_get_403(make_server, monkeypatch):
    _emulator, client = make_server()
    monkeypatch.setattr(server_module, "_is_loopback", lambda _address: False)
    response = requests.get(f"{client.url}/_emulator/counters", timeout=5)
    assert response.status_code == 403
    assert "loopback" in response.json()["error"]
    # The protocol itself is still served.
    assert client.start().status_code == 201


def test_control_loopback_check_knows_loopback_addresses():
    is_loopback = server_module._is_loopback
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.8.0.1")
    assert is_loopback("::1")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("192.168.1.20")
    assert not is_loopback("::ffff:10.0.0.1")
    assert not is_loopback("not an address")


def test_url_names_the_bound_loopback_port(make_server):
    _emulator, client = make_server()
    assert client.url.startswith("http://127.0.0.1:")
    assert not client.url.endswith(":0")


def raw_exchange(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_malformed_request_heads_get_400_and_the_connection_closes(make_server):
    _emulator, client = make_server()
    assert raw_exchange(client.url, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400")
    bad_header = b"GET /_emulator/counters HTTP/1.1\r\nno colon here\r\n\r\n"
    assert raw_exchange(client.url, bad_header).startswith(b"HTTP/1.1 400")
    old = b"GET /_emulator/counters HTTP/2.0\r\n\r\n"
    assert raw_exchange(client.url, old).startswith(b"HTTP/1.1 505")


def test_http_1_0_and_connection_close_end_the_connection_after_the_reply(make_server):
    _emulator, client = make_server()
    reply = raw_exchange(client.url, b"GET /_emulator/counters HTTP/1.0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200")
    assert b"Connection: close" in reply
    request = (
        b"POST /v2/sync/ack HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Authorization: Bearer " + client.token.encode() + b"\r\nUser-Agent: raw\r\n"
        b"X-Basecrm-Device-UUID: raw\r\nExpect: 100-continue\r\nContent-Length: 24\r\n\r\n"
        b'{"data":{"ack_keys":[]}}'
    )
    reply = raw_exchange(client.url, request)
    assert reply.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted")
