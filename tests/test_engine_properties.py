"""Property: whatever the desks do, the schedule stays sound.

Hypothesis draws a random list of desk operations (bookings, courses, reschedules,
check-ins, steps, cancellations, no-shows, deferrals, undos, and the clock moving on)
and runs them through the real services. A refusal is a fine outcome; anything else
raised fails. After every operation the database must hold no overlapping active
sessions on a chair or for a patient, no session on a closure, and a status history
made only of allowed edges whose kept steps chain from "scheduled" to the status now.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import HealthCheck, event, given, settings, strategies as st

from keta_tui.clinic import lifecycle
from keta_tui.clinic.booking import book_session, reschedule
from keta_tui.clinic.clock import to_local
from keta_tui.clinic.course_plan import plan_course
from keta_tui.clinic.courses import book_course
from keta_tui.clinic.errors import KetaError
from keta_tui.clinic.gate import GateAnswers, check_in
from keta_tui.clinic.patients import add_patient
from keta_tui.clinic.states import ACTIVE_STATUSES, TRANSITIONS
from keta_tui.clinic.store import writing
from keta_tui.db.models import AuditEntry, Course, Patient, Session, StatusChange

from .conftest import FROZEN_NOW
from .test_lifecycle import PASSING

TREATMENTS = ("iv-ketamine", "esketamine-56", "esketamine-84")
CHAIRS = (None, "Chair 1", "Chair 4", "Chair 5")
PATIENTS = 3
# Ten days from the frozen Tuesday: a weekend and Thanksgiving (Thu 2026-11-26) included.
DAYS = 10
FIRST_DAY = dt.date(2026, 11, 17)

index = st.integers(0, 50)
when = st.tuples(st.integers(0, DAYS - 1), st.integers(7 * 4, 18 * 4))  # (day, quarter hour of the day)
operations = st.lists(st.one_of(
    st.tuples(st.just("book"), st.integers(0, PATIENTS - 1), st.sampled_from(TREATMENTS), when,
              st.sampled_from(CHAIRS)),
    st.tuples(st.just("course"), st.integers(0, PATIENTS - 1), st.integers(0, DAYS - 1)),
    st.tuples(st.just("reschedule"), index, when, st.sampled_from(CHAIRS)),
    st.tuples(st.just("check_in"), index, st.booleans()),
    st.tuples(st.just("advance"), index),
    st.tuples(st.just("advance"), index),
    st.tuples(st.just("advance"), index),
    st.tuples(st.just("cancel"), index),
    st.tuples(st.just("no_show"), index),
    st.tuples(st.just("defer"), index),
    st.tuples(st.just("undo"), index),
    st.tuples(st.just("undo"), index),
    st.tuples(st.just("tick"), st.integers(5, 600)),
), min_size=1, max_size=30)


def _start_local(day_and_quarter) -> dt.datetime:
    day, quarter = day_and_quarter
    return dt.datetime.combine(FIRST_DAY + dt.timedelta(days=day), dt.time()) + dt.timedelta(minutes=15 * quarter)


def _empty_clinic() -> None:
    with writing():
        for model in (StatusChange, AuditEntry, Session, Course, Patient):
            model.delete().execute()


def _run(op, db, now: dt.datetime, patient_ids: list[int]) -> dt.datetime:
    """Carry out one operation; returns the clock after it."""
    kind, *args = op
    s = db.settings
    session_ids = [i for (i,) in Session.select(Session.id).order_by(Session.id).tuples()]
    pick = (lambda n: session_ids[n % len(session_ids)]) if session_ids else None
    if kind == "tick":
        return now + dt.timedelta(minutes=args[0])
    if kind == "book":
        patient, treatment, at, chair = args
        book_session(s, patient_id=patient_ids[patient], treatment_code=treatment, start_local=_start_local(at),
                     chair_name=chair, actor="prop", now=now, suggest=0)
    elif kind == "course":
        patient, day = args
        plan = plan_course(s, patient_id=patient_ids[patient], protocol_code="iv-induction",
                           start_on=FIRST_DAY + dt.timedelta(days=day), at=dt.time(12, 0), now=now)
        book_course(s, plan, actor="prop", now=now)
    elif pick is None:
        return now
    elif kind == "reschedule":
        reschedule(s, pick(args[0]), start_local=_start_local(args[1]), chair_name=args[2], actor="prop", now=now,
                   suggest=0)
    elif kind == "check_in":
        answers = PASSING if args[1] else GateAnswers(fasting=True)
        check_in(s, pick(args[0]), answers, actor="prop", now=now)
    elif kind == "advance":
        lifecycle.advance(s, pick(args[0]), actor="prop", now=now)
    elif kind == "cancel":
        lifecycle.cancel(s, pick(args[0]), reason="prop", actor="prop", now=now)
    elif kind == "no_show":
        lifecycle.no_show(s, pick(args[0]), actor="prop", now=now)
    elif kind == "defer":
        lifecycle.defer(s, pick(args[0]), reason="prop", actor="prop", now=now)
    elif kind == "undo":
        lifecycle.undo(s, pick(args[0]), actor="prop", now=now)
    return now


def _overlaps() -> list[tuple]:
    active = list(Session.select(Session.id, Session.chair, Session.patient, Session.start_at, Session.end_at,
                                 Session.busy_until).where(Session.status.in_(ACTIVE_STATUSES)).tuples())
    clashes = []
    for n, (a_id, a_chair, a_patient, a_start, a_end, a_busy) in enumerate(active):
        for b_id, b_chair, b_patient, b_start, b_end, b_busy in active[n + 1:]:
            if a_chair is not None and a_chair == b_chair and a_start < b_busy and b_start < a_busy:
                clashes.append(("chair", a_id, b_id))
            if a_patient == b_patient and a_start < b_end and b_start < a_end:
                clashes.append(("patient", a_id, b_id))
    return clashes


def _check_invariants(db) -> None:
    assert _overlaps() == []
    tz = db.settings.tz
    for session_id, start_at in Session.select(Session.id, Session.start_at).tuples():
        day = to_local(start_at, tz).date()
        assert db.settings.closure_reason(day) is None, (session_id, day)

    history = defaultdict(list)
    for change in StatusChange.select().order_by(StatusChange.id):
        assert change.to_status in TRANSITIONS[change.from_status], (change.from_status, change.to_status)
        history[change.session_id].append(change)
    undos = defaultdict(int)
    for (entity_id,) in AuditEntry.select(AuditEntry.entity_id).where(AuditEntry.action == "session.undo").tuples():
        undos[entity_id] += 1
    for session_id, status, version in Session.select(Session.id, Session.status, Session.version).tuples():
        changes = history[session_id]
        status_now = "scheduled"
        for change in changes:
            if not change.undone:
                assert change.from_status == status_now, (session_id, [(c.from_status, c.to_status) for c in changes])
                status_now = change.to_status
        assert status_now == status, session_id
        # Each undo reversed exactly one recorded step.
        assert undos[session_id] == sum(change.undone for change in changes)
        stamp = lifecycle.STEP_STAMP.get(status)
        if stamp:
            assert getattr(Session.get_by_id(session_id), stamp) is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(ops=operations)
def test_random_desk_work_keeps_the_schedule_sound(clinic_db, ops):
    _empty_clinic()
    patient_ids = [add_patient(first_name=f"Prop{n}", last_name="Testperson", consent_expires_on=dt.date(2027, 6, 1),
                               rems_enrolled=True, actor="prop", now=FROZEN_NOW).id for n in range(PATIENTS)]
    now = FROZEN_NOW
    for op in ops:
        try:
            now = _run(op, clinic_db, now, patient_ids)
            event(f"{op[0]}: done")  # --hypothesis-show-statistics shows what the runs exercised
        except KetaError as refusal:
            # A refusal or bad input is a fine answer; what matters is what was written.
            event(f"{op[0]}: {getattr(refusal, 'reason', 'bad input')}")
        _check_invariants(clinic_db)
