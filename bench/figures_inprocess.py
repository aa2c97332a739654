"""Figures measured inside one Python process (engine calls, the TUI under Textual's
pilot), each run as a script in its own process that prints its samples as JSON."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
from dataclasses import replace
from pathlib import Path

from measure import BENCH_DIR, PYTHON, ROOT, Result, bench_env

PLAN_COURSE = Result("plan a 16-session course, busy calendar", "ms", max_value=100)
REFRESH_CHECK = Result("idle refresh check (change marker)", "queries", max_value=1)
ENGINE_FIGURES = (PLAN_COURSE, REFRESH_CHECK)

DESK_ACTION = Result("desk action to the board showing it (pilot)", "ms", max_value=50)
SEARCH_KEY = Result("patient search, keystroke to results (pilot)", "ms", max_value=30)
SECOND_DESK = Result("another desk's change visible on the board", "s", max_value=2)
PILOT_FIGURES = (DESK_ACTION, SEARCH_KEY, SECOND_DESK)


def run_script(script: str, *args: object) -> dict:
    completed = subprocess.run([PYTHON, str(BENCH_DIR / script), *map(str, args)], capture_output=True,
                               text=True, env=bench_env(), cwd=ROOT, timeout=600)
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines()
        raise RuntimeError(f"{script} exited {completed.returncode}: {lines[-1] if lines else ''}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def engine_figures(db: Path, moment: dt.datetime, runs: int, warmup: int) -> list[Result]:
    data = run_script("inprocess_engine.py", db, moment.isoformat(), runs, warmup)
    check_ms = sorted(data["check_ms"])[len(data["check_ms"]) // 2]
    return [replace(PLAN_COURSE, samples=data["plan_ms"], note=data["plan_note"]),
            replace(REFRESH_CHECK, samples=data["check_queries"],
                    note=f"one indexed primary-key read, median {check_ms:.2f} ms: {data['check_sql']}")]


def pilot_figures(db: Path, moment: dt.datetime, runs: int, warmup: int) -> list[Result]:
    data = run_script("inprocess_pilot.py", db, moment.isoformat(), runs, warmup)
    return [replace(DESK_ACTION, samples=data["desk_ms"],
                    note=f"advance then undo of a seated session, 80x24; medians from the key: {data['desk_note']}"),
            replace(SEARCH_KEY, samples=data["search_ms"], note=data["search_note"]),
            replace(SECOND_DESK, samples=data["remote_s"],
                    note="write on another connection; the board checks the change marker every 1 s")]
