"""Several desks at once: 6 processes doing random desk operations on one database while
another keeps loading today's board; then every invariant is checked.

CI runs ~8 s per backend; `pytest --long` runs 120 s.
"""
from __future__ import annotations

import statistics
import time
from collections import Counter

import pytest

from keta_tui.clinic.patients import add_patient
from keta_tui.db.connection import close_database, open_database

from ..conftest import FROZEN_NOW, PG_URL
from .helpers import finish_worker, read_log, start_worker
from .invariants import check_courses, check_oplog, check_schedule, check_storage, record_results

DESKS = 6
SEED_PATIENTS = 40


def soak(clinic_db, tmp_path, seconds: float) -> dict:
    for number in range(SEED_PATIENTS):
        add_patient(first_name="Seed", last_name=f"Patient{number}", phone=f"555-010-{number:04d}",
                    consent_expires_on="2028-01-01", rems_enrolled=True, actor="test-desk", now=FROZEN_NOW)
    close_database()
    epoch = f"{time.time() + 2:.3f}"  # shared simulated clock; starts once the processes are up
    common = ("--seconds", str(seconds), "--epoch", epoch)
    env = {"KETA_BUSY_TIMEOUT": "15"}
    desks = [start_worker("desk", clinic_db.target, tmp_path / f"desk{n}.jsonl", "--seed", str(n), *common, **env)
             for n in range(1, DESKS + 1)]
    board = start_worker("board", clinic_db.target, tmp_path / "board.jsonl", *common, **env)
    for process in desks + [board]:
        finish_worker(process, timeout=seconds + 120)

    entries = [e for n in range(1, DESKS + 1) for e in read_log(tmp_path / f"desk{n}.jsonl")]
    boards = read_log(tmp_path / "board.jsonl")
    open_database(clinic_db.target)
    check_storage()
    check_schedule(clinic_db.settings)
    courses = check_courses()
    check_oplog(entries)

    outcomes = Counter("ok" if e["ok"] else e["reason"] for e in entries)
    successes = outcomes.pop("ok", 0)
    assert successes > 0 and boards, "the soak did no work"
    assert {"book", "advance", "book_course", "check_in"} <= {e["op"] for e in entries if e["ok"]}
    figures = {
        "backend": "postgresql" if PG_URL else "sqlite",
        "seconds": seconds,
        "desk_processes": DESKS,
        "board_processes": 1,
        "operations": len(entries),
        "succeeded": successes,
        "refused_by_reason": dict(sorted(outcomes.items())),
        "operations_per_second": round(len(entries) / seconds, 1),
        "courses_booked_whole": len(courses),
        "board_loads": len(boards),
        "board_load_median_ms": statistics.median(e["ms"] for e in boards),
        "losses": 0,
    }
    print(f"\nsoak {figures}")
    return figures


def test_soak_six_desks_and_a_board(clinic_db, tmp_path):
    figures = soak(clinic_db, tmp_path, seconds=8)
    record_results(f"soak_{figures['backend']}", figures)


@pytest.mark.slow
def test_soak_long(clinic_db, tmp_path):
    figures = soak(clinic_db, tmp_path, seconds=120)
    record_results(f"soak_long_{figures['backend']}", figures)
