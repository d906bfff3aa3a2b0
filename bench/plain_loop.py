# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The plain protocol loop the tap is measured against, run as a command of its own.

It does what Sell's official client libraries do: start a session, fetch a page with
`requests`, write each item as one JSON line, ack the page's keys, and go on until the queue
answers 204. It types nothing and keeps no state. The token comes from ``BENCH_TOKEN``.

    BENCH_TOKEN=... python bench/plain_loop.py URL DEVICE_UUID [--output /dev/null]

It prints one JSON line: items, seconds, and requests by call.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import requests

START_PATH = "/v2/sync/start"
QUEUE_PATH = "/v2/sync/{session_id}/queues/main"
ACK_PATH = "/v2/sync/ack"
HTTP_NO_CONTENT = 204
TIMEOUT_SECONDS = 60
MAX_REQUESTS = 200_000
MAX_SECONDS = 900.0


def main() -> int:
    """Drain one session and print what it took.

    Returns:
        0 on success; a failed call ends the command with a message.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url", help="base URL of the Sync API")
    parser.add_argument("device", help="device UUID to sync as")
    parser.add_argument("--output", default=os.devnull, help="where the JSON lines go")
    options = parser.parse_args()

    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {os.environ['BENCH_TOKEN']}",
            "Accept": "application/json",
            "User-Agent": "plain-protocol-loop/1.0",
            "X-Basecrm-Device-UUID": options.device,
        },
    )
    calls = {"start": 0, "fetch": 0, "ack": 0}
    items = 0
    started = time.perf_counter()
    deadline = started + MAX_SECONDS

    def call(name: str, method: str, path: str, body: object = None) -> requests.Response:
        calls[name] += 1
        response = session.request(method, options.url + path, json=body, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        return response

    start = call("start", "POST", START_PATH)
    if start.status_code != HTTP_NO_CONTENT:
        queue = QUEUE_PATH.format(session_id=start.json()["data"]["id"])
        with Path(options.output).open("w", encoding="utf-8") as output:
            while sum(calls.values()) < MAX_REQUESTS and time.perf_counter() < deadline:
                page = call("fetch", "GET", queue)
                if page.status_code == HTTP_NO_CONTENT:
                    break
                ack_keys = []
                for item in page.json()["items"]:
                    output.write(json.dumps(item) + "\n")
                    ack_keys.append(item["meta"]["sync"]["ack_key"])
                items += len(ack_keys)
                if ack_keys:
                    call("ack", "POST", ACK_PATH, {"data": {"ack_keys": ack_keys}})
    seconds = time.perf_counter() - started
    print(json.dumps({"items": items, "seconds": seconds, "requests": calls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
