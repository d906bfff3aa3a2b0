# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""One schedule: a seeded plan of faults, kills and changes, run until the pipeline converges.

A schedule starts an emulator in this process, runs a few disturbed runs (HTTP faults on all
three endpoints, the tap or the target killed at chosen moments, objects created, updated and
deleted between and during runs), then clean runs until a run finds nothing to send and
leaves nothing pending. It then compares the target's table with the emulator's objects and
the emulator's ack log with the times the target printed each state.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import random
import shutil
import sqlite3
import threading
import time
import typing as t
from dataclasses import dataclass, field

from harness.pipeline import Kill, RunResult, run_pipeline
from harness.zygote import Zygote
from sell_sync_emulator import Emulator, EmulatorConfig, Fault, serve
from tap_sell_sync.state import STATE_BOOKMARK, read_bookmark
from tap_sell_sync.streams import STREAM_TYPES

if t.TYPE_CHECKING:
    from pathlib import Path

TOKEN = "harness-TOKEN-7f3a9c1e5b2d4f60"  # noqa: S105 - recognisable, searched for in output
#: Clean runs allowed after the disturbed ones before a schedule counts as not converged.
CLEAN_RUN_BOUND = 6
MIN_DISTURBED_RUNS = 1
MAX_DISTURBED_RUNS = 4
REQUEST_TIMEOUT_SECONDS = 1.0
STREAM_OF_TYPE: dict[str, str] = {
    stream.resource_type: str(vars(stream)["name"]) for stream in STREAM_TYPES
}
KEY_FIELDS = {
    stream.resource_type: tuple(stream.primary_keys or ("id",)) for stream in STREAM_TYPES
}
TARGET_DRAIN_INTERVAL_SECONDS = 0.3
TARGET_BATCH_ROWS = 25


@dataclass(frozen=True)
class RunPlan:
    """What disturbs one run."""

    faults: tuple[Fault, ...] = ()
    fault_seed: int = 0
    tap_kill: Kill | None = None
    target_kill: Kill | None = None
    mutate_before: tuple[int, int, int] | None = None
    mutate_during: tuple[float, tuple[int, int, int]] | None = None
    expire_during: float | None = None

    def describe(self) -> str:
        """Return a one-line description."""
        parts = [f"{f.kind}/{f.endpoint}" for f in self.faults]
        if self.tap_kill:
            parts.append("tap " + self.tap_kill.describe())
        if self.target_kill:
            parts.append("target " + self.target_kill.describe())
        if self.mutate_before:
            parts.append("mutate-before")
        if self.mutate_during:
            parts.append("mutate-during")
        if self.expire_during is not None:
            parts.append("expire-during")
        return ", ".join(parts) or "clean"


@dataclass(frozen=True)
class SchedulePlan:
    """The seeded plan of one schedule."""

    index: int
    seed: int
    objects: int
    page_size: int
    requeue_at_drain: bool
    snapshot_sessions: bool
    deletes_for_unseen: bool
    rate_limit_per_hour: int
    ack_batch_size: int
    max_items_per_run: int
    max_retry_seconds: float
    runs: tuple[RunPlan, ...]
    max_seconds_per_run: float | None = None


@dataclass
class ScheduleResult:
    """The outcome of one schedule."""

    index: int
    requeue_at_drain: bool
    converged: bool = False
    runs: int = 0
    lost: int = 0
    early_acks: int = 0
    unannounced: int = 0
    state_lost: bool = False
    extra_rows: int = 0
    token_leaks: int = 0
    tracebacks: int = 0
    elapsed: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the schedule converged with nothing lost, early, extra or leaked."""
        return (
            self.converged
            and not self.lost
            and not self.early_acks
            and not self.extra_rows
            and not self.token_leaks
            and not self.tracebacks
        )


def _counts(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(0, 8), rng.randint(0, 8), rng.randint(0, 5)


def _fault(rng: random.Random) -> Fault:
    endpoint = rng.choice(["start", "fetch", "ack", "any"])
    kind = rng.choice(
        [
            "429-storm",
            "500",
            "502",
            "503",
            "504",
            "drop_before_body",
            "drop_mid_body",
            "slow",
            "not_json",
            "empty_page",
            "failed_objects",
            "expired_session",
        ],
    )
    if kind == "429-storm":
        # Sometimes long enough to outlast the tap's retry budget.
        return Fault("429", endpoint=endpoint, times=rng.choice([3, 6, 10, None]))
    if kind in {"500", "502", "503", "504", "drop_before_body", "drop_mid_body", "not_json"}:
        return Fault(
            kind, endpoint=endpoint, probability=rng.uniform(0.1, 0.4), times=rng.randint(1, 6)
        )
    if kind == "slow":
        return Fault(
            "slow",
            endpoint=endpoint,
            probability=rng.uniform(0.1, 0.4),
            times=rng.randint(1, 3),
            delay_seconds=rng.choice([0.2, 0.5, 1.2]),
        )
    if kind == "empty_page":
        return Fault("empty_page", endpoint="fetch", probability=rng.uniform(0.2, 0.5))
    if kind == "failed_objects":
        return Fault(
            "failed_objects",
            endpoint="fetch",
            probability=rng.uniform(0.2, 0.6),
            count=rng.randint(1, 3),
        )
    return Fault("expired_session", endpoint="fetch", on_calls=(rng.randint(1, 4),))


def _tap_kill(rng: random.Random) -> Kill:
    signal_name = "SIGKILL" if rng.random() < 0.7 else "SIGTERM"  # noqa: PLR2004
    trigger = rng.choice(["line", "record_state", "time", "acks"])
    value = {
        "line": rng.randint(1, 150),
        "record_state": rng.randint(1, 6),
        "time": rng.randint(3, 20),
        "acks": rng.randint(1, 40),
    }[trigger]
    return Kill(signal_name, trigger, value)


def _target_kill(rng: random.Random) -> Kill:
    signal_name = "SIGKILL" if rng.random() < 0.8 else "SIGTERM"  # noqa: PLR2004
    if rng.random() < 0.5:  # noqa: PLR2004
        return Kill(signal_name, "line", rng.randint(1, 150))
    return Kill(signal_name, "state", rng.randint(1, 3))


def make_plan(seed: int, index: int) -> SchedulePlan:
    """Draw the plan of one schedule from the seed.

    Args:
        seed: The harness seed.
        index: The schedule's number.

    Returns:
        The plan.
    """
    rng = random.Random(f"{seed}:{index}")  # noqa: S311 - seeded simulation
    runs = [
        RunPlan(
            faults=tuple(_fault(rng) for _ in range(rng.randint(0, 3))),
            fault_seed=rng.randint(0, 2**31),
            tap_kill=_tap_kill(rng) if rng.random() < 0.5 else None,  # noqa: PLR2004
            target_kill=_target_kill(rng) if rng.random() < 0.35 else None,  # noqa: PLR2004
            mutate_before=_counts(rng) if rng.random() < 0.6 else None,  # noqa: PLR2004
            mutate_during=(rng.uniform(0, 2.0), _counts(rng))
            if rng.random() < 0.5  # noqa: PLR2004
            else None,
            expire_during=rng.uniform(0.5, 2.0) if rng.random() < 0.15 else None,  # noqa: PLR2004
        )
        for _ in range(rng.randint(MIN_DISTURBED_RUNS, MAX_DISTURBED_RUNS))
    ]
    return SchedulePlan(
        index=index,
        seed=rng.randint(1, 10**6),
        objects=rng.randint(20, 80),
        page_size=rng.randint(5, 25),
        requeue_at_drain=index % 2 == 1,
        snapshot_sessions=rng.random() < 0.25,  # noqa: PLR2004
        deletes_for_unseen=rng.random() < 0.25,  # noqa: PLR2004
        rate_limit_per_hour=rng.choice([0, 0, 0, 144_000]),
        ack_batch_size=rng.choice([5, 20, 1000]),
        max_items_per_run=rng.choice([0, 0, 40, 100_000]),
        max_retry_seconds=rng.choice([1.0, 2.0, 3.0]),
        runs=tuple(runs),
        max_seconds_per_run=rng.choice([None, None, None, 0.3]),
    )


def _same(expected: object, actual: object) -> bool:  # noqa: PLR0911
    """Compare an emulator value with the stored one (exact decimals, parsed timestamps)."""
    if expected == actual and type(expected) is type(actual):
        return True
    if isinstance(expected, dict) and isinstance(actual, dict):
        return set(expected) == set(actual) and all(_same(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            _same(a, b) for a, b in zip(expected, actual, strict=True)
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return False
    if isinstance(expected, int | float | str) and isinstance(actual, int | float | str):
        try:
            return decimal.Decimal(str(expected)) == decimal.Decimal(str(actual))
        except decimal.InvalidOperation:
            pass
        if isinstance(expected, str) and isinstance(actual, str):
            try:
                return dt.datetime.fromisoformat(
                    expected.replace("Z", "+00:00")
                ) == dt.datetime.fromisoformat(actual.replace("Z", "+00:00"))
            except ValueError:
                return False
    return False


def _key_text(resource_type: str, key: object) -> str:
    values = list(key) if isinstance(key, tuple) else [key]
    if len(values) != len(KEY_FIELDS[resource_type]):
        msg = f"key {key!r} does not fit {resource_type}"
        raise ValueError(msg)
    return json.dumps(values)


def read_target(path: Path) -> dict[tuple[str, str], dict[str, t.Any]]:
    """Read every row the target stored.

    Args:
        path: The target's SQLite file.

    Returns:
        {(stream, key as JSON list): record}.
    """
    if not path.exists():
        return {}
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT stream, key, record FROM records").fetchall()
    except sqlite3.OperationalError:
        rows = []
    finally:
        connection.close()
    return {(stream, key): json.loads(record) for stream, key, record in rows}


def compare(  # noqa: C901
    emulator: Emulator, rows: dict[tuple[str, str], dict[str, t.Any]], device: str | None
) -> tuple[int, int, int, list[str]]:
    """Compare the target's rows with the emulator's truth.

    A deleted object that the target holds as live counts as lost when Sell announced the
    delete to the device (the device acknowledged some revision of the object). When the
    device never acknowledged any revision, Sell never sends the delete (the strict reading
    the emulator follows): the target stored the object in a run whose state never came back,
    and the object was deleted before it was delivered again. That row is counted apart, as an
    unannounced delete, because no client of the protocol can learn of it.

    Args:
        emulator: The emulator.
        rows: The target's rows.
        device: The device of the last state.

    Returns:
        (objects lost, unannounced deletes, rows that stand for no object, descriptions of the
        first problems).
    """
    acked = emulator.acked_revisions(device) if device else {}
    lost = unannounced = 0
    problems: list[str] = []
    expected: set[tuple[str, str]] = set()
    for resource_type, objects in emulator.current_objects().items():
        stream = STREAM_OF_TYPE[resource_type]
        for key, data in objects.items():
            where = (stream, _key_text(resource_type, key))
            expected.add(where)
            row = rows.get(where)
            revision = emulator.revision_of(resource_type, key)
            if row is None:
                reason = "missing"
            elif row.get("_sdc_deleted_at") is not None:
                reason = "marked deleted but live"
            elif row.get("sell_revision") != revision:
                reason = f"revision {row.get('sell_revision')} instead of {revision}"
            else:
                different = [name for name in data if not _same(data[name], row.get(name))]
                reason = f"fields differ: {different}" if different else ""
            if reason:
                lost += 1
                problems.append(f"{resource_type} {key}: {reason}")
    for resource_type, keys in emulator.deleted_keys().items():
        stream = STREAM_OF_TYPE[resource_type]
        for key in keys:
            where = (stream, _key_text(resource_type, key))
            expected.add(where)
            row = rows.get(where)
            # A deleted object the target never saw may be absent; one it saw must be marked.
            if row is None or row.get("_sdc_deleted_at") is not None:
                continue
            if (resource_type, key) in acked:
                lost += 1
                problems.append(f"{resource_type} {key}: deleted but live in the target")
            else:
                unannounced += 1
    extra = [where for where in rows if where not in expected]
    problems.extend(f"row for no object: {where}" for where in extra[:5])
    return lost, unannounced, len(extra), problems


def _pending(state: dict[str, t.Any] | None) -> dict[str, list[str]]:
    if not state:
        return {}
    return read_bookmark(state.get("bookmarks", {}).get(STATE_BOOKMARK)).pending


def early_acks(emulator: Emulator, first_seen: dict[tuple[str, str], float]) -> list[str]:
    """List the acks that came before a target-printed state held their key.

    Args:
        emulator: The emulator.
        first_seen: (device, ack key) -> when the target first printed a state holding it.

    Returns:
        Descriptions of the early acks.
    """
    early = []
    for event in emulator.ack_log():
        seen = first_seen.get((event.device_uuid, event.ack_key))
        if seen is None or seen > event.time:
            early.append(f"{event.ack_key} acked at {event.time:.3f}, state seen at {seen}")
    return early


_ZYGOTES: list[Zygote] = []


def _zygote() -> Zygote:
    """Return this process's zygote, forking it on first use (before any thread starts)."""
    if not _ZYGOTES:
        _ZYGOTES.append(Zygote())
    return _ZYGOTES[0]


def run_schedule(  # noqa: C901, PLR0912, PLR0915
    plan: SchedulePlan, workroot: Path, *, keep: bool = False, spawn: str = "fork"
) -> ScheduleResult:
    """Run one schedule to convergence (or to the run bound) and check the outcome.

    Args:
        plan: The schedule's plan.
        workroot: A directory for this schedule's files (removed when it passes, unless keep).
        keep: Keep the files even when the schedule passes.
        spawn: ``fork`` starts the tap and the target from a zygote that imported them once;
            ``exec`` runs the installed commands.

    Returns:
        The outcome.
    """
    zygote = _zygote() if spawn == "fork" else None
    started = time.monotonic()
    result = ScheduleResult(index=plan.index, requeue_at_drain=plan.requeue_at_drain)
    workdir = workroot / f"schedule-{plan.index:04d}"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    emulator = Emulator(
        EmulatorConfig(
            seed=plan.seed,
            objects=plan.objects,
            page_size=plan.page_size,
            token=TOKEN,
            requeue_at_drain=plan.requeue_at_drain,
            snapshot_sessions=plan.snapshot_sessions,
            deletes_for_unseen=plan.deletes_for_unseen,
            rate_limit_per_hour=plan.rate_limit_per_hour,
            rate_limit_burst=10,
        ),
    )
    rng = random.Random(plan.seed)  # noqa: S311 - seeded simulation
    database = workdir / "target.sqlite"
    state: dict[str, t.Any] | None = None
    first_seen: dict[tuple[str, str], float] = {}
    log_lines: list[str] = []
    with serve(emulator) as server:
        tap_config = {
            "access_token": TOKEN,
            "api_url": server.url,
            "request_timeout": REQUEST_TIMEOUT_SECONDS,
            "max_requests_per_second": 50 if plan.rate_limit_per_hour else 500,
            "max_retry_seconds": plan.max_retry_seconds,
            "ack_batch_size": plan.ack_batch_size,
            "max_items_per_run": plan.max_items_per_run,
        }
        if plan.max_seconds_per_run is not None:
            tap_config["max_seconds_per_run"] = plan.max_seconds_per_run
        target_config = {
            "path": str(database),
            "drain_interval_seconds": TARGET_DRAIN_INTERVAL_SECONDS,
            "batch_size_rows": TARGET_BATCH_ROWS,
            # Keep _sdc_deleted_at, or a delete would land as a live row of nulls.
            "add_record_metadata": True,
        }
        bound = len(plan.runs) + CLEAN_RUN_BOUND
        for number in range(bound):
            run_plan = plan.runs[number] if number < len(plan.runs) else RunPlan()
            emulator.set_faults(*run_plan.faults, seed=run_plan.fault_seed)
            if run_plan.mutate_before:
                creates, updates, deletes = run_plan.mutate_before
                emulator.mutate(creates, updates, deletes, seed=rng.randint(0, 2**31))
            timers = []
            if run_plan.mutate_during:
                delay, (creates, updates, deletes) = run_plan.mutate_during
                timers.append(
                    threading.Timer(
                        delay,
                        emulator.mutate,
                        args=(creates, updates, deletes),
                        kwargs={"seed": rng.randint(0, 2**31)},
                    ),
                )
            if run_plan.expire_during is not None:
                timers.append(threading.Timer(run_plan.expire_during, emulator.expire_sessions))
            for timer in timers:
                timer.start()
            run = run_pipeline(
                workdir=workdir / f"run-{number:02d}",
                tap_config=tap_config,
                target_config=target_config,
                state=state,
                token=TOKEN,
                tap_kill=run_plan.tap_kill,
                target_kill=run_plan.target_kill,
                acks_received=lambda: int(emulator.counters()["acks_received"]),
                zygote=zygote,
            )
            for timer in timers:
                timer.join()
            result.runs = number + 1
            _note_run(result, run, run_plan, number, log_lines)
            for seen, printed in run.states:
                for device, keys in _pending(printed).items():
                    for key in keys:
                        first_seen.setdefault((device, key), seen)
            if run.states:
                # Meltano keeps the last state the target printed, even from a failed run.
                state = run.states[-1][1]
            if number >= len(plan.runs) and _converged(run, emulator, state):
                result.converged = True
                break
        emulator.set_faults()

    last_device = read_bookmark(state["bookmarks"][STATE_BOOKMARK]).device_uuid if state else None
    result.lost, result.unannounced, result.extra_rows, problems = compare(
        emulator, read_target(database), last_device
    )
    if result.unannounced and not result.state_lost:
        # Without a run whose state could be lost, every stored record's key came back and
        # was acked, so Sell must have announced the delete: the tap lost it.
        result.lost += result.unannounced
        result.problems.append(f"{result.unannounced} deletes missing though no state was lost")
        result.unannounced = 0
    early = early_acks(emulator, first_seen)
    result.early_acks = len(early)
    result.problems.extend(problems[:10] + early[:10])
    result.elapsed = time.monotonic() - started
    history = _history(emulator, problems) if not result.ok else []
    (workdir / "runs.log").write_text("\n".join(log_lines + result.problems + history) + "\n")
    if result.ok and not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _history(emulator: Emulator, problems: list[str]) -> list[str]:
    """Describe what the emulator delivered and was acked for the objects with problems."""
    wanted = {problem.split(":", 1)[0] for problem in problems}
    lines = [
        f"  delivered {event.time:.3f} {event.device_uuid[:8]} {event.session_id[:8]} "
        f"{event.ack_key} {event.event_type}"
        for event in emulator.delivery_log()
        if f"{event.resource_type} {event.key}" in wanted
    ]
    lines.extend(
        f"  acked {ack.time:.3f} {ack.device_uuid[:8]} {ack.ack_key}"
        for ack in emulator.ack_log()
        if f"{ack.resource_type} {ack.key}" in wanted
    )
    return sorted(lines, key=lambda line: line.split()[1])


def _note_run(
    result: ScheduleResult, run: RunResult, run_plan: RunPlan, number: int, log: list[str]
) -> None:
    if run.token_seen:
        result.token_leaks += 1
        result.problems.append(f"run {number}: the access token appeared in the output")
    tap_was_killed = run.tap_killed or run.target_killed
    if tap_was_killed or run.target_returncode != 0:
        result.state_lost = True
    if "Traceback" in run.tap_stderr and not tap_was_killed:
        result.tracebacks += 1
        result.problems.append(f"run {number}: the tap printed a traceback")
    log.append(
        f"run {number}: {run_plan.describe()}; tap exit {run.tap_returncode}, target exit "
        f"{run.target_returncode}, {run.records_relayed} records, {len(run.states)} states, "
        f"{run.elapsed:.1f} s",
    )


def _converged(run: RunResult, emulator: Emulator, state: dict[str, t.Any] | None) -> bool:
    """Tell whether a clean run found nothing to send and left nothing pending."""
    if run.tap_returncode != 0 or run.target_returncode != 0 or run.records_relayed:
        return False
    if not run.states or state is None:
        return False
    if any(_pending(state).values()):
        return False
    device = read_bookmark(state["bookmarks"][STATE_BOOKMARK]).device_uuid
    return device is not None and not emulator.pending_for(device)
