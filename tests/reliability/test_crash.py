"""kill -9 a process that is booking whole 16-session courses, at random moments: the
database always opens, passes its checks, and every course is booked whole or not at all.

CI kills 10 times per backend; `pytest --long` 60 times.
"""
from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from keta_tui.db.connection import close_database, open_database

from ..conftest import PG_URL
from .helpers import fork_worker, read_log, run_keta
from .invariants import check_courses, check_oplog, check_schedule, check_storage, record_results


# Booking a 16-session course takes 15-60 ms here: a kill within this lands inside it.
BOOKING_MS = 15


def _wait_for(log, process, op: str, count: int = 1, timeout: float = 60) -> None:
    """Until the worker has logged ``op`` ``count`` times."""
    deadline = time.monotonic() + timeout
    while sum(e["op"] == op for e in read_log(log)) < count:
        assert process.is_alive(), Path(str(log) + ".stderr").read_text()
        assert time.monotonic() < deadline, f"the course worker never logged {op} x{count}"
        time.sleep(0.005)


def crash_rounds(clinic_db, tmp_path, kills: int, seed: int) -> dict:
    close_database()
    rng = random.Random(seed)
    mid_booking = courses_before = 0
    all_entries: list[dict] = []
    in_flight: set[str] = set()
    for round_number in range(kills):
        log = tmp_path / f"courses{round_number}.jsonl"
        if round_number % 2:
            # Half the kills are timed by the victim itself to land inside book_course.
            process = fork_worker("courses", clinic_db.target, log, "--seed", str(round_number),
                                  "--kill-during-booking-ms", str(BOOKING_MS))
            process.join(60)
            if process.is_alive():  # never armed: kill it from outside all the same
                os.kill(process.pid, signal.SIGKILL)
                process.join(30)
        else:
            process = fork_worker("courses", clinic_db.target, log, "--seed", str(round_number))
            _wait_for(log, process, "ready")
            time.sleep(rng.uniform(0.0, 0.5))  # anywhere at all
            os.kill(process.pid, signal.SIGKILL)
            process.join(30)
        err = Path(str(log) + ".stderr").read_text()
        assert process.exitcode == -signal.SIGKILL, err
        assert "Traceback" not in err, err

        entries = read_log(log)
        all_entries += entries
        begun = [e for e in entries if e["op"] == "begin"]
        if begun and entries[-1]["op"] in ("begin", "planned"):  # killed planning or booking a course
            in_flight.add(begun[-1]["actor"])
            mid_booking += entries[-1]["op"] == "planned"
        open_database(clinic_db.target)  # always opens (and finds its schema intact)
        try:
            check_storage()
            check_schedule(clinic_db.settings)
            courses = check_courses()
            check_oplog(all_entries, in_flight=in_flight)
        finally:
            close_database()
        assert len(courses) >= courses_before
        courses_before = len(courses)
    # The CLI reads the survivor as usual.
    day = run_keta("today", "--date", "2026-11-18", db=clinic_db.target, KETA_NOW="2026-11-17T15:00:00Z")
    assert day.code == 0 and "Traceback" not in day.stderr, day.stderr
    figures = {"backend": "postgresql" if PG_URL else "sqlite", "kills": kills,
               "kills_inside_book_course": mid_booking, "courses_whole": courses_before,
               "sessions_per_course": 16, "courses_torn": 0}
    print(f"\ncrash {figures}")
    return figures


def test_kill_9_while_booking_courses(clinic_db, tmp_path):
    figures = crash_rounds(clinic_db, tmp_path, kills=10, seed=6)
    assert figures["courses_whole"] > 0
    record_results(f"crash_{figures['backend']}", figures)


@pytest.mark.slow
def test_kill_9_long(clinic_db, tmp_path):
    figures = crash_rounds(clinic_db, tmp_path, kills=60, seed=66)
    assert figures["kills_inside_book_course"] >= 10
    record_results(f"crash_long_{figures['backend']}", figures)
