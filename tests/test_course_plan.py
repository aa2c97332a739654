"""Course planning: rrule expansion, closures, DST, weekday overrides, chairs and conflicts."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from keta_tui.clinic.clock import to_utc
from keta_tui.clinic.course_plan import (
    expand_dates,
    parse_weekdays,
    phase_for_number,
    phase_weekdays,
    plan_course,
)
from keta_tui.clinic.errors import BadInput, NotFound
from keta_tui.clinic.settings import PhaseSpec, example_settings
from keta_tui.clinic.store import writing
from keta_tui.db.models import Chair, Patient, Session, Treatment

D = dt.date
MON, TUE, WED, THU, FRI = range(5)
SETTINGS = example_settings()


def add_patient(mrn: str = "SYN-1", first: str = "Ada", last: str = "Sample") -> int:
    with writing():
        return Patient.create(mrn=mrn, first_name=first, last_name=last,
                              search_name=f"{last} {first}".lower()).id


def occupy(settings, *, chair: str, patient_id: int, start_local: dt.datetime, end_local: dt.datetime,
           treatment: str = "iv-ketamine") -> int:
    """A session row holding a chair (and its patient) from start to end, wall clock."""
    tz = settings.tz
    start_at, end_at = to_utc(start_local, tz), to_utc(end_local, tz)
    with writing():
        return Session.create(
            patient=patient_id, treatment=Treatment.get(Treatment.code == treatment).id,
            chair=Chair.get(Chair.name == chair).id, status="scheduled", kind="single",
            start_at=start_at, end_at=end_at, busy_until=end_at).id


def fill_iv_chairs(settings, start_local: dt.datetime, end_local: dt.datetime) -> None:
    """Every IV-capable chair held by another patient from start to end."""
    for n, chair in enumerate(("Chair 1", "Chair 2", "Chair 3", "Chair 4")):
        occupy(settings, chair=chair, patient_id=add_patient(f"SYN-O{n}", "Other", f"Person{n}"),
               start_local=start_local, end_local=end_local)


def plan_iv_induction(clinic_db, patient_id: int, start_on: dt.date = D(2026, 11, 30)):
    return plan_course(clinic_db.settings, patient_id=patient_id, protocol_code="iv-induction",
                       start_on=start_on, at=dt.time(10, 0), now=clinic_db.clock.now())


def days_of(plan):
    return [s.start.date() for s in plan.sessions]


# --- pure expansion -------------------------------------------------------------------------


def test_iv_induction_is_mon_wed_fri_for_two_weeks_six_sessions_in_twelve_days():
    dates = expand_dates(SETTINGS, SETTINGS.protocol("iv-induction"), D(2026, 11, 30))
    days = [d.day for d in dates]
    assert days == [D(2026, 11, 30), D(2026, 12, 2), D(2026, 12, 4), D(2026, 12, 7), D(2026, 12, 9),
                    D(2026, 12, 11)]
    assert [d.weekday() for d in days] == [MON, WED, FRI] * 2
    assert (days[-1] - days[0]).days + 1 == 12
    assert all(d.note == "" for d in dates)


def test_spravato_label_schedule_twice_weekly_then_weekly_then_every_two_weeks():
    # Mon 1 Mar 2027: no closure on any pattern day of the next 15 weeks.
    dates = expand_dates(SETTINGS, SETTINGS.protocol("spravato-trd"), D(2027, 3, 1))
    week_1 = D(2027, 3, 1)

    def week(n, weekday):
        return week_1 + dt.timedelta(weeks=n - 1, days=weekday)

    expected = ([week(w, d) for w in (1, 2, 3, 4) for d in (MON, THU)]
                + [week(w, MON) for w in (5, 6, 7, 8)]
                + [week(w, MON) for w in (9, 11, 13, 15)])
    assert [d.day for d in dates] == expected
    assert [d.phase for d in dates] == ["induction"] * 8 + ["weekly"] * 4 + ["every-2-weeks"] * 4
    assert expected[-1] == D(2027, 6, 7)


def test_a_holiday_moves_the_session_to_the_next_pattern_day_and_keeps_all_six():
    dates = expand_dates(SETTINGS, SETTINGS.protocol("iv-induction"), D(2027, 1, 11))
    assert [d.day for d in dates] == [D(2027, 1, 11), D(2027, 1, 13), D(2027, 1, 15),
                                      D(2027, 1, 20), D(2027, 1, 22), D(2027, 1, 25)]
    assert D(2027, 1, 18) not in [d.day for d in dates]
    assert dates[3].note == "moved from Mon 18 Jan (Martin Luther King Jr. Day)"


def test_a_start_on_a_closed_or_off_pattern_day_moves_to_the_first_allowed_pattern_day():
    on_saturday = expand_dates(SETTINGS, SETTINGS.protocol("iv-induction"), D(2026, 11, 28))
    assert on_saturday[0].day == D(2026, 11, 30)
    on_tuesday = expand_dates(SETTINGS, SETTINGS.protocol("iv-induction"), D(2026, 12, 1))
    assert on_tuesday[0].day == D(2026, 12, 2)
    on_holiday = expand_dates(SETTINGS, SETTINGS.protocol("iv-induction"), D(2027, 1, 18))
    assert on_holiday[0].day == D(2027, 1, 20)
    assert "Martin Luther King" in on_holiday[0].note


def test_phases_start_in_the_week_after_the_previous_phase_ends_even_when_a_closure_pushed_it():
    # Thanksgiving (Thu 26 Nov 2026) pushes induction session 2 to the Monday after.
    dates = expand_dates(SETTINGS, SETTINGS.protocol("spravato-trd"), D(2026, 11, 23))
    induction = [d.day for d in dates if d.phase == "induction"]
    weekly = [d.day for d in dates if d.phase == "weekly"]
    assert len(induction) == 8 and induction[1] == D(2026, 11, 30)
    assert weekly[0] == induction[-1] + dt.timedelta(weeks=1) - dt.timedelta(days=induction[-1].weekday())
    assert len(dates) == 16


@pytest.mark.parametrize("override, per_week, expected", [
    ((TUE, THU), 3, (TUE, THU)),
    ((MON, TUE, WED, THU, FRI), 3, (MON, WED, FRI)),
    ((MON, TUE, WED, THU, FRI), 2, (MON, FRI)),
    ((TUE, WED, THU), 1, (TUE,)),
    ((WED,), 2, (WED,)),
])
def test_weekday_override_keeps_the_weekly_count_where_possible(override, per_week, expected):
    phase = PhaseSpec("p", 6, tuple(range(per_week)), 1)
    assert phase_weekdays(phase, override) == expected
    assert phase_weekdays(phase, None) == phase.weekdays


def test_weekday_override_with_fewer_days_takes_more_weeks_not_fewer_sessions():
    dates = expand_dates(SETTINGS, SETTINGS.protocol("iv-induction"), D(2026, 11, 30), (TUE, THU))
    assert [d.day.weekday() for d in dates] == [TUE, THU] * 3
    assert len(dates) == 6


def test_weekdays_the_clinic_never_opens_are_bad_input():
    with pytest.raises(BadInput, match="closed every sat,sun"):
        expand_dates(SETTINGS, SETTINGS.protocol("iv-induction"), D(2026, 11, 30), (5, 6))


def test_parse_weekdays_and_phase_for_number():
    assert parse_weekdays("Mon, wed,fri") == (MON, WED, FRI)
    with pytest.raises(BadInput):
        parse_weekdays("mon,funday")
    protocol = SETTINGS.protocol("spravato-trd")
    assert [phase_for_number(protocol, n).name for n in (1, 8, 9, 12, 13, 16, 17)] == [
        "induction", "induction", "weekly", "weekly", "every-2-weeks", "every-2-weeks", "every-2-weeks"]


@hsettings(max_examples=40, deadline=None)
@given(start=st.dates(min_value=D(2026, 1, 1), max_value=D(2028, 12, 31)),
       protocol_code=st.sampled_from(["iv-induction", "spravato-trd", "iv-booster"]),
       override=st.one_of(st.none(), st.sets(st.integers(0, 4), min_size=1).map(sorted)))
def test_any_plan_keeps_every_session_on_open_pattern_days_in_order(start, protocol_code, override):
    protocol = SETTINGS.protocol(protocol_code)
    dates = expand_dates(SETTINGS, protocol, start, override)
    assert len(dates) == protocol.total_sessions
    days = [d.day for d in dates]
    assert days == sorted(set(days)) and days[0] >= start
    assert all(SETTINGS.is_open(day) for day in days)
    for planned in dates:
        phase = next(p for p in protocol.phases if p.name == planned.phase)
        assert planned.day.weekday() in phase_weekdays(phase, override)


# --- plans with chairs (database) -----------------------------------------------------------


def test_plan_across_dst_keeps_the_wall_clock(clinic_db):
    patient_id = add_patient()
    plan = plan_course(clinic_db.settings, patient_id=patient_id, protocol_code="iv-induction",
                       start_on=D(2027, 3, 8), at=dt.time(10, 0), now=clinic_db.clock.now())
    assert days_of(plan) == [D(2027, 3, 8), D(2027, 3, 10), D(2027, 3, 12), D(2027, 3, 15), D(2027, 3, 17),
                             D(2027, 3, 19)]
    assert {f"{s.start:%H:%M}" for s in plan.sessions} == {"10:00"}
    utc_hours = [s.start.astimezone(dt.timezone.utc).hour for s in plan.sessions]
    assert utc_hours == [15, 15, 15, 14, 14, 14]
    assert plan.conflicts == []


def test_plan_gives_every_session_a_chair_that_hosts_the_route(clinic_db):
    patient_id = add_patient()
    plan = plan_course(clinic_db.settings, patient_id=patient_id, protocol_code="spravato-trd",
                       start_on=D(2027, 3, 1), at=dt.time(9, 0), now=clinic_db.clock.now())
    assert [s.number for s in plan.sessions] == list(range(1, 17))
    nasal_chairs = {c.name for c in clinic_db.settings.chairs if "nasal" in c.routes}
    assert all(s.chair_name in nasal_chairs and s.conflict is None for s in plan.sessions)
    # The same chair all along when it is free: continuity for the patient.
    assert len({s.chair_id for s in plan.sessions}) == 1
    assert all(s.end - s.start == dt.timedelta(minutes=120) for s in plan.sessions)


def test_a_full_time_offers_the_nearest_free_time_that_day_with_a_note(clinic_db):
    patient_id = add_patient()
    fill_iv_chairs(clinic_db.settings, dt.datetime(2026, 12, 2, 9, 0), dt.datetime(2026, 12, 2, 10, 15))
    plan = plan_iv_induction(clinic_db, patient_id)
    second = plan.sessions[1]
    assert second.start.date() == D(2026, 12, 2)
    assert f"{second.start:%H:%M}" == "10:15"
    assert second.note == "10:00 full, 10:15 offered"
    assert second.conflict is None and plan.conflicts == []
    assert all(f"{s.start:%H:%M}" == "10:00" for s in plan.sessions if s.number != 2)


def test_a_day_with_no_free_chair_is_a_listed_conflict(clinic_db):
    patient_id = add_patient()
    fill_iv_chairs(clinic_db.settings, dt.datetime(2026, 12, 4, 8, 0), dt.datetime(2026, 12, 4, 18, 0))
    plan = plan_iv_induction(clinic_db, patient_id)
    third = plan.sessions[2]
    assert third.chair_id is None and third.conflict == "no free iv chair that day"
    assert plan.conflicts == ["session 3 (Fri 4 Dec): no free iv chair that day"]
    assert len(plan.sessions) == 6


def test_the_patients_own_session_that_day_and_past_times_are_conflicts(clinic_db):
    settings = clinic_db.settings
    patient_id = add_patient()
    occupy(settings, chair="Chair 5", patient_id=patient_id, start_local=dt.datetime(2026, 11, 20, 14, 0),
           end_local=dt.datetime(2026, 11, 20, 16, 0), treatment="esketamine-56")
    # Frozen now: Tue 17 Nov 10:00; Mon 16 Nov is past, Wed 18 is fine, Fri 20 holds her own session.
    plan = plan_course(settings, patient_id=patient_id, protocol_code="iv-induction", start_on=D(2026, 11, 16),
                       at=dt.time(10, 0), now=clinic_db.clock.now())
    assert plan.conflicts == [
        "session 1 (Mon 16 Nov): in the past",
        "session 3 (Fri 20 Nov): the patient already has a session at 14:00 that day",
    ]
    assert plan.sessions[1].conflict is None


def test_the_default_time_is_the_patients_last_session_time_else_an_hour_after_opening(clinic_db):
    settings = clinic_db.settings
    newcomer = add_patient("SYN-A")
    plan = plan_course(settings, patient_id=newcomer, protocol_code="iv-booster", start_on=D(2026, 12, 1),
                       now=clinic_db.clock.now())
    assert plan.at == dt.time(9, 0) and f"{plan.sessions[0].start:%H:%M}" == "09:00"
    regular = add_patient("SYN-B")
    occupy(settings, chair="Chair 2", patient_id=regular, start_local=dt.datetime(2026, 11, 10, 11, 30),
           end_local=dt.datetime(2026, 11, 10, 13, 0))
    plan = plan_course(settings, patient_id=regular, protocol_code="iv-booster", start_on=D(2026, 12, 1),
                       now=clinic_db.clock.now())
    assert plan.at == dt.time(11, 30) and f"{plan.sessions[0].start:%H:%M}" == "11:30"


def test_a_time_too_late_for_closing_is_moved_earlier_with_a_note(clinic_db):
    patient_id = add_patient()
    plan = plan_course(clinic_db.settings, patient_id=patient_id, protocol_code="iv-booster",
                       start_on=D(2026, 12, 1), at=dt.time(17, 30), now=clinic_db.clock.now())
    session = plan.sessions[0]
    # 40 min infusion + 45 min monitoring must end by 18:00: 16:35 is off the grid, 16:30 is the latest.
    assert f"{session.start:%H:%M}" == "16:30"
    assert session.note == "17:30 outside opening hours, 16:30 offered"


def test_unknown_patient_or_protocol_is_bad_input(clinic_db):
    with pytest.raises(NotFound, match="no patient with id 999"):
        plan_course(clinic_db.settings, patient_id=999, protocol_code="iv-induction", start_on=D(2026, 12, 1),
                    now=clinic_db.clock.now())
    patient_id = add_patient()
    with pytest.raises(NotFound, match="unknown protocol 'nope'"):
        plan_course(clinic_db.settings, patient_id=patient_id, protocol_code="nope", start_on=D(2026, 12, 1),
                    now=clinic_db.clock.now())
