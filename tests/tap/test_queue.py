# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
from __future__ import annotations

import decimal

import pytest
from tap_fakes import FakeClient, item, page

from tap_sell_sync.conform import compile_properties
from tap_sell_sync.errors import RetriableError, SellApiError, SessionLostError
from tap_sell_sync.queue import AckLedger, Route, RunOptions, SyncRun
from tap_sell_sync.schemas import MONEY_FIELDS
from tap_sell_sync.state import unpack_keys
from tap_sell_sync.streams import STREAM_TYPES

DEVICE = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
ROUTES = {
    s.resource_type: Route(
        s.resource_type,
        s.name,
        tuple(s.primary_keys),
        frozenset(s.schema["properties"]),
        MONEY_FIELDS.get(s.resource_type, ()),
        compile_properties(s.schema),
    )
    for s in STREAM_TYPES
}
ALL_STREAMS = [s.name for s in STREAM_TYPES]


def make_run(client, *, incoming=None, selected=None, clock=None, **options):
    defaults = {
        "ack_batch_size": 2,
        "max_items": None,
        "max_seconds": None,
        "ack_unknown_types": False,
        "ack_deselected_streams": True,
    }
    defaults.update(options)
    writes = []
    ledger = AckLedger(DEVICE, incoming or {})
    kwargs = {}
    if clock is not None:
        kwargs["clock"] = clock
    run = SyncRun(
        client=client,
        ledger=ledger,
        routes=ROUTES,
        selected_streams=ALL_STREAMS if selected is None else selected,
        options=RunOptions(**defaults),
        write_state=lambda: writes.append(pending_keys(ledger)),
        **kwargs,
    )
    return run, writes


def pending_keys(ledger: AckLedger) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for group in ledger.bookmark()["pending"]:
        out.setdefault(group["device_uuid"], []).extend(unpack_keys(group))
    return out


def emit_all(run: SyncRun) -> dict[str, list[dict]]:
    out = {}
    for stream in sorted(run.selected):
        out[stream] = list(run.records(stream))
    return out


def test_items_are_routed_to_their_streams_by_resource_type():
    client = FakeClient(
        [
            page(
                [
                    item("deal", {"id": 1, "name": "A"}),
                    item("lead", {"id": 2, "first_name": "B"}),
                    item("associated_contact", {"deal_id": 1, "contact_id": 9, "role": "x"}),
                ],
            ),
        ],
    )
    run, _ = make_run(client)
    out = emit_all(run)
    assert [r["id"] for r in out["deals"]] == [1]
    assert [r["first_name"] for r in out["leads"]] == ["B"]
    assert out["associated_contacts"][0]["contact_id"] == 9
    assert out["deals"][0]["sell_event_type"] == "updated"
    assert out["deals"][0]["sell_revision"] == 1
    assert sum(len(v) for v in out.values()) == 3


def test_empty_200_pages_do_not_end_the_drain_only_204_does():
    client = FakeClient([page([]), page([]), page([item("deal", {"id": 5})]), page([])])
    run, _ = make_run(client)
    out = emit_all(run)
    assert [r["id"] for r in out["deals"]] == [5]
    assert client.fetches == 5  # four pages, then the 204
    assert run.counters.empty_pages == 3
    assert run.stop_reason == "queue drained"


def test_deleted_items_become_records_null_but_for_key_and_deleted_at():
    client = FakeClient(
        [
            page(
                [
                    item("deal", {"id": 7}, event="deleted", revision=4),
                    item(
                        "associated_contact", {"deal_id": 1, "contact_id": 2}, "AC", event="deleted"
                    ),
                ],
            ),
        ],
    )
    run, _ = make_run(client)
    out = emit_all(run)
    deal = out["deals"][0]
    assert {name for name, value in deal.items() if value is not None} == {
        "id",
        "sell_event_type",
        "sell_revision",
        "_sdc_deleted_at",
    }
    assert deal["sell_event_type"] == "deleted"
    assert deal["_sdc_deleted_at"].endswith("Z")
    assert set(out["associated_contacts"][0]) >= {"deal_id", "contact_id", "_sdc_deleted_at"}
    assert run.counters.deletes["deals"] == 1


def test_an_older_revision_is_never_emitted_after_a_newer_one_and_both_keys_are_pending():
    client = FakeClient(
        [
            page([item("deal", {"id": 1, "name": "new"}, "D-1-5", revision=5)]),
            page([item("deal", {"id": 1, "name": "old"}, "D-1-3", revision=3)]),
            page([item("deal", {"id": 2, "name": "x"}, "D-2-1", revision="1")]),
            page([item("deal", {"id": 2, "name": "y"}, "D-2-2", revision="2")]),
        ],
    )
    run, _ = make_run(client)
    out = emit_all(run)
    assert [(r["id"], r["name"]) for r in out["deals"]] == [(1, "new"), (2, "y")]
    assert out["deals"][1]["sell_revision"] == 2
    assert sorted(pending_keys(run.ledger)[DEVICE]) == ["D-1-3", "D-1-5", "D-2-1", "D-2-2"]


def test_ack_keys_become_pending_only_after_the_record_was_handed_over():
    client = FakeClient([page([item("deal", {"id": i}, f"D-{i}") for i in range(3)])])
    run, _ = make_run(client)
    records = run.records("deals")
    first = next(records)
    assert first["id"] == 0
    assert pending_keys(run.ledger) == {}  # the first record is not written yet
    next(records)
    assert pending_keys(run.ledger)[DEVICE] == ["D-0"]
    list(records)
    assert pending_keys(run.ledger)[DEVICE] == ["D-0", "D-1", "D-2"]


def test_incoming_keys_are_acked_in_packs_with_their_own_device_before_the_session():
    client = FakeClient([])
    run, _ = make_run(client, incoming={DEVICE: ["a", "b", "c"], OTHER: ["z"]})
    run.drain()
    assert client.acks == [(DEVICE, ["a", "b"]), (DEVICE, ["c"]), (OTHER, ["z"])]
    assert client.starts == 1
    assert run.counters.incoming_acked == 4
    assert pending_keys(run.ledger) == {}


def test_failed_incoming_ack_stops_before_the_session_and_keeps_the_keys():
    client = FakeClient([page([item("deal", {"id": 1})])])
    client.ack_error = RetriableError("ack: Sell answered 503")
    run, writes = make_run(client, incoming={DEVICE: ["a", "b", "c"]})
    with pytest.raises(SellApiError) as caught:
        run.drain()
    assert client.starts == 0
    assert "could not ack 3 pending keys" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert writes == [{DEVICE: ["a", "b", "c"]}]


def test_start_204_ends_with_nothing_emitted_and_the_device_kept():
    client = FakeClient(session=False)
    run, _ = make_run(client)
    assert emit_all(run)["deals"] == []
    assert client.fetches == 0
    assert run.ledger.bookmark()["device_uuid"] == DEVICE
    assert client.closed


def test_deselected_streams_are_acked_by_default_and_kept_when_asked():
    pages = [page([item("deal", {"id": 1}, "D1"), item("lead", {"id": 2}, "L2")])]
    run, _ = make_run(FakeClient(list(pages)), selected=["leads"])
    emit_all(run)
    assert sorted(pending_keys(run.ledger)[DEVICE]) == ["D1", "L2"]
    assert run.counters.deselected == {"deals": 1}

    run, _ = make_run(FakeClient(list(pages)), selected=["leads"], ack_deselected_streams=False)
    emit_all(run)
    assert pending_keys(run.ledger)[DEVICE] == ["L2"]


def test_unknown_types_are_left_unacked_by_default_and_acked_when_asked():
    pages = [page([item("hologram", {"id": 1}, "H1"), item("deal", {"id": 2}, "D2")])]
    run, _ = make_run(FakeClient(list(pages)))
    emit_all(run)
    assert pending_keys(run.ledger)[DEVICE] == ["D2"]
    assert run.counters.unknown == {"hologram": 1}

    run, _ = make_run(FakeClient(list(pages)), ack_unknown_types=True)
    emit_all(run)
    assert sorted(pending_keys(run.ledger)[DEVICE]) == ["D2", "H1"]


UNREADABLE = {
    "not an object": "junk",
    "no meta": {"data": {"id": 1}},
    "meta not object": {"data": {"id": 1}, "meta": "x"},
    "no ack key": {"data": {"id": 1}, "meta": {"type": "deal", "sync": {"event_type": "created"}}},
    "empty ack key": item("deal", {"id": 1}, ""),
    "ack key not a string": {"data": {"id": 1}, "meta": {"type": "deal", "sync": {"ack_key": 5}}},
    "ack key with newline": item("deal", {"id": 1}, "a\nb"),
    "no type": {"data": {"id": 1}, "meta": {"sync": {"ack_key": "k"}}},
    "data not object": {"data": [1], "meta": {"type": "deal", "sync": {"ack_key": "k"}}},
    "id not a number": item("deal", {"id": "12"}, "k"),
    "id a bool": item("deal", {"id": True}, "k"),
    "id missing": item("deal", {"name": "x"}, "k"),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_items_are_skipped_counted_and_not_acked(name):
    client = FakeClient([page([UNREADABLE[name], item("lead", {"id": 3}, "L3")])])
    run, _ = make_run(client)
    out = emit_all(run)
    assert run.counters.unreadable == 1
    assert pending_keys(run.ledger)[DEVICE] == ["L3"]
    assert sum(len(v) for v in out.values()) == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (item("deal", {"id": 1, "value": "lots"}, "k"), "value"),
        (item("deal", {"id": 1, "value": "NaN"}, "k"), "value"),
        (item("deal", {"id": 1, "value": True}, "k"), "value"),
        (item("deal", {"id": 1, "value": {"a": 1}}, "k"), "value"),
        (item("product", {"id": 1, "prices": [{"amount": "x", "currency": "EUR"}]}, "k"), "prices"),
    ],
)
def test_a_money_value_that_is_not_a_number_is_set_to_null_and_counted_like_any_wrong_type(
    bad, field
):
    client = FakeClient([page([bad, item("lead", {"id": 3}, "L3")])])
    run, _ = make_run(client)
    out = emit_all(run)
    assert run.counters.unreadable == 0
    stream = "deals" if field == "value" else "products"
    (record,) = out[stream]
    if field == "value":
        assert record["value"] is None
        assert run.counters.invalid_values == {"deals": {"value": 1}}
    else:
        assert record["prices"] == [{"amount": None, "currency": "EUR"}]
        assert run.counters.invalid_values == {"products": {"prices.amount": 1}}
    assert sorted(pending_keys(run.ledger)[DEVICE]) == ["L3", "k"]


def test_unknown_event_type_is_emitted_as_data_and_counted():
    client = FakeClient([page([item("deal", {"id": 1, "name": "n"}, "k", event="merged")])])
    run, _ = make_run(client)
    out = emit_all(run)
    assert out["deals"][0]["sell_event_type"] == "merged"
    assert run.counters.unknown_event_types == 1


def test_money_is_exact_decimal_never_float():
    client = FakeClient(
        [
            page(
                [
                    item("deal", {"id": 1, "value": "1000.50"}),
                    item("deal", {"id": 2, "value": 1000}),
                    item("deal", {"id": 3, "value": decimal.Decimal("0.10")}),
                    item("deal", {"id": 4, "value": None}),
                    item("product", {"id": 5, "cost": "9.99", "prices": [{"amount": "1599.99"}]}),
                    item("line_item", {"id": 6, "order_id": 2, "price": "0.30", "value": 1}),
                ],
            ),
        ],
    )
    run, _ = make_run(client)
    out = emit_all(run)
    values = [r["value"] for r in out["deals"]]
    assert values == [decimal.Decimal("1000.50"), 1000, decimal.Decimal("0.10"), None]
    assert isinstance(values[0], decimal.Decimal)
    assert str(values[0]) == "1000.50"
    assert out["products"][0]["prices"][0]["amount"] == decimal.Decimal("1599.99")
    assert out["line_items"][0]["price"] == decimal.Decimal("0.30")
    assert out["line_items"][0]["order_id"] == 2


def test_custom_fields_keep_unknown_keys_and_unknown_top_level_fields_are_dropped():
    cf = {"Priority": {"id": 1, "name": "High"}, "Budget": "123.45", "New one": [1, 2]}
    client = FakeClient([page([item("lead", {"id": 1, "custom_fields": cf, "shiny": 1})])])
    run, _ = make_run(client)
    record = emit_all(run)["leads"][0]
    assert record["custom_fields"] == {
        "Priority": {"id": 1, "name": "High"},
        "Budget": "123.45",
        "New one": [1, 2],
    }
    assert "shiny" not in record
    assert run.counters.dropped_fields == {"leads": {"shiny"}}


def test_max_items_bound_stops_the_drain_and_leaves_the_rest_unacked():
    client = FakeClient([page([item("deal", {"id": i}, f"D{i}") for i in range(5)])] * 3)
    run, _ = make_run(client, max_items=7)
    out = emit_all(run)
    assert len(out["deals"]) == 5  # ids 0-4 twice: the second page repeats keys
    assert run.counters.items == 7
    assert client.fetches == 2
    assert "max_items_per_run" in (run.stop_reason or "")


def test_max_seconds_bound_stops_the_drain():
    now = [0.0]

    def clock():
        now[0] += 1.0
        return now[0]

    client = FakeClient([page([item("deal", {"id": i})]) for i in range(100)])
    run, _ = make_run(client, max_seconds=5, clock=clock)
    run.drain()
    assert client.fetches < 10
    assert "max_seconds_per_run" in (run.stop_reason or "")


def test_lost_session_stops_early_and_emits_what_was_spooled():
    client = FakeClient([page([item("deal", {"id": 1}, "D1")]), SessionLostError("gone")])
    run, _ = make_run(client)
    out = emit_all(run)
    assert [r["id"] for r in out["deals"]] == [1]
    assert run.stop_reason == "gone"
    assert pending_keys(run.ledger)[DEVICE] == ["D1"]


def test_fetch_retries_exhausted_ends_the_drain_cleanly():
    client = FakeClient([page([item("deal", {"id": 1}, "D1")])])
    client.fetch_error = RetriableError("fetch: Sell answered 429")
    run, _ = make_run(client)
    out = emit_all(run)
    assert len(out["deals"]) == 1
    assert "gave up" in (run.stop_reason or "")


def test_endless_empty_pages_stop_after_a_bound():
    client = FakeClient([page([]) for _ in range(500)])
    run, _ = make_run(client)
    run.drain()
    assert client.fetches == 50
    assert "empty pages" in (run.stop_reason or "")


def test_failed_objects_are_counted_and_not_acked():
    failed = [{"type": "deal", "id": 1}, {"type": "lead", "id": 2}]
    client = FakeClient([page([item("deal", {"id": 3}, "D3")], failed=failed)])
    run, _ = make_run(client)
    emit_all(run)
    assert run.counters.failed_objects == 2
    assert pending_keys(run.ledger)[DEVICE] == ["D3"]


def test_summary_is_logged_once_when_every_selected_stream_is_done(caplog):
    caplog.set_level("INFO")
    client = FakeClient([page([item("deal", {"id": 1}), item("deal", {"id": 2}, event="deleted")])])
    run, _ = make_run(client, selected=["deals", "leads"])
    list(run.records("deals"))
    assert not client.closed
    list(run.records("leads"))
    assert client.closed
    summaries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Summary")]
    assert len(summaries) == 1
    assert "2 records (1 deletes, 0 dropped by stream maps)" in summaries[0]
    assert any(
        "Stream deals: 2 records, 1 of them deletes" in r.getMessage() for r in caplog.records
    )


def test_progress_lines_come_at_a_steady_interval_with_items_left_rate_and_eta(caplog):
    caplog.set_level("INFO")
    now = [0.0]

    def clock():
        now[0] += 2.5  # every clock read moves time on: a progress line every few pages
        return now[0]

    pages = [page([item("deal", {"id": i})], count_left=20 - i) for i in range(20)]
    run, _ = make_run(FakeClient(pages), clock=clock)
    run.drain()
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Progress")]
    assert 3 <= len(progress) <= 10
    assert "left" in progress[0]
    assert "items/s" in progress[0]
    assert "s to go" in progress[0]


def test_when_a_later_ack_pack_fails_only_the_accepted_packs_leave_the_state():
    class FailingSecondAck(FakeClient):
        def ack(self, ack_keys, device_uuid):
            if self.acks:
                msg = "ack: Sell answered 503"
                raise RetriableError(msg)
            super().ack(ack_keys, device_uuid)

    client = FailingSecondAck([])
    run, writes = make_run(client, incoming={DEVICE: ["a", "b", "c", "d", "e"]})
    with pytest.raises(SellApiError):
        run.drain()
    assert client.acks == [(DEVICE, ["a", "b"])]
    assert writes == [{DEVICE: ["c", "d", "e"]}]
    assert run.counters.incoming_acked == 2
    assert client.starts == 0
