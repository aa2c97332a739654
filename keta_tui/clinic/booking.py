"""Booking, rescheduling and moving sessions.

The rule check and the insert run in ONE write-locked transaction (the check is
repeated under the lock), and the database's overlap trigger is the last line: two
desks booking the same chair at the same instant get exactly one booking.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN

from keta_tui.db.models import Chair, Patient, Session, StatusChange, Treatment

from .availability import free_chair_id, free_slots, slot_problem
from .clock import UTC, to_local, to_utc
from .errors import NotFound, Refused
from .settings import ClinicSettings
from .states import allowed_after, is_allowed
from .store import audit, check_version, snapshot, writing

# The fields an audit entry keeps for a booked session.
BOOKING_FIELDS = ("patient", "treatment", "chair", "course", "number", "phase", "kind", "status",
                  "start_at", "end_at", "busy_until")


@dataclass(frozen=True)
class BookedSession:
    id: int
    patient_id: int
    treatment_code: str
    chair_id: int
    chair_name: str
    start: dt.datetime  # aware, clinic zone
    end: dt.datetime  # aware, end of minimum monitoring
    course_id: int | None
    number: int | None
    version: int


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def booked_session(session_id: int, settings: ClinicSettings) -> BookedSession:
    """A session as the booking result callers get."""
    row = (Session.select(Session, Treatment.code, Chair.name)
           .join(Treatment).switch(Session).join(Chair, JOIN.LEFT_OUTER)
           .where(Session.id == session_id).objects().first())
    if row is None:
        raise NotFound(f"no session {session_id}")
    return BookedSession(id=row.id, patient_id=row.patient_id, treatment_code=row.code,
                         chair_id=row.chair_id, chair_name=row.name or "",
                         start=to_local(row.start_at, settings.tz), end=to_local(row.end_at, settings.tz),
                         course_id=row.course_id, number=row.number, version=row.version)


def chair_id_named(name: str) -> int:
    """The id of a chair by its name (case-insensitive), or NotFound naming the chairs."""
    wanted = name.strip().casefold()
    chairs = list(Chair.select(Chair.id, Chair.name).where(Chair.retired == False).tuples())  # noqa: E712
    for chair_id, chair_name in chairs:
        if chair_name.casefold() == wanted:
            return chair_id
    known = ", ".join(n for _i, n in chairs)
    raise NotFound(f"no chair named '{name}' (chairs: {known})")


def _require_patient(patient_id: int) -> None:
    if not Patient.select(Patient.id).where(Patient.id == patient_id).exists():
        raise NotFound(f"no patient with id {patient_id}")


def insert_session_row(settings: ClinicSettings, *, patient_id: int, treatment_code: str,
                       start_utc: dt.datetime, chair_id: int, actor: str, now: dt.datetime,
                       course_id: int | None = None, number: int | None = None, phase: str = "",
                       kind: str = "single") -> int:
    """Insert one session inside an already-open ``writing()`` and audit it; returns its id.

    No rule check here: callers check with ``slot_problem`` under the same lock (the
    database trigger still refuses an overlap).
    """
    spec = settings.treatment(treatment_code)
    start_at, end_at, busy_until = spec.span(_naive_utc(start_utc) if start_utc.tzinfo else start_utc)
    treatment_id = Treatment.select(Treatment.id).where(Treatment.code == spec.code).scalar()
    if treatment_id is None:
        raise NotFound(f"treatment '{spec.code}' is not in the database; run 'keta init'")
    stamp = _naive_utc(now)
    row = Session.create(patient=patient_id, treatment=treatment_id, chair=chair_id, course=course_id,
                         number=number, phase=phase, kind=kind, status="scheduled",
                         start_at=start_at, end_at=end_at, busy_until=busy_until, form_due_on=None,
                         created_at=stamp, created_by=actor, updated_at=stamp, updated_by=actor)
    audit(actor, "session.book", "session", row.id, after=snapshot(row, BOOKING_FIELDS), at=stamp)
    return row.id


def _with_suggestions(refusal: Refused, settings: ClinicSettings, treatment_code: str,
                      start_local: dt.datetime, patient_id: int, now: dt.datetime, suggest: int) -> Refused:
    if suggest <= 0:
        return refusal
    refusal.suggestions = tuple(free_slots(settings, treatment_code, now=now, count=suggest,
                                           start=start_local.date(), around=start_local.time(),
                                           patient_id=patient_id))
    return refusal


def _checked_chair(settings: ClinicSettings, treatment_code: str, start_local: dt.datetime, *,
                   patient_id: int, chair_id: int | None, now: dt.datetime,
                   exclude_ids: tuple[int, ...] = (), preferred_chair_id: int | None = None) -> int:
    """Under the write lock: the chair to book, or the Refused explaining why none."""
    problem = slot_problem(settings, treatment_code, start_local, patient_id=patient_id,
                           chair_id=chair_id, now=now, exclude_ids=exclude_ids)
    if problem:
        raise problem
    if chair_id is not None:
        return chair_id
    if preferred_chair_id is not None and slot_problem(
            settings, treatment_code, start_local, patient_id=patient_id, chair_id=preferred_chair_id,
            now=now, exclude_ids=exclude_ids) is None:
        return preferred_chair_id
    chosen = free_chair_id(settings, treatment_code, to_utc(start_local, settings.tz), exclude_ids=exclude_ids)
    if chosen is None:  # slot_problem just found one; kept for safety under odd settings
        raise Refused("refused: no free chair at that time", reason="no_chair")
    return chosen


def book_session(settings: ClinicSettings, *, patient_id: int, treatment_code: str,
                 start_local: dt.datetime, chair_name: str | None = None, actor: str, now: dt.datetime,
                 course_id: int | None = None, number: int | None = None, phase: str = "",
                 kind: str = "single", suggest: int = 3) -> BookedSession:
    """Book one session at a clinic wall-clock start, on ``chair_name`` or the first free chair.

    Refused (exit 3) with ``reason`` and, when ``suggest`` > 0, the nearest free slots.
    """
    settings.treatment(treatment_code)
    chair_id = chair_id_named(chair_name) if chair_name else None
    _require_patient(patient_id)
    try:
        # Refuse the obvious before taking the write lock (and load the holiday calendar
        # outside it); the check that counts is repeated under the lock.
        _checked_chair(settings, treatment_code, start_local, patient_id=patient_id, chair_id=chair_id, now=now)
        with writing():
            chosen = _checked_chair(settings, treatment_code, start_local, patient_id=patient_id,
                                    chair_id=chair_id, now=now)
            session_id = insert_session_row(settings, patient_id=patient_id, treatment_code=treatment_code,
                                            start_utc=to_utc(start_local, settings.tz), chair_id=chosen,
                                            actor=actor, now=now, course_id=course_id, number=number,
                                            phase=phase, kind=kind)
    except Refused as refusal:
        raise _with_suggestions(refusal, settings, treatment_code, start_local, patient_id, now, suggest) from None
    return booked_session(session_id, settings)


def _load_session(session_id: int) -> Session:
    row = Session.get_or_none(Session.id == session_id)
    if row is None:
        raise NotFound(f"no session {session_id}")
    return row


def reschedule(settings: ClinicSettings, session_id: int, *, start_local: dt.datetime,
               chair_name: str | None, actor: str, now: dt.datetime, version: int | None = None,
               suggest: int = 3) -> BookedSession:
    """Close a session as "rescheduled" and book its replacement, in one transaction.

    The replacement keeps the course, number and phase; without ``chair_name`` it stays
    on the same chair when that chair is free, else takes the first free one.
    """
    chair_id = chair_id_named(chair_name) if chair_name else None
    stamp = _naive_utc(now)
    old = _load_session(session_id)
    treatment_code = Treatment.get_by_id(old.treatment_id).code
    try:
        with writing():
            old = _load_session(session_id)  # re-read under the lock
            check_version(old, version, "session")
            if not is_allowed(old.status, "rescheduled"):
                allowed = allowed_after(old.status)
                raise Refused(f"refused: a {old.status} session cannot be rescheduled"
                              f" (allowed: {', '.join(allowed) or 'nothing'})",
                              reason="transition", allowed=allowed)
            chosen = _checked_chair(settings, treatment_code, start_local, patient_id=old.patient_id,
                                    chair_id=chair_id, now=now, exclude_ids=(old.id,),
                                    preferred_chair_id=old.chair_id)
            before = snapshot(old, ("status", "closed_at", "replaced_by", "version"))
            # Close the old row first, so the trigger does not see it overlap its replacement.
            Session.update(status="rescheduled", closed_at=stamp, version=Session.version + 1,
                           updated_at=stamp, updated_by=actor).where(Session.id == old.id).execute()
            StatusChange.create(session=old.id, from_status=old.status, to_status="rescheduled",
                                at=stamp, actor=actor)
            new_id = insert_session_row(settings, patient_id=old.patient_id, treatment_code=treatment_code,
                                        start_utc=to_utc(start_local, settings.tz), chair_id=chosen,
                                        actor=actor, now=now, course_id=old.course_id, number=old.number,
                                        phase=old.phase, kind=old.kind)
            Session.update(replaced_by=new_id).where(Session.id == old.id).execute()
            audit(actor, "session.reschedule", "session", old.id, before=before,
                  after={"status": "rescheduled", "closed_at": stamp.isoformat(), "replaced_by": new_id,
                         "version": old.version + 1}, at=stamp)
    except Refused as refusal:
        if refusal.reason in ("transition", "stale"):
            raise
        raise _with_suggestions(refusal, settings, treatment_code, start_local, old.patient_id, now,
                                suggest) from None
    return booked_session(new_id, settings)


def move_session(settings: ClinicSettings, session_id: int, *, start_local: dt.datetime | None = None,
                 chair_name: str | None = None, actor: str, now: dt.datetime,
                 version: int | None = None) -> BookedSession:
    """Move a not-yet-started session to another chair and/or time, keeping its row.

    For "move chair" on the board; a new time for a booked session is usually a
    :func:`reschedule`, which keeps the trail of the old slot.
    """
    stamp = _naive_utc(now)
    with writing():
        row = _load_session(session_id)
        check_version(row, version, "session")
        if row.status not in ("scheduled", "confirmed", "arrived"):
            raise Refused(f"refused: a {row.status} session cannot be moved", reason="transition")
        current = booked_session(row.id, settings)
        target_local = start_local or current.start.replace(tzinfo=None)
        chair_id = chair_id_named(chair_name) if chair_name else None
        chosen = _checked_chair(settings, current.treatment_code, target_local, patient_id=row.patient_id,
                                chair_id=chair_id, now=now, exclude_ids=(row.id,),
                                preferred_chair_id=row.chair_id)
        spec = settings.treatment(current.treatment_code)
        start_at, end_at, busy_until = spec.span(to_utc(target_local, settings.tz))
        before = snapshot(row, ("chair", "start_at", "end_at", "busy_until", "version"))
        Session.update(chair=chosen, start_at=start_at, end_at=end_at, busy_until=busy_until,
                       version=Session.version + 1, updated_at=stamp, updated_by=actor
                       ).where(Session.id == row.id).execute()
        after = snapshot(_load_session(row.id), ("chair", "start_at", "end_at", "busy_until", "version"))
        audit(actor, "session.move", "session", row.id, before=before, after=after, at=stamp)
    return booked_session(row.id, settings)
