"""What must hold in a clinic database after anything: checked on SQLite and PostgreSQL alike.

Call with the database open (``open_database``) in the test process.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from keta_tui.clinic.clock import to_local
from keta_tui.clinic.settings import ClinicSettings
from keta_tui.clinic.states import is_allowed
from keta_tui.db.base import database_proxy
from keta_tui.db.connection import is_postgres
from keta_tui.db.models import ACTIVE_STATUSES, AuditEntry, Course, Patient, Session, StatusChange

ACTIVE_SQL = ", ".join(f"'{status}'" for status in ACTIVE_STATUSES)
OVERLAPS = {
    "chair": f"""SELECT a.id, b.id FROM session a JOIN session b
                 ON a.chair_id = b.chair_id AND a.id < b.id
                 AND a.start_at < b.busy_until AND b.start_at < a.busy_until
                 WHERE a.status IN ({ACTIVE_SQL}) AND b.status IN ({ACTIVE_SQL})""",
    "patient": f"""SELECT a.id, b.id FROM session a JOIN session b
                   ON a.patient_id = b.patient_id AND a.id < b.id
                   AND a.start_at < b.end_at AND b.start_at < a.end_at
                   WHERE a.status IN ({ACTIVE_SQL}) AND b.status IN ({ACTIVE_SQL})""",
}


def check_storage() -> None:
    """SQLite's own integrity and foreign-key checks (PostgreSQL enforces both itself)."""
    if is_postgres():
        return
    assert database_proxy.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert database_proxy.execute_sql("PRAGMA foreign_key_check").fetchall() == []


def check_schedule(settings: ClinicSettings) -> None:
    """No double-booked chair or patient, no active session on a closure, only allowed steps."""
    for what, sql in OVERLAPS.items():
        assert database_proxy.execute_sql(sql).fetchall() == [], f"overlapping active sessions on a {what}"
    for session_id, start_at in (Session.select(Session.id, Session.start_at)
                                 .where(Session.status.in_(ACTIVE_STATUSES)).tuples()):
        day = to_local(start_at, settings.tz).date()
        assert settings.is_open(day), f"session {session_id} sits on a closure ({day})"
    for change in StatusChange.select(StatusChange.from_status, StatusChange.to_status).tuples():
        assert is_allowed(*change), f"status change {change} is not an allowed edge"


def check_courses() -> list[int]:
    """Every course is whole: sessions numbered 1..N for its N planned sessions."""
    numbers: dict[int, list[int]] = {}
    for course_id, number in Session.select(Session.course, Session.number).where(
            Session.course.is_null(False)).tuples():
        numbers.setdefault(course_id, []).append(number)
    course_ids = []
    for course_id, planned in Course.select(Course.id, Course.planned_sessions).tuples():
        got = sorted(numbers.get(course_id, []))
        # Boosters attach to a course after its plan; the plan's own numbers must all be there.
        assert got[:planned] == list(range(1, planned + 1)), f"course {course_id} is not whole: {got}"
        course_ids.append(course_id)
    return course_ids


def check_oplog(entries: list[dict], *, in_flight: set[str] = frozenset()) -> None:
    """Successes are in the database and its audit trail; failures left nothing behind.

    ``entries`` are the workers' logs (each operation acted under its own actor name).
    ``in_flight`` names actors whose operation was cut short by a kill: they may or may
    not have committed, but never partly.
    """
    audited = Counter(actor for (actor,) in AuditEntry.select(AuditEntry.actor).tuples())
    outcomes = [e for e in entries if "actor" in e and "ok" in e]
    successes = {e["actor"]: e for e in outcomes if e["ok"]}
    failures = {e["actor"]: e for e in outcomes if not e["ok"]}
    for actor, entry in successes.items():
        assert audited[actor] >= 1, f"{entry} reported success but left no audit entry"
        if entry.get("creates") == "session":
            assert Session.get_or_none(Session.id == entry["session"], Session.created_by == actor), entry
        elif entry.get("creates") == "patient":
            assert Patient.get_or_none(Patient.id == entry["patient"]) is not None, entry
        elif "course" in entry:
            course = Course.get_or_none(Course.id == entry["course"], Course.created_by == actor)
            assert course is not None, entry
            assert Session.select().where(Session.course == course.id).count() >= entry["sessions"], entry
    for actor, entry in failures.items():
        assert audited[actor] == 0, f"{entry} reported failure but wrote audit entries"
        assert not Session.select().where(Session.created_by == actor).exists(), entry
        assert not Course.select().where(Course.created_by == actor).exists(), entry
        assert not Patient.select().where(Patient.updated_by == actor).exists(), entry
    logged = set(successes) | set(failures) | set(in_flight)
    worker_actors = {actor for actor in audited if "-op" in actor}
    assert worker_actors <= logged, f"writes nobody reported: {sorted(worker_actors - logged)[:5]}"


def record_results(section: str, data: dict) -> None:
    """Merge figures into the results file named by KETA_RELIABILITY_RESULTS (README cites it)."""
    target = os.environ.get("KETA_RELIABILITY_RESULTS")
    if not target:
        return
    path = Path(target)
    results = json.loads(path.read_text()) if path.exists() else {}
    results[section] = data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
