"""In-process engine figures on a demo clinic, printed as JSON for bench/run.py.

- planning a 16-session course (the protocol with 16 sessions, else the longest) for a
  patient on the demo's busy calendar, starting the Monday after the clinic day;
- the board's idle refresh check (``change_marker``): its time and its query count.
Usage: inprocess_engine.py DB_PATH NOW(ISO, aware) RUNS WARMUP
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import statistics
import sys
import time
from typing import Callable

from peewee import fn

from keta_tui.clinic.course_plan import plan_course
from keta_tui.clinic.setup import load_settings
from keta_tui.clinic.store import change_marker
from keta_tui.db.base import database_proxy
from keta_tui.db.connection import open_database
from keta_tui.db.models import Patient


@contextlib.contextmanager
def counting_queries():
    """Counts every statement peewee sends while the block runs."""
    database = database_proxy.obj
    sent: list[str] = []
    original = database.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        sent.append(sql)
        return original(sql, params, *args, **kwargs)

    database.execute_sql = execute_sql
    try:
        yield sent
    finally:
        del database.execute_sql


def timed_ms(call: Callable[[], object], runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(db_path: str, now_text: str, runs: int, warmup: int) -> dict:
    open_database(db_path)
    settings = load_settings()
    now = dt.datetime.fromisoformat(now_text)
    day = now.astimezone(settings.tz).date()
    protocol = max(settings.protocols.values(), key=lambda p: (p.total_sessions == 16, p.total_sessions))
    start_on = day + dt.timedelta(days=7 - day.weekday())
    patient_id = Patient.select(fn.MAX(Patient.id)).scalar()

    def plan():
        return plan_course(settings, patient_id=patient_id, protocol_code=protocol.code,
                           start_on=start_on, now=now)

    plan_ms = timed_ms(plan, runs, warmup)
    with counting_queries() as plan_queries:
        sessions = len(plan().sessions)
    check_ms = timed_ms(change_marker, runs * 20, warmup)
    with counting_queries() as check_queries:
        change_marker()
    return {
        "plan_ms": plan_ms,
        "plan_note": f"{protocol.code}, {sessions} sessions from {start_on}, "
                     f"{len(plan_queries)} queries, median {statistics.median(plan_ms):.1f} ms",
        "check_queries": [float(len(check_queries))],
        "check_ms": check_ms,
        "check_sql": check_queries[0] if check_queries else "",
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
