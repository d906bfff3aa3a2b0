# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The catalogue of bad input: every case through the real command, each with its answer.

An answer is either a one-line error and exit code 1, or a run that ends with exit code 0
having skipped and counted what it could not use, without ever acking it. No case may print
a traceback or the access token. (More settings and state mistakes are in tests/tap/test_cli.py;
this table adds the ones that file does not have, and every bad server reply.)
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from scripted_sell import (
    DEVICE,
    OTHER_DEVICE,
    TOKEN,
    Reply,
    ScriptedSell,
    good_item,
    item,
    page,
    run_tap,
    session,
    state_with,
)

from tap_sell_sync.state import pack_keys

URL = "{url}"
BASE = {
    "access_token": TOKEN,
    "api_url": URL,
    "request_timeout": 2,
    "max_requests_per_second": 1000,
    "max_retry_seconds": 1,
}
PENDING = [f"Lead-{n}-1" for n in range(1, 6)]
HUGE_KEY_COUNT = 100_000
BIG_PAGE = 1000
ERROR = "error"  # one error line, exit code 1
SKIP = "skip"  # exit code 0; the bad part is skipped, counted and never acked
OK = "ok"  # exit code 0; unusual but valid input is used


@dataclass(frozen=True)
class Case:
    answer: str
    needle: str
    config: object = field(default_factory=lambda: dict(BASE))
    state: object = None
    start: tuple[Reply, ...] = ()
    fetch: tuple[Reply, ...] = ()
    ack: tuple[Reply, ...] = ()
    never_acked: frozenset[str] = frozenset()  # keys that must not be pending nor acked
    pending: frozenset[str] = frozenset()  # keys the last state must still hold
    acked: frozenset[tuple[str, str]] = frozenset()  # (device, key) the server must receive
    records: int | None = None  # records the run must emit


def setting(name: str, value: object) -> dict:
    return {**BASE, name: value}


def without(name: str) -> dict:
    return {k: v for k, v in BASE.items() if k != name}


def bookmark(**fields: object) -> dict:
    value = {"format": 1, "device_uuid": DEVICE, "pending": []}
    value.update(fields)
    return {"bookmarks": {"_sell_sync": value}}


def group(**fields: object) -> dict:
    value = pack_keys(DEVICE, ["Lead-1-1", "Lead-2-1"])
    value.update(fields)
    return value


def one_page(*items: object) -> dict:
    return {"start": (session(),), "fetch": (page(list(items)),)}


GOOD = good_item(1)
ERROR_ENVELOPE_500 = Reply(500, b"<html>upstream exploded</html>")

CASES: dict[str, Case] = {
    # --- settings: missing, empty, wrong type, malformed -------------------------------------
    "setting token missing": Case(ERROR, "access_token", without("access_token")),
    "setting token null": Case(ERROR, "access_token", setting("access_token", None)),
    "setting token a list": Case(ERROR, "access_token", setting("access_token", [TOKEN])),
    "setting token only spaces": Case(ERROR, "access_token", setting("access_token", "   ")),
    "setting token with a newline": Case(ERROR, "access_token", setting("access_token", "a\nb")),
    "setting token with a control character": Case(
        ERROR, "access_token", setting("access_token", "ab\x01cd")
    ),
    "setting token not Latin-1": Case(
        ERROR, "HTTP header", setting("access_token", "\u0442\u043e\u043a\u0435\u043d123")
    ),
    "setting device in braces": Case(
        ERROR, "8-4-4-4-12", setting("device_uuid", "{" + DEVICE + "}")
    ),
    "setting device as a urn": Case(
        ERROR, "8-4-4-4-12", setting("device_uuid", "urn:uuid:" + DEVICE)
    ),
    "setting device without dashes": Case(
        ERROR, "8-4-4-4-12", setting("device_uuid", DEVICE.replace("-", ""))
    ),
    "setting device empty": Case(ERROR, "device_uuid", setting("device_uuid", "")),
    "setting device with trailing text": Case(
        ERROR, "device_uuid", setting("device_uuid", DEVICE + "-x")
    ),
    "setting device a list": Case(ERROR, "device_uuid", setting("device_uuid", [DEVICE])),
    "setting numbers given as text are read as numbers": Case(
        OK,
        "Sell has nothing new",
        {**BASE, "request_timeout": " 2.5 ", "max_retry_seconds": "1", "ack_batch_size": "500"},
        start=(Reply(204),),
    ),
    "setting ack batch a fraction in text": Case(
        ERROR, "ack_batch_size", setting("ack_batch_size", "10.5")
    ),
    "setting url ending in a bare #": Case(
        ERROR, "a query or a fragment", setting("api_url", "https://api.getbase.com/#")
    ),
    "setting url ending in a bare ?": Case(
        ERROR, "a query or a fragment", setting("api_url", "https://api.getbase.com?")
    ),
    "setting url empty": Case(ERROR, "api_url", setting("api_url", "")),
    "setting url a number": Case(ERROR, "api_url", setting("api_url", 443)),
    "setting url without a host": Case(ERROR, "api_url", setting("api_url", "https://")),
    "setting url with a query": Case(
        ERROR, "api_url", setting("api_url", "https://sell.invalid/?a=1")
    ),
    "setting url plain http to a private address": Case(
        ERROR, "https", setting("api_url", "http://192.0.2.1")
    ),
    "setting url plain http to a name that starts like loopback": Case(
        ERROR, "https", setting("api_url", "http://127.0.0.1.invalid")
    ),
    "setting url plain http to a localhost subdomain": Case(
        ERROR, "https", setting("api_url", "http://localhost.invalid")
    ),
    "setting user agent a number": Case(ERROR, "user_agent", setting("user_agent", 5)),
    "setting user agent with a newline": Case(ERROR, "user_agent", setting("user_agent", "a\nb")),
    "setting timeout empty": Case(ERROR, "request_timeout", setting("request_timeout", "")),
    "setting timeout negative": Case(ERROR, "request_timeout", setting("request_timeout", -1)),
    "setting timeout a bool": Case(
        ERROR, "request_timeout", setting("request_timeout", value=True)
    ),
    "setting timeout too long": Case(ERROR, "request_timeout", setting("request_timeout", 10**7)),
    "setting rate a string": Case(
        ERROR, "max_requests_per_second", setting("max_requests_per_second", "fast")
    ),
    "setting rate too low to ever send": Case(
        ERROR, "max_requests_per_second", setting("max_requests_per_second", 1e-9)
    ),
    "setting rate too high": Case(
        ERROR, "max_requests_per_second", setting("max_requests_per_second", 10**6)
    ),
    "setting items as words": Case(
        ERROR, "max_items_per_run", setting("max_items_per_run", "nine")
    ),
    "setting items a bool": Case(
        ERROR, "max_items_per_run", setting("max_items_per_run", value=True)
    ),
    "setting seconds as words": Case(
        ERROR, "max_seconds_per_run", setting("max_seconds_per_run", "a minute")
    ),
    "setting seconds negative": Case(
        ERROR, "max_seconds_per_run", setting("max_seconds_per_run", -3)
    ),
    "setting retry seconds a bool": Case(
        ERROR, "max_retry_seconds", setting("max_retry_seconds", value=False)
    ),
    "setting retry seconds too long": Case(
        ERROR, "max_retry_seconds", setting("max_retry_seconds", 10**7)
    ),
    "setting ack batch as words": Case(ERROR, "ack_batch_size", setting("ack_batch_size", "ten")),
    "setting ack batch fractional": Case(ERROR, "ack_batch_size", setting("ack_batch_size", 2.5)),
    "setting ack batch negative": Case(ERROR, "ack_batch_size", setting("ack_batch_size", -1)),
    "setting policy null": Case(ERROR, "ack_unknown_types", setting("ack_unknown_types", None)),
    "config file empty": Case(ERROR, "config", ""),
    "config file not JSON": Case(ERROR, "config", "{oops"),
    "config file an empty list": Case(ERROR, "JSON object", "[]"),
    "config file a list of pairs": Case(
        ERROR, "JSON object", json.dumps([["access_token", TOKEN], ["api_url", URL]])
    ),
    "config file a JSON string": Case(ERROR, "config file", '"settings"'),
    "config file a list of words": Case(ERROR, "JSON object of settings", '["a", "bc"]'),
    # --- state --------------------------------------------------------------------------------
    "config file nested too deeply": Case(ERROR, "nested too deeply", "[" * 100_000),
    "state nested too deeply": Case(ERROR, "nested too deeply", state='{"a":' * 100_000),
    "state without bookmarks (a config file)": Case(
        ERROR, 'no "bookmarks"', state={"access_token": "x", "api_url": "https://x"}
    ),
    "state of another tap": Case(
        ERROR, "lack _sell_sync", state={"bookmarks": {"orders": {"replication_key_value": 5}}}
    ),
    "state empty object is a first run": Case(
        OK, "Sell has nothing new", state={}, start=(Reply(204),)
    ),
    "state with empty bookmarks is a first run": Case(
        OK, "Sell has nothing new", state={"bookmarks": {}}, start=(Reply(204),)
    ),
    "state null": Case(ERROR, "JSON object", state="null"),
    "state a number": Case(ERROR, "JSON object", state="5"),
    "state only spaces": Case(ERROR, "empty", state="  \n"),
    "state bookmarks an object of numbers": Case(ERROR, "bookmarks", state={"bookmarks": {"a": 1}}),
    "state pending an object": Case(ERROR, "pending", state=bookmark(pending={})),
    "state format 2": Case(ERROR, "format", state=bookmark(format=2)),
    "state format a string": Case(ERROR, "format", state=bookmark(format="1")),
    "state format true": Case(ERROR, "format", state=bookmark(format=True)),
    "state bookmark with an extra field": Case(ERROR, "_sell_sync", state=bookmark(extra=1)),
    "state device a number": Case(ERROR, "device_uuid", state=bookmark(device_uuid=7)),
    "state device without dashes": Case(
        ERROR, "8-4-4-4-12", state=bookmark(device_uuid=DEVICE.replace("-", ""))
    ),
    "state group device in braces": Case(
        ERROR,
        "8-4-4-4-12",
        state=bookmark(pending=[group(device_uuid="{" + DEVICE + "}")]),
    ),
    "state a whole STATE message": Case(
        ERROR, "pass only its value", state={"type": "STATE", "value": bookmark()}
    ),
    "state wrapped as meltano state get prints it": Case(
        ERROR, "singer_state", state={"singer_state": bookmark()}
    ),
    "state group device not a uuid": Case(
        ERROR, "device_uuid", state=bookmark(pending=[group(device_uuid="laptop")])
    ),
    "state group count a string": Case(ERROR, "count", state=bookmark(pending=[group(count="2")])),
    "state group count negative": Case(ERROR, "count", state=bookmark(pending=[group(count=-1)])),
    "state group count wrong": Case(ERROR, "count", state=bookmark(pending=[group(count=3)])),
    "state group keys not base64": Case(
        ERROR, "ack_keys", state=bookmark(pending=[group(ack_keys="%%%")])
    ),
    "state group keys a list": Case(
        ERROR, "ack_keys", state=bookmark(pending=[group(ack_keys=["Lead-1-1"])])
    ),
    "state group with an extra field": Case(
        ERROR, "pending[0]", state=bookmark(pending=[group(more=1)])
    ),
    "state group holding an empty key": Case(
        ERROR, "empty ack key", state=bookmark(pending=[pack_keys(DEVICE, ["Lead-1-1", ""])])
    ),
    "state keys for another device are acked as that device": Case(
        OK,
        "5 incoming keys acked",
        state=state_with(PENDING, for_device=OTHER_DEVICE),
        acked=frozenset((OTHER_DEVICE, key) for key in PENDING),
    ),
    "state with a huge number of keys": Case(
        OK,
        f"{HUGE_KEY_COUNT} incoming keys acked",
        config=setting("ack_batch_size", 10_000),
        state=state_with([f"Contact-{n}-1" for n in range(HUGE_KEY_COUNT)]),
        acked=frozenset({(DEVICE, "Contact-0-1"), (DEVICE, f"Contact-{HUGE_KEY_COUNT - 1}-1")}),
    ),
    # --- server replies -----------------------------------------------------------------------
    "start answers a status the protocol does not use": Case(
        ERROR, "418", start=(Reply(418, {"errors": []}),)
    ),
    "fetch answers a status the protocol does not use": Case(
        ERROR, "409", start=(session(),), fetch=(Reply(409, b"conflict"),)
    ),
    "fetch answers 201 instead of 200": Case(
        ERROR, "201", start=(session(),), fetch=(Reply(201, {"items": []}),)
    ),
    "ack answers a status the protocol does not use": Case(
        ERROR,
        "418",
        state=state_with(PENDING),
        ack=(Reply(418, {"errors": "teapot"}),),
        pending=frozenset(PENDING),
    ),
    "error envelope with errors as text": Case(ERROR, "400", start=(Reply(400, {"errors": "x"}),)),
    "error envelope that is a list": Case(ERROR, "422", start=(Reply(422, [1, 2, 3]),)),
    "error envelope with odd entries": Case(
        ERROR,
        "400",
        start=(Reply(400, {"errors": [1, {"error": 5}, {"error": {"code": 7}}], "meta": "m"}),),
    ),
    "5xx with an HTML body until the budget is spent": Case(
        ERROR, "500", start=(ERROR_ENVELOPE_500,) * 50
    ),
    "start answers 201 without a session id": Case(
        ERROR, "session id", start=(Reply(201, {"data": {"queues": []}}),) * 50
    ),
    "start answers a session id with a slash": Case(
        ERROR, "session id", start=(Reply(201, {"data": {"id": "../ack"}}),) * 50
    ),
    "fetch answers 200 that is not JSON until the budget is spent": Case(
        SKIP,
        "not JSON",
        start=(session(),),
        fetch=(Reply(200, b"<html>maintenance</html>"),) * 50,
        records=0,
    ),
    "fetch page holding a lone surrogate and bytes that are not UTF-8": Case(
        OK,
        "2 strings with characters that are not valid Unicode repaired",
        start=(session(),),
        fetch=(
            Reply(
                200,
                b'{"items": [{"data": {"id": 7, "name": "a\\ud83d b"}, "meta": {"type": "tag", '
                b'"sync": {"event_type": "created", "ack_key": "Tag-7-1", "revision": 1}}}, '
                b'{"data": {"id": 8, "name": "caf\xe9"}, "meta": {"type": "tag", "sync": '
                b'{"event_type": "created", "ack_key": "Tag-8-1", "revision": 1}}}], '
                b'"meta": {"count_left": 0}}',
            ),
        ),
        pending=frozenset({"Tag-7-1", "Tag-8-1"}),
        records=2,
    ),
    "fetch answers 200 without items": Case(
        SKIP,
        "1 without a list of items",
        start=(session(),),
        fetch=(Reply(200, {"meta": {}}),),
        records=0,
    ),
    "fetch answers items that are not a list": Case(
        SKIP,
        "no list of items",
        start=(session(),),
        fetch=(Reply(200, {"items": {"0": GOOD}}),),
        records=0,
    ),
    "fetch answers a JSON list": Case(
        SKIP, "no list of items", start=(session(),), fetch=(Reply(200, [GOOD]),), records=0
    ),
    "item without meta": Case(
        SKIP,
        "1 unreadable items",
        **one_page(GOOD, {"data": {"id": 2, "name": "x"}}),
        records=1,
        pending=frozenset({"Tag-1-1"}),
    ),
    "item without ack_key": Case(
        SKIP,
        "1 unreadable items",
        **one_page(GOOD, item("tag", {"id": 2}, None)),
        records=1,
        pending=frozenset({"Tag-1-1"}),
    ),
    "item with an ack_key that is a number": Case(
        SKIP, "1 unreadable items", **one_page(GOOD, item("tag", {"id": 2}, 77)), records=1
    ),
    "item with an ack_key holding a newline": Case(
        SKIP,
        "1 unreadable items",
        **one_page(GOOD, item("tag", {"id": 2}, "Tag-2-1\nTag-3-1")),
        never_acked=frozenset({"Tag-2-1", "Tag-3-1"}),
        records=1,
    ),
    "item without type": Case(
        SKIP,
        "1 unreadable items",
        **one_page(GOOD, {"data": {"id": 2}, "meta": {"sync": {"ack_key": "X-2-1"}}}),
        never_acked=frozenset({"X-2-1"}),
        records=1,
    ),
    "item that is a string": Case(SKIP, "1 unreadable items", **one_page(GOOD, "item"), records=1),
    "item of an unknown type is not acked": Case(
        SKIP,
        "unknown resource types: sales_sequence 1",
        **one_page(GOOD, item("sales_sequence", {"id": 9}, "SalesSequence-9-1")),
        never_acked=frozenset({"SalesSequence-9-1"}),
        records=1,
    ),
    "item with an unknown event_type is emitted and counted": Case(
        OK,
        "1 unknown event types",
        **one_page(item("tag", {"id": 2, "name": "t"}, "Tag-2-1", event="merged")),
        pending=frozenset({"Tag-2-1"}),
        records=1,
    ),
    "item with an event_type that is not text": Case(
        OK,
        "1 unknown event types",
        **one_page(item("tag", {"id": 2, "name": "t"}, "Tag-2-1", event=5)),
        records=1,
    ),
    "item with a revision as a string": Case(
        OK,
        "0 unreadable items",
        **one_page(item("tag", {"id": 2, "name": "t"}, "Tag-2-3", revision="3")),
        pending=frozenset({"Tag-2-3"}),
        records=1,
    ),
    "item with a revision as words": Case(
        OK,
        "0 unreadable items",
        **one_page(item("tag", {"id": 2, "name": "t"}, "Tag-2-3", revision="three")),
        records=1,
    ),
    "item whose data is a list": Case(
        SKIP,
        "1 unreadable items",
        **one_page(GOOD, item("tag", [2, "t"], "Tag-2-1")),
        never_acked=frozenset({"Tag-2-1"}),
        records=1,
    ),
    "item whose data is null": Case(
        SKIP,
        "1 unreadable items",
        **one_page(GOOD, item("tag", None, "Tag-2-1", event="deleted")),
        never_acked=frozenset({"Tag-2-1"}),
        records=1,
    ),
    "item whose id is text": Case(
        SKIP,
        "1 unreadable items",
        **one_page(GOOD, item("tag", {"id": "2"}, "Tag-2-1")),
        never_acked=frozenset({"Tag-2-1"}),
        records=1,
    ),
    "item whose id is a fraction": Case(
        SKIP, "1 unreadable items", **one_page(GOOD, item("tag", {"id": 2.5}, "T-1")), records=1
    ),
    "item whose id is true": Case(
        SKIP, "1 unreadable items", **one_page(GOOD, item("tag", {"id": True}, "T-1")), records=1
    ),
    "associated contact without contact_id": Case(
        SKIP,
        "1 unreadable items",
        **one_page(GOOD, item("associated_contact", {"deal_id": 4}, "AssociatedContact-4-1")),
        never_acked=frozenset({"AssociatedContact-4-1"}),
        records=1,
    ),
    "deal whose value is not a number": Case(
        OK,
        "values of the wrong type were set to null: value 1",
        **one_page(GOOD, item("deal", {"id": 3, "value": "lots"}, "Deal-3-1")),
        pending=frozenset({"Deal-3-1"}),
        records=2,
    ),
    "deal whose value is NaN": Case(
        OK,
        "values of the wrong type were set to null: value 1",
        **one_page(GOOD, item("deal", {"id": 3, "value": "NaN"}, "Deal-3-1")),
        pending=frozenset({"Deal-3-1"}),
        records=2,
    ),
    "deal whose value is an object": Case(
        OK,
        "values of the wrong type were set to null: value 1",
        **one_page(GOOD, item("deal", {"id": 3, "value": {"a": 1}}, "Deal-3-1")),
        pending=frozenset({"Deal-3-1"}),
        records=2,
    ),
    "failed_objects of odd shapes are counted": Case(
        OK,
        "3 failed_objects",
        start=(session(),),
        fetch=(page([GOOD], failed=[5, "x", {"type": "tag"}]),),
        pending=frozenset({"Tag-1-1"}),
        records=1,
    ),
    "a page of a thousand items": Case(
        OK,
        f"{BIG_PAGE} records",
        start=(session(),),
        fetch=(page([good_item(n) for n in range(1, BIG_PAGE + 1)]),),
        pending=frozenset({"Tag-1-1", f"Tag-{BIG_PAGE}-1"}),
        records=BIG_PAGE,
    ),
    "429 on fetch that outlasts the retry budget": Case(
        SKIP,
        "gave up fetching",
        state=state_with(PENDING),
        start=(session(),),
        fetch=(page([GOOD]),) + (Reply(429, {"errors": []}),) * 100,
        acked=frozenset((DEVICE, key) for key in PENDING),
        pending=frozenset({"Tag-1-1"}),
        records=1,
    ),
    "429 on ack that outlasts the retry budget keeps every pending key": Case(
        ERROR,
        "could not ack 5 pending keys",
        state=state_with(PENDING),
        ack=(Reply(429, {"errors": []}),) * 100,
        pending=frozenset(PENDING),
    ),
    "429 on start that outlasts the retry budget": Case(
        ERROR,
        "429",
        state=state_with(PENDING),
        start=(Reply(429, {"errors": []}),) * 100,
        acked=frozenset((DEVICE, key) for key in PENDING),
    ),
    "fetch page nested too deeply": Case(
        SKIP,
        "not JSON (nested too deeply)",
        start=(session(),),
        fetch=(Reply(200, b'{"items":' + b"[" * 5000 + b"]" * 5000 + b"}"),) * 100,
        records=0,
    ),
    "connections dropped on every fetch": Case(
        SKIP, "gave up fetching", start=(session(),), fetch=(Reply(drop=True),) * 100, records=0
    ),
}


def _resolve(value: object, url: str) -> object:
    if isinstance(value, dict):
        return {k: _resolve(v, url) for k, v in value.items()}
    return url if value == URL else value


def _run_case(base, name: str):
    case = CASES[name]
    with ScriptedSell() as server:
        server.script("start", *case.start)
        server.script("fetch", *case.fetch)
        server.script("ack", *case.ack)
        run = run_tap(
            base / name.replace(" ", "_"), _resolve(case.config, server.url), state=case.state
        )
        return run, server.acked()


@pytest.fixture(scope="module")
def catalogue_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("catalogue")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run_case, base, name) for name in CASES}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_its_answer(catalogue_runs, name):
    case = CASES[name]
    run, acked = catalogue_runs[name]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert TOKEN not in run.stdout + run.stderr
    errors = run.error_lines()
    if case.answer == ERROR:
        assert run.returncode == 1, run.stderr[-3000:]
        assert len(errors) == 1, run.stderr[-3000:]
        assert case.needle in errors[0], errors[0]
    else:
        assert run.returncode == 0, run.stderr[-3000:]
        assert errors == [], errors
        assert case.needle in run.stderr, run.stderr[-3000:]
    if case.records is not None:
        assert len(run.records()) == case.records
    pending = run.pending()
    acked_keys = {key for _, key in acked}
    assert case.pending <= pending, sorted(case.pending - pending)
    assert not case.never_acked & (pending | acked_keys)
    assert case.acked <= set(acked), sorted(case.acked - set(acked))[:5]
    if case.answer == SKIP:
        # Only keys of records the run emitted may be pending: nothing skipped is acked later.
        emitted = {json.dumps(r.get("id")) for r in run.records()}
        assert len(pending) == len(emitted)
