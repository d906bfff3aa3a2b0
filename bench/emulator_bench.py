# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Benchmark of the emulator: drain and ack a large queue over loopback and print items/second.

The emulator runs as the `sell-sync-emulator` command in its own process (so that the client's
work does not share its interpreter); the client here is a plain keep-alive HTTP client that
acks every page's keys before fetching the next. By default it finds the ack keys with a regular
expression, so that the figure measures the emulator rather than JSON parsing in the client;
`--parse` parses every page fully, as a real client does.

    .venv/bin/python bench/emulator_bench.py [--items 100000] [--page-size 100] [--parse]
"""

from __future__ import annotations

import argparse
import http
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

TOKEN = "bench-token-" + "b" * 52
DEVICE = "bench-device-0001"
MIN_ITEMS_PER_SECOND = 20_000
MAX_REQUESTS = 1_000_000
ACK_KEY = re.compile(rb'"ack_key":"([^"]+)"')


def main() -> int:
    """Start the emulator, drain its queue, print the rate.

    Returns:
        0 when every item came and (without added latency) the rate is at least
        MIN_ITEMS_PER_SECOND, else 1.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--items", type=int, default=100_000, help="objects in the queue")
    parser.add_argument("--page-size", type=int, default=100, help="items per page")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per reply")
    parser.add_argument("--parse", action="store_true", help="parse every page as JSON")
    options = parser.parse_args()

    command = [
        str(Path(sys.executable).with_name("sell-sync-emulator")),
        "--objects", str(options.items),
        "--page-size", str(options.page_size),
        "--seed", str(options.seed),
        "--rate-limit", "0",
        "--token", TOKEN,
        "--latency", str(options.latency),
    ]  # fmt: skip
    started = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as emulator:
        try:
            first_line = emulator.stdout.readline() if emulator.stdout else ""
            url = urllib.parse.urlsplit(first_line.strip())
            print(f"emulator ready in {time.perf_counter() - started:.1f} s at {url.geturl()}")
            items, requests, seconds, start_seconds = drain(
                url.hostname or "127.0.0.1", url.port or 80, parse=options.parse
            )
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)

    rate = items / seconds
    print(
        f"drained and acked {items} items in {requests} requests in {seconds:.2f} s: "
        f"{rate:,.0f} items/s (page size {options.page_size}, "
        f"{'full JSON parsing' if options.parse else 'ack keys by regular expression'}; "
        f"the start, which computes and shuffles the queue, took {start_seconds:.2f} s)"
    )
    if items != options.items:
        print(f"expected {options.items} items")
        return 1
    if not options.latency and rate < MIN_ITEMS_PER_SECOND:
        print(f"below the required {MIN_ITEMS_PER_SECOND:,} items/s")
        return 1
    return 0


def _expect(status: int, wanted: http.HTTPStatus, call: str) -> None:
    if status != wanted:
        message = f"{call} answered {status}, expected {wanted.value}"
        raise SystemExit(message)


def drain(host: str, port: int, *, parse: bool) -> tuple[int, int, float, float]:
    """Run one flow: start, then fetch and ack page after page until 204.

    Args:
        host: Emulator host.
        port: Emulator port.
        parse: Parse every page as JSON rather than finding the ack keys by pattern.

    Returns:
        (items received, requests made, seconds taken, seconds the start took).
    """
    connection = http.client.HTTPConnection(host, port, timeout=60)
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "User-Agent": "emulator-bench/1.0",
        "X-Basecrm-Device-UUID": DEVICE,
        "Accept": "application/json",
        "Content-Type": "application/json",
    }

    def call(method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()

    started = time.perf_counter()
    status, body = call("POST", "/v2/sync/start")
    start_seconds = time.perf_counter() - started
    requests, items = 1, 0
    _expect(status, http.HTTPStatus.CREATED, "start")
    queue = f"/v2/sync/{json.loads(body)['data']['id']}/queues/main"
    while requests < MAX_REQUESTS:
        status, body = call("GET", queue)
        requests += 1
        if status == http.HTTPStatus.NO_CONTENT:
            break
        _expect(status, http.HTTPStatus.OK, "fetch")
        if parse:
            keys = [item["meta"]["sync"]["ack_key"] for item in json.loads(body)["items"]]
        else:
            keys = [key.decode() for key in ACK_KEY.findall(body)]
        items += len(keys)
        if not keys:
            continue
        status, _ = call("POST", "/v2/sync/ack", json.dumps({"data": {"ack_keys": keys}}).encode())
        requests += 1
        _expect(status, http.HTTPStatus.ACCEPTED, "ack")
    seconds = time.perf_counter() - started
    connection.close()
    return items, requests, seconds, start_seconds


if __name__ == "__main__":
    sys.exit(main())
