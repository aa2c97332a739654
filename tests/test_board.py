"""The day board as data: chair states and flags at chosen times, loading, JSON, DST."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from playhouse.test_utils import count_queries

from keta_tui.clinic import board
from keta_tui.clinic.board import ChairRow, SessionRow, chair_states, session_flags
from keta_tui.clinic.clock import to_utc
from keta_tui.clinic.settings import example_settings
from keta_tui.clinic.store import writing
from keta_tui.db.models import Chair, Course, Patient, Protocol, Session, Treatment

SETTINGS = example_settings()
TZ = SETTINGS.tz
DAY = dt.date(2026, 11, 17)  # a Tuesday


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def make_row(status="scheduled", start=(10, 0), treatment="iv-ketamine", chair_id=1, **extra) -> SessionRow:
    spec = SETTINGS.treatment(treatment)
    begin = at(*start)
    _, end, busy = spec.span(begin)
    dosing = extra.pop("dosing_at", None)
    values = dict(
        id=extra.pop("id", 1), start=begin, end=end, patient_id=1, patient_name="Stone, Ann", patient_initials="A.S.",
        phone="212-555-0100", treatment_code=treatment, treatment_name=spec.name, route=spec.route,
        chair_id=chair_id, chair_name=f"Chair {chair_id}" if chair_id else None, status=status, course_id=None,
        number=None, of=None, phase="", escort_name="Bo Stone", escort_phone="212-555-0101", arrived_at=None,
        seated_at=None, dosing_at=dosing, monitoring_at=None, ready_at=None, discharged_at=None,
        earliest_ready=spec.earliest_ready(dosing) if dosing else None, flags=(), version=1, busy_until=busy,
        turnover_minutes=spec.turnover_minutes, consent_expires_on=DAY + dt.timedelta(days=200), rems_enrolled=True,
    )
    values.update(extra)
    return SessionRow(**values)


CHAIRS = (ChairRow(id=1, name="Chair 1", routes=("iv", "nasal"), state="available", session_id=None,
                   patient_name=None, patient_initials=None, treatment_code=None, milestone="", milestone_at=None,
                   since=None, overdue=False, reason=""),)


def state_at(rows, now):
    (chair,) = chair_states(CHAIRS, rows, SETTINGS, now)
    return chair


# --- chair states (pure) -------------------------------------------------------------


def test_a_chair_moves_through_its_day_as_time_passes():
    """One IV session, re-read at successive times: the board needs no query to follow it."""
    booked = make_row("confirmed", start=(10, 0))
    assert state_at([booked], at(9, 0)).state == "available"
    assert state_at([booked], at(9, 0)).milestone == "next patient"
    reserved = state_at([booked], at(9, 45))
    assert (reserved.state, reserved.session_id, reserved.milestone_at) == ("reserved", 1, at(10))
    assert not reserved.overdue and state_at([booked], at(10, 20)).overdue  # late past the grace

    seated = replace(booked, status="seated", seated_at=at(10, 1))
    assert state_at([seated], at(10, 2)).state == "seated"
    dosing = replace(seated, status="dosing", dosing_at=at(10, 5), earliest_ready=at(11, 30))
    chair = state_at([dosing], at(10, 20))
    assert (chair.state, chair.milestone, chair.milestone_at, chair.since) == ("dosing", "may leave", at(11, 30),
                                                                                 at(10, 5))
    monitoring = replace(dosing, status="monitoring", monitoring_at=at(10, 45))
    assert state_at([monitoring], at(11, 0)).state == "monitoring"
    assert not state_at([monitoring], at(11, 40)).overdue and state_at([monitoring], at(11, 50)).overdue
    ready = replace(monitoring, status="ready_to_leave", ready_at=at(11, 31))
    assert state_at([ready], at(11, 35)).state == "ready_to_leave"
    assert state_at([ready], at(11, 50)).overdue  # ready, not discharged past the grace
    left = replace(ready, status="discharged", discharged_at=at(11, 40))
    turnover = state_at([left], at(11, 45))
    assert (turnover.state, turnover.milestone_at, turnover.patient_name) == ("turnover", at(11, 55), None)
    assert state_at([left], at(11, 55)).state == "available"
    assert state_at([left], at(11, 55)).since == at(11, 55)


def test_turnover_overrunning_the_next_start_is_overdue():
    left = make_row("discharged", start=(8, 0), seated_at=at(8, 1), discharged_at=at(9, 50))
    following = make_row("confirmed", start=(10, 0), id=2)
    chair = state_at([left, following], at(10, 2))
    assert chair.state == "turnover" and chair.overdue
    assert not state_at([left, following], at(9, 55)).overdue


def test_out_of_service_wins_and_closed_sessions_do_not_reserve():
    broken = (replace(CHAIRS[0], reason="pump broken"),)
    (chair,) = chair_states(broken, [make_row("confirmed")], SETTINGS, at(9, 50))
    assert (chair.state, chair.reason) == ("out_of_service", "pump broken")
    cancelled = make_row("cancelled", late_cancel=True)
    assert state_at([cancelled], at(9, 50)).state == "available"


def test_a_patient_waiting_reserves_the_chair_early():
    arrived = make_row("arrived", start=(11, 0), arrived_at=at(10, 0))
    assert state_at([arrived], at(10, 5)).state == "reserved"


# --- flags (pure) ------------------------------------------------------------------


@pytest.mark.parametrize("row,now,flag", [
    (make_row("confirmed"), at(10, 16), "late"),
    (make_row("scheduled", escort_name=""), at(9), "no_escort"),
    (make_row("scheduled", consent_expires_on=DAY + dt.timedelta(days=10)), at(9), "consent_expiring"),
    (make_row("scheduled", consent_expires_on=DAY - dt.timedelta(days=1)), at(9), "consent_expired"),
    (make_row("scheduled", consent_expires_on=None), at(9), "no_consent"),
    (make_row("scheduled", treatment="esketamine-56", rems_enrolled=False), at(9), "rems_not_enrolled"),
    (make_row("discharged", treatment="esketamine-56", form_due_on=DAY + dt.timedelta(days=7)), at(12),
     "rems_form_due"),
    (make_row("discharged", treatment="esketamine-56", form_due_on=DAY - dt.timedelta(days=1)), at(12),
     "rems_form_overdue"),
    (make_row("deferred"), at(11), "gate_failed"),
    (make_row("arrived", bp_systolic=150, bp_diastolic=85), at(10), "bp_high"),
    (make_row("cancelled", late_cancel=True), at(9), "late_cancel"),
    (make_row("monitoring", dosing_at=at(10, 5)), at(11, 50), "overdue_discharge"),
    (make_row("scheduled", number=1, of=6, course_id=3), at(9), "first_session"),
])
def test_each_flag_is_raised_and_has_words(row, now, flag):
    flags = session_flags(row, SETTINGS, now)
    assert flag in flags
    assert board.FLAGS[flag] and replace(row, flags=flags).flag_words


def test_a_session_in_order_has_no_flags():
    assert session_flags(make_row("confirmed", number=2, of=6, course_id=3), SETTINGS, at(9)) == ()
    # On time, not yet past the grace; a booster numbered 1 is not a first session.
    assert session_flags(make_row("confirmed", number=1, of=1, kind="booster"), SETTINGS, at(10, 14)) == ()
    # BP at the flag line is not above it.
    assert session_flags(make_row("arrived", bp_systolic=140, bp_diastolic=90), SETTINGS, at(10)) == ()


def test_call_lists_from_rows():
    in_chair = make_row("monitoring", dosing_at=at(10, 5), id=1)
    later = make_row("dosing", dosing_at=at(10, 50), start=(10, 45), id=2, chair_id=2)
    waiting = make_row("confirmed", start=(13, 0), id=3)
    calls = board.pickup_list([in_chair, later, waiting], SETTINGS, at(11, 5))
    assert [c.session_id for c in calls] == [1]  # ready 11:30, within 30 min; the other at 12:15
    confirmations = board.confirmation_list([in_chair, waiting, make_row("scheduled", id=4)])
    assert [(c.session_id, c.confirmed) for c in confirmations] == [(3, True), (4, False)]


# --- from the database ---------------------------------------------------------------


def add_patient(first="Ann", last="Stone", **extra) -> Patient:
    values = dict(mrn=f"T{Patient.select().count() + 1:05d}", first_name=first, last_name=last,
                  search_name=f"{last} {first}".lower(), escort_name="Bo Stone", escort_phone="212-555-0101",
                  consent_expires_on=DAY + dt.timedelta(days=300), rems_enrolled=True)
    values.update(extra)
    return Patient.create(**values)


def add_session(patient, local_start: dt.datetime, treatment="iv-ketamine", chair="Chair 1", **extra) -> Session:
    spec = SETTINGS.treatment(treatment)
    start_utc = to_utc(local_start, TZ)
    start, end, busy = spec.span(start_utc)
    return Session.create(patient=patient, treatment=Treatment.get(code=treatment),
                          chair=Chair.get(name=chair) if chair else None, start_at=start, end_at=end,
                          busy_until=busy, **extra)


def test_load_day_reads_rows_in_three_queries_whatever_their_number(clinic_db):
    with writing():
        patient = add_patient()
        protocol = Protocol.get(code="iv-induction")
        course = Course.create(patient=patient, protocol=protocol, treatment=protocol.treatment, start_on=DAY,
                               planned_sessions=6)
        add_session(patient, dt.datetime(2026, 11, 17, 9, 0), course=course, number=1)
    with count_queries(only_select=True) as one:
        day = board.load_day(clinic_db.settings, DAY, now=clinic_db.clock.now())
    assert len(day.sessions) == 1
    with writing():
        for hour in range(8, 16, 2):
            for chair in ("Chair 2", "Chair 3"):
                add_session(add_patient(first=f"P{hour}{chair[-1]}"), dt.datetime(2026, 11, 17, hour), chair=chair)
    with count_queries(only_select=True) as many:
        day = board.load_day(clinic_db.settings, DAY, now=clinic_db.clock.now())
    assert len(day.sessions) == 9
    assert one.count == many.count == 3
    row = next(r for r in day.sessions if r.course_id is not None)
    assert (row.patient_name, row.patient_initials, row.number, row.of, row.course_label) == \
        ("Stone, Ann", "A.S.", 1, 6, "1/6")
    assert [c.name for c in day.chairs] == [c.name for c in clinic_db.settings.chairs]
    assert day.marker >= 1 and day.opening == (dt.time(8), dt.time(18)) and day.closure is None


def test_live_board_state_and_json_contract(clinic_db):
    now = clinic_db.clock.now()  # Tue 10:00 New York
    with writing():
        ann = add_patient()
        add_session(ann, dt.datetime(2026, 11, 17, 9, 0), status="monitoring",
                    seated_at=to_utc(dt.datetime(2026, 11, 17, 9, 1), TZ),
                    dosing_at=to_utc(dt.datetime(2026, 11, 17, 9, 3), TZ),
                    monitoring_at=to_utc(dt.datetime(2026, 11, 17, 9, 43), TZ))
        add_session(add_patient("Cy", "Reed", escort_name="", escort_phone=""), dt.datetime(2026, 11, 17, 10, 15),
                    chair="Chair 2", status="confirmed")
        add_session(add_patient("Di", "Moss"), dt.datetime(2026, 11, 17, 8, 0), chair=None, status="no_show")
        Chair.update(out_of_service_reason="pump broken").where(Chair.name == "Chair 4").execute()
    day = board.load_day(clinic_db.settings, DAY, now=now)
    states = {c.name: c.state for c in day.chairs}
    assert states["Chair 1"] == "monitoring" and states["Chair 2"] == "reserved"
    assert states["Chair 4"] == "out_of_service" and states["Chair 3"] == "available"
    monitoring = day.sessions[1]
    assert monitoring.earliest_ready == at(10, 28)  # 09:03 + 40 min infusion + 45 min monitoring
    assert "no_escort" in day.sessions[2].flags

    data = json.loads(json.dumps(board.day_to_json(day)))
    assert {"date", "clinic", "timezone", "chairs", "sessions"} <= set(data)
    assert data["date"] == "2026-11-17" and data["timezone"] == "America/New_York"
    assert data["chairs"][0] == {**data["chairs"][0], "name": "Chair 1", "state": "monitoring",
                                 "session": monitoring.id}
    first = data["sessions"][0]
    assert {"id", "start", "end", "patient", "treatment", "chair", "status", "course", "flags"} <= set(first)
    assert first["start"] == "2026-11-17T08:00:00-05:00" and first["chair"] is None
    assert first["patient"] == {"id": first["patient"]["id"], "name": "Moss, Di"} and first["course"] is None
    assert data["sessions"][1]["end"] == "2026-11-17T10:25:00-05:00"

    later = day.retimed(clinic_db.settings, at(10, 45))
    assert {c.name: c.state for c in later.chairs}["Chair 1"] == "monitoring"
    assert "overdue_discharge" in later.sessions[1].flags and "late" in later.sessions[2].flags


def test_dst_week_keeps_ten_oclock_at_ten(clinic_db):
    """Clocks go back on Sun 2026-11-01: 10:00 stays 10:00 on both sides, offsets differ."""
    with writing():
        patient = add_patient()
        add_session(patient, dt.datetime(2026, 10, 30, 10, 0))  # Friday, EDT
        add_session(patient, dt.datetime(2026, 11, 2, 10, 0))  # Monday, EST
    now = dt.datetime(2026, 10, 29, 12, 0, tzinfo=dt.timezone.utc)
    before = board.load_day(clinic_db.settings, dt.date(2026, 10, 30), now=now)
    after = board.load_day(clinic_db.settings, dt.date(2026, 11, 2), now=now)
    assert [r.start.strftime("%H:%M") for r in before.sessions + after.sessions] == ["10:00", "10:00"]
    assert board.day_to_json(before)["sessions"][0]["start"] == "2026-10-30T10:00:00-04:00"
    assert board.day_to_json(after)["sessions"][0]["start"] == "2026-11-02T10:00:00-05:00"
    week = board.load_upcoming(clinic_db.settings, dt.date(2026, 10, 29), 7, now=now)
    assert [(d.day.isoformat(), [r.start.strftime("%H:%M") for r in d.sessions]) for d in week if d.sessions] == \
        [("2026-10-30", ["10:00"]), ("2026-11-02", ["10:00"])]
    closures = {d.day: d.closure for d in week if d.closure}
    assert closures[dt.date(2026, 10, 31)] == "closed on Sat"


def test_upcoming_leaves_out_closed_sessions_and_names_holidays(clinic_db):
    with writing():
        patient = add_patient()
        add_session(patient, dt.datetime(2026, 11, 24, 9, 0), status="cancelled", late_cancel=True)
        add_session(patient, dt.datetime(2026, 11, 25, 9, 0), status="confirmed")
    days = board.load_upcoming(clinic_db.settings, dt.date(2026, 11, 24), 3, now=clinic_db.clock.now())
    assert [len(d.sessions) for d in days] == [0, 1, 0]
    assert days[2].closure == "Thanksgiving Day" and days[2].opening is None
    data = board.schedule_to_json(days)
    assert [d["date"] for d in data["days"]] == ["2026-11-24", "2026-11-25", "2026-11-26"]


def test_confirmation_and_pickup_calls_from_the_database(clinic_db):
    with writing():
        add_session(add_patient(), dt.datetime(2026, 11, 18, 9, 0), status="scheduled")
        add_session(add_patient("Cy", "Reed"), dt.datetime(2026, 11, 18, 11, 0), status="confirmed",
                    confirmed_at=dt.datetime(2026, 11, 17, 14, 0))
        add_session(add_patient("Di", "Moss"), dt.datetime(2026, 11, 17, 8, 30), status="monitoring",
                    dosing_at=to_utc(dt.datetime(2026, 11, 17, 8, 40), TZ))
    calls = board.confirmation_calls(clinic_db.settings, dt.date(2026, 11, 18), now=clinic_db.clock.now())
    assert [(c.patient_name, c.confirmed) for c in calls] == [("Stone, Ann", False), ("Reed, Cy", True)]
    pickups = board.pickup_calls(clinic_db.settings, now=clinic_db.clock.now())
    assert [(p.patient_name, p.ready_by.strftime("%H:%M")) for p in pickups] == [("Moss, Di", "10:05")]
