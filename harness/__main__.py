# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""The harness command: ``python -m harness --seed 1 --schedules 200``.

It runs the schedules on worker processes, prints one line per schedule and, at the end, one
summary line; the exit code is 0 only when every schedule converged with nothing lost, no
early ack, no leaked token and no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from harness.schedule import ScheduleResult, make_plan, run_schedule

DEFAULT_WORKERS = max(1, min(2, os.cpu_count() or 1))


def _run_one(seed: int, index: int, workroot: str, keep: bool, spawn: str) -> ScheduleResult:  # noqa: FBT001
    return run_schedule(make_plan(seed, index), Path(workroot), keep=keep, spawn=spawn)


def summary_line(results: list[ScheduleResult], elapsed: float, seed: int) -> str:
    """Build the summary line of a harness run.

    Args:
        results: Every schedule's outcome.
        elapsed: Seconds the whole run took.
        seed: The harness seed.

    Returns:
        The line.
    """
    return (
        f"schedules run: {len(results)}, converged: {sum(r.converged for r in results)}, "
        f"objects lost: {sum(r.lost for r in results)}, "
        f"early acks: {sum(r.early_acks for r in results)}, "
        f"most runs any schedule needed: {max((r.runs for r in results), default=0)} "
        f"(seed {seed}, {elapsed:.0f} s; deletes Sell never announced: "
        f"{sum(r.unannounced for r in results)}, rows for no object: "
        f"{sum(r.extra_rows for r in results)}, token leaks: "
        f"{sum(r.token_leaks for r in results)}, tracebacks: "
        f"{sum(r.tracebacks for r in results)})"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the harness.

    Args:
        argv: Command-line arguments.

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schedules", type=int, default=200)
    parser.add_argument("--first", type=int, default=0, help="number of the first schedule")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the files of every schedule")
    parser.add_argument(
        "--spawn",
        choices=["fork", "exec"],
        default="fork",
        help="fork the tap and the target from a preloaded process (fast), or run the "
        "installed commands",
    )
    args = parser.parse_args(argv)
    workroot = args.workdir or Path(tempfile.mkdtemp(prefix="sell-sync-harness-"))
    workroot.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: list[ScheduleResult] = []
    indices = range(args.first, args.first + args.schedules)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [
            pool.submit(_run_one, args.seed, index, str(workroot), args.keep, args.spawn)
            for index in indices
        ]
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            status = "ok" if result.ok else "FAILED"
            sys.stdout.write(
                f"schedule {result.index}: {status}, {result.runs} runs, "
                f"{'requeue at drain' if result.requeue_at_drain else 'requeue at start'}, "
                f"{result.elapsed:.1f} s"
                + "".join(f"\n    {problem}" for problem in result.problems)
                + "\n",
            )
            sys.stdout.flush()
    results.sort(key=lambda r: r.index)
    sys.stdout.write(f"files: {workroot}\n")
    sys.stdout.write(summary_line(results, time.monotonic() - started, args.seed) + "\n")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
