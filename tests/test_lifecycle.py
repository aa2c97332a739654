"""Session lifecycle: every step, every refusal message, and undo of each kind of step."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from keta_tui.clinic import lifecycle, patients
from keta_tui.clinic.booking import book_session, reschedule
from keta_tui.clinic.errors import BadInput, NotFound, Refused, StaleEdit
from keta_tui.clinic.gate import GateAnswers, check_in
from keta_tui.clinic.store import writing
from keta_tui.db.models import AuditEntry, Chair, Session, StatusChange

from .conftest import FROZEN_NOW

NY = "America/New_York"
# The frozen morning is Tue 2026-11-17 10:00 in New York.
DAY = dt.date(2026, 11, 17)
PASSING = GateAnswers(escort_name="Sam Escort", escort_phone="555-0100", fasting=True, consent_ok=True,
                      rems_enrolled=True, bp_systolic=128, bp_diastolic=82, phq9=12)


# --- helpers shared by the lifecycle, gate, forms and property tests ----------------


def add_patient(first: str = "Ada", last: str = "Testperson", *, consent: dt.date | None = dt.date(2027, 6, 1),
                rems: bool = True, escort_name: str = "", escort_phone: str = "") -> int:
    return patients.add_patient(first_name=first, last_name=last, consent_expires_on=consent, rems_enrolled=rems,
                                escort_name=escort_name, escort_phone=escort_phone, actor="test-desk",
                                now=FROZEN_NOW).id


def local(db, day: dt.date, hhmm: str) -> dt.datetime:
    """An aware instant at a clinic wall-clock time."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=db.settings.tz)


def book(db, patient_id: int, hhmm: str, *, day: dt.date = DAY, treatment: str = "iv-ketamine",
         chair: str | None = None) -> int:
    start = dt.datetime.combine(day, dt.time(*(int(p) for p in hhmm.split(":"))))
    return book_session(db.settings, patient_id=patient_id, treatment_code=treatment, start_local=start,
                        chair_name=chair, actor="test-desk", now=db.clock.now(), suggest=0).id


def session(session_id: int) -> Session:
    return Session.get_by_id(session_id)


def walk(db, session_id: int, to: str, *, at: dt.datetime, answers: GateAnswers = PASSING) -> None:
    """Take a session along the desk's forward path up to ``to``, each step at ``at``+n min."""
    path = ["confirmed", "arrived", "seated", "dosing", "monitoring", "ready_to_leave", "discharged"]
    step_at = at
    for step in path[: path.index(to) + 1]:
        if step == "arrived":
            check_in(db.settings, session_id, answers, actor="test-desk", now=step_at)
        elif step == "ready_to_leave":
            spec = db.settings.treatment(session(session_id).treatment.code)
            step_at = spec.earliest_ready(session(session_id).dosing_at).replace(tzinfo=dt.timezone.utc)
            lifecycle.advance(db.settings, session_id, actor="test-desk", now=step_at)
        else:
            lifecycle.advance(db.settings, session_id, to=step, actor="test-desk", now=step_at)
        step_at += dt.timedelta(minutes=5)


def changes_of(session_id: int) -> list[tuple[str, str, bool]]:
    return list(StatusChange.select(StatusChange.from_status, StatusChange.to_status, StatusChange.undone)
                .where(StatusChange.session == session_id).order_by(StatusChange.id).tuples())


# --- forward steps ------------------------------------------------------------------


def test_full_path_stamps_each_step_records_history_and_bumps_version(clinic_db):
    patient = add_patient()
    sid = book(clinic_db, patient, "10:30")
    start = local(clinic_db, DAY, "10:20")
    walk(clinic_db, sid, "discharged", at=start)
    row = session(sid)
    assert row.status == "discharged"
    for column in lifecycle.STEP_STAMP.values():
        assert getattr(row, column) is not None, column
    assert row.seated_at < row.dosing_at < row.monitoring_at < row.ready_at < row.discharged_at
    # IV: 40 min infusion + 45 min monitoring from the start of dosing.
    assert row.ready_at - row.dosing_at == dt.timedelta(minutes=85)
    assert [c[:2] for c in changes_of(sid)] == [
        ("scheduled", "confirmed"), ("confirmed", "arrived"), ("arrived", "seated"), ("seated", "dosing"),
        ("dosing", "monitoring"), ("monitoring", "ready_to_leave"), ("ready_to_leave", "discharged")]
    assert row.version == 8
    actions = [a for (a,) in AuditEntry.select(AuditEntry.action)
               .where(AuditEntry.entity == "session", AuditEntry.entity_id == sid)
               .order_by(AuditEntry.id).tuples()]
    assert actions[1:] == ["session.confirmed", "session.arrived", "session.seated", "session.dosing",
                           "session.monitoring", "session.ready_to_leave", "session.discharged"]
    assert row.form_due_on is None  # IV ketamine owes no REMS form


def test_advance_without_target_takes_the_next_step_and_returns_the_result(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00")
    now = clinic_db.clock.now()
    result = lifecycle.advance(clinic_db.settings, sid, actor="desk-2", now=now)
    assert result == lifecycle.StepResult(sid, "scheduled", "confirmed", now, 2, ())
    row = session(sid)
    assert row.confirmed_at == now.replace(tzinfo=None) and row.updated_by == "desk-2"
    assert lifecycle.advance(clinic_db.settings, sid, actor="desk-2", now=now).to_status == "arrived"


def test_wrong_edge_is_refused_listing_the_allowed_steps(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00")
    with pytest.raises(Refused) as refused:
        lifecycle.advance(clinic_db.settings, sid, to="dosing", actor="test-desk", now=clinic_db.clock.now())
    assert refused.value.reason == "transition"
    assert refused.value.allowed == ("confirmed", "arrived", "cancelled", "no_show", "rescheduled",
                                     "entered_in_error")
    assert str(refused.value) == (f"refused: session {sid} is scheduled and cannot go to dosing; allowed next: "
                                  "confirmed, arrived, cancelled, no_show, rescheduled, entered_in_error")
    assert session(sid).status == "scheduled" and changes_of(sid) == []


def test_no_next_step_after_discharge_and_none_at_all_once_closed(clinic_db):
    sid = book(clinic_db, add_patient(), "10:30")
    walk(clinic_db, sid, "discharged", at=local(clinic_db, DAY, "10:20"))
    later = local(clinic_db, DAY, "13:00")
    with pytest.raises(Refused, match="allowed next: entered_in_error$"):
        lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=later)
    other = book(clinic_db, add_patient("Bo"), "14:00")
    lifecycle.cancel(clinic_db.settings, other, reason="unwell", actor="test-desk", now=later)
    with pytest.raises(Refused, match=r"allowed next: none \(the session is closed\)") as refused:
        lifecycle.advance(clinic_db.settings, other, actor="test-desk", now=later)
    assert refused.value.allowed == ()


def test_unknown_state_and_exits_through_advance_are_bad_input(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00")
    now = clinic_db.clock.now()
    with pytest.raises(BadInput, match="unknown state 'flying'"):
        lifecycle.advance(clinic_db.settings, sid, to="flying", actor="test-desk", now=now)
    with pytest.raises(BadInput, match="cancelled is its own action: use cancel, with a reason"):
        lifecycle.advance(clinic_db.settings, sid, to="cancelled", actor="test-desk", now=now)
    with pytest.raises(NotFound, match="no session 9999"):
        lifecycle.advance(clinic_db.settings, 9999, actor="test-desk", now=now)


def test_arrival_is_refused_before_the_sessions_day(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00", day=DAY + dt.timedelta(days=1))
    with pytest.raises(Refused, match=r"is on Wed 2026-11-18; a patient can be checked in from that day") as refused:
        lifecycle.advance(clinic_db.settings, sid, to="arrived", actor="test-desk", now=clinic_db.clock.now())
    assert refused.value.reason == "too_early"


def test_seating_needs_a_chair_in_service_and_free_of_the_last_patient(clinic_db):
    first = book(clinic_db, add_patient(), "10:00", chair="Chair 4")
    second = book(clinic_db, add_patient("Bo"), "11:45", chair="Chair 4")
    walk(clinic_db, first, "monitoring", at=local(clinic_db, DAY, "10:00"))
    walk(clinic_db, second, "arrived", at=local(clinic_db, DAY, "11:40"))
    seat_at = local(clinic_db, DAY, "11:45")
    with pytest.raises(Refused, match=f"Chair 4 still holds session {first} \\(monitoring\\)") as refused:
        lifecycle.advance(clinic_db.settings, second, actor="test-desk", now=seat_at)
    assert refused.value.reason == "chair_occupied"

    with writing():
        Chair.update(out_of_service_reason="pump broken").where(Chair.name == "Chair 4").execute()
    with pytest.raises(Refused, match=r"Chair 4 is out of service \(pump broken\)"):
        lifecycle.advance(clinic_db.settings, second, actor="test-desk", now=seat_at)

    with writing():
        Session.update(chair=None).where(Session.id == second).execute()
    with pytest.raises(Refused, match="has no chair; reschedule it onto a chair first") as refused:
        lifecycle.advance(clinic_db.settings, second, actor="test-desk", now=seat_at)
    assert refused.value.reason == "chair"


def test_dosing_is_refused_until_a_check_in_passes_the_gate(clinic_db):
    sid = book(clinic_db, add_patient(), "10:30")
    at = local(clinic_db, DAY, "10:20")
    no_escort = GateAnswers(fasting=True, consent_ok=True, bp_systolic=120, bp_diastolic=80)
    step, result = check_in(clinic_db.settings, sid, no_escort, actor="test-desk", now=at)
    assert step.to_status == "arrived" and not result.passed and "gate_failed" in step.flags
    lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=at)
    with pytest.raises(Refused, match=f"session {sid} has not passed the check-in gate: escort name and phone "
                                      "missing; check the patient in again or defer") as refused:
        lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=at)
    assert refused.value.reason == "gate"
    # Checked in again while seated: the answers change, the status does not.
    step, result = check_in(clinic_db.settings, sid, PASSING, actor="test-desk", now=at)
    assert result.passed and (step.from_status, step.to_status) == ("seated", "seated")
    assert lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=at).to_status == "dosing"


def test_dosing_without_any_check_in_names_every_required_item(clinic_db):
    sid = book(clinic_db, add_patient(consent=None), "10:30")
    at = local(clinic_db, DAY, "10:20")
    for _ in range(3):  # confirmed, arrived (no check-in), seated
        lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=at)
    with pytest.raises(Refused) as refused:
        lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=at)
    for item in ("escort name and phone missing", "fasting not confirmed", "no consent date on file",
                 "blood pressure not taken"):
        assert item in str(refused.value)
    assert "PHQ-9" not in str(refused.value)  # optional items never block


def test_ready_to_leave_is_refused_before_minimum_monitoring_saying_when(clinic_db):
    sid = book(clinic_db, add_patient(), "10:30")
    walk(clinic_db, sid, "monitoring", at=local(clinic_db, DAY, "10:40"))
    dosing_at = session(sid).dosing_at  # 10:55 local
    too_soon = local(clinic_db, DAY, "12:19")
    with pytest.raises(Refused) as refused:
        lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=too_soon)
    assert refused.value.reason == "monitoring"
    assert str(refused.value) == (f"refused: minimum monitoring for session {sid} ends at 12:20; "
                                  "ready to leave is possible from then")
    assert dosing_at + dt.timedelta(minutes=85) == local(clinic_db, DAY, "12:20").astimezone(
        dt.timezone.utc).replace(tzinfo=None)
    result = lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=local(clinic_db, DAY, "12:20"))
    assert result.to_status == "ready_to_leave"


def test_esketamine_monitoring_sets_the_form_due_date_in_clinic_days(clinic_db):
    sid = book(clinic_db, add_patient(), "15:30", treatment="esketamine-56")
    # Dosing late in the evening: already the next day in UTC, still the 17th at the clinic.
    walk(clinic_db, sid, "dosing", at=local(clinic_db, DAY, "19:30"))
    assert session(sid).dosing_at.date() == DAY + dt.timedelta(days=1)
    lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=local(clinic_db, DAY, "19:50"))
    assert session(sid).form_due_on == DAY + dt.timedelta(days=7)


def test_stale_version_is_refused_saying_who_changed_it(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00")
    version = session(sid).version
    lifecycle.advance(clinic_db.settings, sid, actor="desk-2", now=clinic_db.clock.now(), version=version)
    with pytest.raises(StaleEdit, match="this session was changed by desk-2 at 15:00 UTC; reload and try again"):
        lifecycle.advance(clinic_db.settings, sid, actor="desk-1", now=clinic_db.clock.now(), version=version)
    with pytest.raises(StaleEdit):
        lifecycle.cancel(clinic_db.settings, sid, reason="x", actor="desk-1", now=clinic_db.clock.now(),
                         version=version)


# --- exits --------------------------------------------------------------------------


def test_cancel_needs_a_reason_and_stores_it(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00", day=DAY + dt.timedelta(days=3))
    with pytest.raises(BadInput, match="a reason is required to cancel"):
        lifecycle.cancel(clinic_db.settings, sid, reason="  ", actor="test-desk", now=clinic_db.clock.now())
    result = lifecycle.cancel(clinic_db.settings, sid, reason="[bold]car broke[/]", actor="test-desk",
                              now=clinic_db.clock.now())
    row = session(sid)
    assert (result.to_status, result.flags) == ("cancelled", ())
    assert row.close_reason == "[bold]car broke[/]" and row.closed_at is not None and not row.late_cancel


@pytest.mark.parametrize("seconds_after_notice, late", [(0, False), (1, True)])
def test_late_cancel_boundary_is_exactly_the_notice_period(clinic_db, seconds_after_notice, late):
    # Wed 2026-11-18 11:00; 24 h before is Tue 11:00 local.
    sid = book(clinic_db, add_patient(), "11:00", day=DAY + dt.timedelta(days=1))
    now = local(clinic_db, DAY, "11:00") + dt.timedelta(seconds=seconds_after_notice)
    result = lifecycle.cancel(clinic_db.settings, sid, reason="unwell", actor="test-desk", now=now)
    assert session(sid).late_cancel is late
    assert result.flags == (("late_cancel",) if late else ())


def test_no_show_only_from_the_start_time(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00")
    with pytest.raises(Refused, match=f"session {sid} starts at 11:00; a no-show can be marked from then"):
        lifecycle.no_show(clinic_db.settings, sid, actor="test-desk", now=local(clinic_db, DAY, "10:59"))
    result = lifecycle.no_show(clinic_db.settings, sid, actor="test-desk", now=local(clinic_db, DAY, "11:00"))
    assert result.to_status == "no_show" and session(sid).closed_at is not None
    assert lifecycle.advance(clinic_db.settings, book(clinic_db, add_patient("Cy"), "12:00"), to="no_show",
                             actor="test-desk", now=local(clinic_db, DAY, "12:30")).to_status == "no_show"


def test_defer_left_untreated_and_in_error_need_reasons_and_allowed_edges(clinic_db):
    at = local(clinic_db, DAY, "10:50")
    settings = clinic_db.settings
    scheduled = book(clinic_db, add_patient(), "11:00")
    with pytest.raises(Refused, match="is scheduled and cannot go to deferred") as refused:
        lifecycle.defer(settings, scheduled, reason="gate", actor="test-desk", now=at)
    assert "deferred" not in refused.value.allowed
    with pytest.raises(BadInput, match="a reason is required to defer"):
        lifecycle.defer(settings, scheduled, reason="", actor="test-desk", now=at)
    walk(clinic_db, scheduled, "arrived", at=at)
    assert lifecycle.defer(settings, scheduled, reason="BP high", actor="test-desk", now=at).to_status == "deferred"

    left = book(clinic_db, add_patient("Bo"), "11:00", chair="Chair 5", treatment="esketamine-56")
    walk(clinic_db, left, "seated", at=at)
    assert lifecycle.left_without_treatment(settings, left, reason="changed mind", actor="test-desk",
                                            now=at).to_status == "left_without_treatment"

    voided = book(clinic_db, add_patient("Cy"), "13:00")
    walk(clinic_db, voided, "dosing", at=local(clinic_db, DAY, "13:00"))
    with pytest.raises(BadInput):
        lifecycle.entered_in_error(settings, voided, reason=" ", actor="test-desk", now=at)
    assert lifecycle.entered_in_error(settings, voided, reason="wrong patient", actor="test-desk",
                                      now=at).to_status == "entered_in_error"


# --- undo ---------------------------------------------------------------------------


def _to_state(db, sid: int, state: str) -> None:
    at = local(db, DAY, "10:20")
    if state in ("cancelled", "no_show"):
        service = lifecycle.no_show if state == "no_show" else lifecycle.cancel
        extra = {} if state == "no_show" else {"reason": "unwell"}
        service(db.settings, sid, actor="test-desk", now=local(db, DAY, "10:45"), **extra)
    elif state in ("deferred", "entered_in_error"):
        walk(db, sid, "arrived", at=at)
        service = lifecycle.defer if state == "deferred" else lifecycle.entered_in_error
        service(db.settings, sid, reason="because", actor="test-desk", now=at)
    else:
        walk(db, sid, state, at=at)


@pytest.mark.parametrize("state, previous, column", [
    ("confirmed", "scheduled", "confirmed_at"),
    ("arrived", "confirmed", "arrived_at"),
    ("seated", "arrived", "seated_at"),
    ("dosing", "seated", "dosing_at"),
    ("monitoring", "dosing", "monitoring_at"),
    ("ready_to_leave", "monitoring", "ready_at"),
    ("discharged", "ready_to_leave", "discharged_at"),
    ("cancelled", "scheduled", "closed_at"),
    ("no_show", "scheduled", "closed_at"),
    ("deferred", "arrived", "closed_at"),
    ("entered_in_error", "arrived", "closed_at"),
])
def test_undo_reverses_each_kind_of_step(clinic_db, state, previous, column):
    sid = book(clinic_db, add_patient(), "10:30", treatment="esketamine-56")
    _to_state(clinic_db, sid, state)
    before = session(sid)
    assert before.status == state and getattr(before, column) is not None
    result = lifecycle.undo(clinic_db.settings, sid, actor="desk-2", now=local(clinic_db, DAY, "13:00"))
    row = session(sid)
    assert (result.from_status, result.to_status, result.flags) == (state, previous, ("undo",))
    assert row.status == previous and getattr(row, column) is None
    assert row.version == before.version + 1 == result.version
    assert changes_of(sid)[-1] == (previous, state, True)
    assert row.close_reason == "" and not row.late_cancel
    if state == "monitoring":
        assert before.form_due_on is not None and row.form_due_on is None
    entry = (AuditEntry.select().where(AuditEntry.entity == "session", AuditEntry.entity_id == sid)
             .order_by(AuditEntry.id.desc()).first())
    assert (entry.action, entry.actor) == ("session.undo", "desk-2")
    assert json.loads(entry.before_json)["status"] == state and json.loads(entry.after_json)["status"] == previous


def test_undo_steps_back_one_at_a_time_then_has_nothing_left(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00")
    now = clinic_db.clock.now()
    with pytest.raises(Refused, match=f"session {sid} has no step to undo") as refused:
        lifecycle.undo(clinic_db.settings, sid, actor="test-desk", now=now)
    assert refused.value.reason == "undo"
    lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=now)
    lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=now)
    assert lifecycle.undo(clinic_db.settings, sid, actor="test-desk", now=now).to_status == "confirmed"
    assert lifecycle.undo(clinic_db.settings, sid, actor="test-desk", now=now).to_status == "scheduled"
    with pytest.raises(Refused, match="no step to undo"):
        lifecycle.undo(clinic_db.settings, sid, actor="test-desk", now=now)
    # A step taken again after an undo is a fresh, kept step.
    lifecycle.advance(clinic_db.settings, sid, to="arrived", actor="test-desk", now=now)
    assert changes_of(sid) == [("scheduled", "confirmed", True), ("confirmed", "arrived", True),
                               ("scheduled", "arrived", False)]


def test_undo_of_a_reschedule_is_refused_naming_the_replacement(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00")
    replacement = reschedule(clinic_db.settings, sid, start_local=dt.datetime(2026, 11, 18, 11, 0),
                             chair_name=None, actor="test-desk", now=clinic_db.clock.now()).id
    with pytest.raises(Refused, match=f"a reschedule cannot be undone: session {sid} was replaced by session "
                                      f"{replacement}; reschedule that one instead") as refused:
        lifecycle.undo(clinic_db.settings, sid, actor="test-desk", now=clinic_db.clock.now())
    assert refused.value.reason == "undo" and session(sid).status == "rescheduled"


def test_undo_of_a_cancel_is_refused_when_the_slot_was_booked_since(clinic_db):
    patient = add_patient()
    sid = book(clinic_db, patient, "11:00", chair="Chair 4")
    now = clinic_db.clock.now()
    lifecycle.cancel(clinic_db.settings, sid, reason="unwell", actor="test-desk", now=now)
    taker = book(clinic_db, add_patient("Bo"), "11:30", chair="Chair 4")
    with pytest.raises(Refused, match=f"cannot undo: the chair is now booked for session {taker} at 11:30; "
                                      "book a new time instead") as refused:
        lifecycle.undo(clinic_db.settings, sid, actor="test-desk", now=now)
    assert refused.value.reason == "chair_taken" and session(sid).status == "cancelled"

    lifecycle.cancel(clinic_db.settings, taker, reason="moved", actor="test-desk", now=now)
    own = book(clinic_db, patient, "12:00", chair="Chair 1")
    with pytest.raises(Refused, match=f"cannot undo: the patient now has session {own} at 12:00") as refused:
        lifecycle.undo(clinic_db.settings, sid, actor="test-desk", now=now)
    assert refused.value.reason == "patient_busy"
    lifecycle.cancel(clinic_db.settings, own, reason="moved", actor="test-desk", now=now)
    assert lifecycle.undo(clinic_db.settings, sid, actor="test-desk", now=now).to_status == "scheduled"


def test_an_induction_no_show_re_plans_the_course_and_cannot_then_be_undone(clinic_db):
    from keta_tui.clinic.course_plan import plan_course
    from keta_tui.clinic.courses import book_course

    settings = clinic_db.settings
    plan = plan_course(settings, patient_id=add_patient(), protocol_code="iv-induction",
                       start_on=dt.date(2026, 11, 18), at=dt.time(11, 0), now=clinic_db.clock.now())
    course = book_course(settings, plan, actor="test-desk", now=clinic_db.clock.now())
    first = Session.get((Session.course == course) & (Session.number == 1))
    result = lifecycle.no_show(settings, first.id, actor="test-desk",
                               now=local(clinic_db, dt.date(2026, 11, 18), "11:30"))
    assert result.flags == ("course_reflowed",)
    active = [n for (n,) in Session.select(Session.number).where(
        Session.course == course, Session.status.in_(lifecycle.ACTIVE_STATUSES)).order_by(Session.number).tuples()]
    assert active == [1, 2, 3, 4, 5, 6]  # the course keeps all its sessions
    with pytest.raises(Refused, match="the course was re-planned after this no-show") as refused:
        lifecycle.undo(settings, first.id, actor="test-desk", now=clinic_db.clock.now())
    assert refused.value.reason == "undo" and Session.get_by_id(first.id).status == "no_show"


def test_two_desks_taking_the_same_step_at_once_one_wins_the_other_is_told_who(clinic_db, tmp_path):
    from .test_concurrent_booking import assert_one_winner, race

    sid = book(clinic_db, add_patient(), "11:00")
    desks = [["--db", clinic_db.target, "--as", f"desk-{n}", "advance", str(sid), "--version", "1"] for n in range(2)]
    assert_one_winner(race(tmp_path, desks), "this session was changed by desk-")
    assert session(sid).status == "confirmed" and len(changes_of(sid)) == 1


def test_undo_with_the_version_seen_reverses_one_step_not_two(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00")
    now = clinic_db.clock.now()
    lifecycle.advance(clinic_db.settings, sid, actor="desk-1", now=now)
    lifecycle.advance(clinic_db.settings, sid, actor="desk-1", now=now)
    seen = session(sid).version
    lifecycle.undo(clinic_db.settings, sid, actor="desk-1", now=now, version=seen)
    with pytest.raises(StaleEdit, match="changed by desk-1"):
        lifecycle.undo(clinic_db.settings, sid, actor="desk-2", now=now, version=seen)
    assert session(sid).status == "confirmed"
