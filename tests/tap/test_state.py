# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
from __future__ import annotations

import base64
import json
import signal
import uuid
import zlib

import pytest
from singer_sdk.singerlib import RecordMessage

from tap_sell_sync.errors import StateError
from tap_sell_sync.queue import AckLedger
from tap_sell_sync.state import (
    MAX_PENDING_KEY_BYTES,
    KeyPack,
    build_bookmark,
    is_valid_uuid,
    pack_keys,
    read_bookmark,
    unpack_keys,
)
from tap_sell_sync.tap import TapSellSync

DEVICE = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def test_bookmark_round_trip_keeps_every_key_grouped_by_device():
    keys = [f"Deal-{i}-{i % 7}" for i in range(500)]
    bookmark = build_bookmark(DEVICE, [pack_keys(DEVICE, keys), pack_keys(OTHER, ["Lead-1-1"])])
    read = read_bookmark(json.loads(json.dumps(bookmark)))
    assert read.device_uuid == DEVICE
    assert sorted(read.pending[DEVICE]) == sorted(keys)
    assert read.pending[OTHER] == ["Lead-1-1"]


def test_incremental_pack_equals_its_keys_at_every_snapshot():
    pack = KeyPack(DEVICE)
    added = []
    for i in range(2000):
        pack.add(f"Contact-{i}-1")
        added.append(f"Contact-{i}-1")
        if i % 500 == 0:
            assert unpack_keys(pack.to_group()) == added
    assert unpack_keys(pack.to_group()) == added
    assert pack.to_group()["count"] == 2000


def test_state_for_100000_pending_keys_fits_in_one_megabyte():
    ledger = AckLedger(DEVICE, {})
    rng_keys = (
        f"{kind}-{1_000_000 + i * 37}-{1 + i % 9}"
        for i, kind in zip(
            range(100_000), ["Deal", "Lead", "Contact", "Note", "Task"] * 20_000, strict=True
        )
    )
    ledger.add(rng_keys)
    state = {"bookmarks": {"_sell_sync": ledger.bookmark()}}
    size = len(json.dumps(state, separators=(",", ":")))
    assert size <= 1_000_000, size
    assert ledger.pending_count == 100_000


def test_uuid_shaped_keys_also_round_trip():
    keys = [str(uuid.UUID(int=i * 7919)) for i in range(1000)]
    assert read_bookmark(build_bookmark(DEVICE, [pack_keys(DEVICE, keys)])).pending[DEVICE] == (
        sorted(keys)
    )


def test_missing_bookmark_means_no_device_and_nothing_pending():
    read = read_bookmark(None)
    assert read.device_uuid is None
    assert read.pending == {}


def _good() -> dict:
    return build_bookmark(DEVICE, [pack_keys(DEVICE, ["a", "b"])])


def _with(**changes) -> dict:
    bookmark = _good()
    bookmark.update(changes)
    return bookmark


def _group_with(**changes) -> dict:
    bookmark = _good()
    bookmark["pending"][0] = {**bookmark["pending"][0], **changes}
    return bookmark


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


MALFORMED = {
    "not an object": [1, 2],
    "a dict of keys": {"ack_keys": {"a": 1}},
    "extra field": _with(extra=1),
    "wrong format": _with(format=2),
    "format as bool": _with(format=True),
    "device not a uuid": _with(device_uuid="not-a-uuid"),
    "device a number": _with(device_uuid=5),
    "pending a dict": _with(pending={DEVICE: "x"}),
    "group not an object": _with(pending=["x"]),
    "group device not a uuid": _group_with(device_uuid="nope"),
    "count negative": _group_with(count=-1),
    "count a string": _group_with(count="2"),
    "count wrong": _group_with(count=3),
    "keys a list": _group_with(ack_keys=["a", "b"]),
    "keys not base64": _group_with(ack_keys="%%%"),
    "keys not zlib": _group_with(ack_keys=_b64(b"plain text")),
    "empty key inside": _group_with(ack_keys=_b64(zlib.compress(b"a\n\nb")), count=3),
    "group missing count": {**_good(), "pending": [{"device_uuid": DEVICE, "ack_keys": ""}]},
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_bookmarks_are_rejected_with_a_one_line_message(name):
    with pytest.raises(StateError) as caught:
        read_bookmark(MALFORMED[name])
    assert "\n" not in str(caught.value)
    assert "_sell_sync" in str(caught.value)


def test_a_snapshot_taken_in_the_middle_of_adding_keys_is_always_readable():
    # The SDK writes the state from its SIGTERM handler, which can run between any two
    # steps of the main thread; simulate by snapshotting between every add.
    pack = KeyPack(DEVICE)
    for i in range(2500):
        pack.add(f"Deal-{i}-1")
        if i % 97 == 0 or i % 1000 in (998, 999, 0, 1):
            keys = unpack_keys(pack.to_group())
            assert keys == [f"Deal-{j}-1" for j in range(i + 1)]


@pytest.mark.parametrize(
    "spelling",
    [
        "{" + DEVICE + "}",
        "urn:uuid:" + DEVICE,
        DEVICE.replace("-", ""),
        DEVICE + " ",
        DEVICE[:-1] + "g",
    ],
)
def test_a_device_uuid_is_valid_only_in_its_8_4_4_4_12_form(spelling):
    assert is_valid_uuid(DEVICE)
    assert not is_valid_uuid(spelling)
    with pytest.raises(StateError, match="8-4-4-4-12"):
        read_bookmark({"format": 1, "device_uuid": spelling, "pending": []})


def test_pending_keys_larger_than_the_limit_once_decompressed_are_refused():
    key = b"Contact-123456789-1\n"
    repeats = MAX_PENDING_KEY_BYTES // len(key) + 1
    packer = zlib.compressobj(9)
    block = key * 65536
    packed = [packer.compress(block) for _ in range(repeats // 65536 + 1)]
    packed.append(packer.flush())
    group = {
        "device_uuid": DEVICE,
        "count": repeats,
        "ack_keys": base64.b64encode(b"".join(packed)).decode(),
    }
    with pytest.raises(StateError, match="MiB once decompressed"):
        read_bookmark({"format": 1, "device_uuid": DEVICE, "pending": [group]})


def test_the_decompressed_limit_counts_every_group_together(monkeypatch):
    keys = [f"Deal-{i}-1" for i in range(1000)]
    group = pack_keys(DEVICE, keys)
    size = len("\n".join(keys))
    bookmark = {"format": 1, "device_uuid": DEVICE, "pending": [group, group]}
    assert len(read_bookmark(bookmark).pending[DEVICE]) == 2000
    monkeypatch.setattr("tap_sell_sync.state.MAX_PENDING_KEY_BYTES", size + size // 2)
    with pytest.raises(StateError, match=r"pending\[1\]"):
        read_bookmark(bookmark)


def _tap_for_signals():
    return TapSellSync(
        config={"access_token": "a-token-for-signals", "api_url": "http://127.0.0.1:9"},
        parse_env_config=False,
    )


def test_a_signal_during_a_write_waits_for_that_write_then_ends_with_the_state(capsysbinary):
    tap = _tap_for_signals()
    writer = tap.message_writer
    writer.writing = True  # as when a slow target holds up a write
    tap._handle_termination(signal.SIGTERM, None)  # returns: the write must finish first
    assert writer.after_write is not None
    writer.writing = False
    with pytest.raises(SystemExit) as stopped:
        writer.write_message(RecordMessage(stream="tags", record={"id": 1}))
    assert stopped.value.code == 128 + signal.SIGTERM
    lines = capsysbinary.readouterr().out.decode().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["RECORD", "STATE"]


def test_a_second_signal_during_a_held_up_write_stops_at_once_and_says_no_state_was_written(
    capsysbinary, caplog
):
    tap = _tap_for_signals()
    writer = tap.message_writer
    writer.writing = True
    tap._handle_termination(signal.SIGTERM, None)
    with pytest.raises(SystemExit) as stopped:
        tap._handle_termination(signal.SIGINT, None)
    assert stopped.value.code == 128 + signal.SIGINT
    assert capsysbinary.readouterr().out == b""
    assert "before a final state could be written" in caplog.text
