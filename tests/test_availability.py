"""Where a session can go: every refusal reason and its message, free chairs, free slots."""
from __future__ import annotations

import datetime as dt

import pytest
from playhouse.test_utils import count_queries

from keta_tui.clinic.availability import free_chair_id, free_slots, slot_problem
from keta_tui.clinic.booking import book_session, chair_id_named
from keta_tui.clinic.clock import to_utc
from keta_tui.clinic.patients import add_patient
from keta_tui.clinic.store import writing
from keta_tui.db.models import Chair

WED = dt.date(2026, 11, 18)


def at(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute))


@pytest.fixture
def desk(clinic_db):
    """The clinic plus a helper that books a fresh patient."""
    now = clinic_db.clock.now()
    counter = iter(range(1, 1000))

    def new_patient() -> int:
        return add_patient(first_name="Test", last_name=f"Patient{next(counter)}", actor="t", now=now).id

    def book(start: dt.datetime, chair: str | None = None, treatment: str = "iv-ketamine",
             patient_id: int | None = None):
        return book_session(clinic_db.settings, patient_id=patient_id or new_patient(), treatment_code=treatment,
                            start_local=start, chair_name=chair, actor="t", now=now)

    clinic_db.new_patient = new_patient
    clinic_db.book = book
    clinic_db.now = now
    return clinic_db


def problem(desk, start, *, chair=None, patient_id=None, treatment="iv-ketamine", exclude=()):
    chair_id = chair_id_named(chair) if chair else None
    return slot_problem(desk.settings, treatment, start, patient_id=patient_id, chair_id=chair_id,
                        now=desk.now, exclude_ids=exclude)


def test_a_free_slot_has_no_problem(desk):
    assert problem(desk, at(WED, "10:00")) is None


def test_past(desk):
    refusal = problem(desk, at(dt.date(2026, 11, 17), "09:45"))
    assert refusal.reason == "past"
    assert refusal.message == "refused: 2026-11-17 09:45 is in the past; pick a later time"


def test_closed_on_a_holiday_names_it(desk):
    refusal = problem(desk, at(dt.date(2026, 11, 26), "10:00"))
    assert refusal.reason == "closed"
    assert "closed: Thanksgiving Day" in refusal.message and "Thu 2026-11-26" in refusal.message


def test_closed_on_a_weekend_and_a_listed_date(desk):
    assert "closed on Sat" in problem(desk, at(dt.date(2026, 11, 21), "10:00")).message
    assert "clinic closure" in problem(desk, at(dt.date(2026, 12, 24), "10:00")).message


def test_before_opening(desk):
    refusal = problem(desk, at(WED, "07:45"))
    assert refusal.reason == "outside_hours"
    assert refusal.message == "refused: 07:45 is before opening (08:00) on Wed 2026-11-18"


def test_running_past_closing(desk):
    # IV: 40 min infusion + 45 min monitoring = 85 min; 16:45 ends 18:10.
    refusal = problem(desk, at(WED, "16:45"))
    assert refusal.reason == "outside_hours"
    assert "runs until 18:10, past closing (18:00)" in refusal.message
    assert problem(desk, at(WED, "16:35")) is None  # ends exactly at closing


def test_route(desk):
    refusal = problem(desk, at(WED, "10:00"), chair="Chair 5")
    assert refusal.reason == "route"
    assert refusal.message == ("refused: Chair 5 cannot host iv treatments "
                               "(chairs that can: Chair 1, Chair 2, Chair 3, Chair 4)")


def test_out_of_service(desk):
    with writing():
        Chair.update(out_of_service_reason="pump broken").where(Chair.name == "Chair 3").execute()
    refusal = problem(desk, at(WED, "10:00"), chair="Chair 3")
    assert refusal.reason == "out_of_service"
    assert refusal.message == "refused: Chair 3 is out of service (pump broken); pick another chair"
    assert free_chair_id(desk.settings, "iv-ketamine", to_utc(at(WED, "10:00"), desk.settings.tz)) == 1


def test_chair_taken_says_until_when_turnover_included(desk):
    desk.book(at(WED, "10:00"), chair="Chair 2")  # monitoring ends 11:25, turnover to 11:40
    refusal = problem(desk, at(WED, "11:30"), chair="Chair 2")
    assert refusal.reason == "chair_taken"
    assert refusal.message == "refused: Chair 2 is taken until 11:40"
    assert problem(desk, at(WED, "11:40"), chair="Chair 2") is None
    # A later session overlapping the end too: the chair is taken until the latest one frees it.
    assert problem(desk, at(WED, "08:45"), chair="Chair 2").reason == "chair_taken"


def test_patient_busy_without_turnover(desk):
    booked = desk.book(at(WED, "10:00"), chair="Chair 2")
    refusal = problem(desk, at(WED, "11:00"), patient_id=booked.patient_id)
    assert refusal.reason == "patient_busy"
    assert refusal.message == "refused: the patient already has a session 10:00-11:25 that day"
    # The patient's own span ends at 11:25 (the chair's turnover is not theirs).
    assert problem(desk, at(WED, "11:25"), patient_id=booked.patient_id) is None


def test_no_chair(desk):
    for name in ("Chair 1", "Chair 2", "Chair 3", "Chair 4"):
        desk.book(at(WED, "10:00"), chair=name)
    refusal = problem(desk, at(WED, "10:30"))
    assert refusal.reason == "no_chair"
    assert refusal.message == "refused: no chair for iv treatments is free at 10:30 on Wed 2026-11-18"
    # Esketamine still fits on the nasal-only chairs.
    assert problem(desk, at(WED, "10:30"), treatment="esketamine-56") is None


def test_reasons_come_in_order(desk):
    # Past beats closed, closed beats the chair's route.
    assert problem(desk, at(dt.date(2026, 11, 15), "10:00"), chair="Chair 5").reason == "past"
    assert problem(desk, at(dt.date(2026, 11, 26), "10:00"), chair="Chair 5").reason == "closed"


def test_excluded_session_does_not_block_itself(desk):
    booked = desk.book(at(WED, "10:00"), chair="Chair 2")
    assert problem(desk, at(WED, "10:15"), chair="Chair 2", patient_id=booked.patient_id,
                   exclude=[booked.id]) is None


def test_free_chair_in_board_order_by_route(desk):
    start = to_utc(at(WED, "10:00"), desk.settings.tz)
    assert free_chair_id(desk.settings, "esketamine-56", start) == 1
    desk.book(at(WED, "10:00"), chair="Chair 1")
    assert free_chair_id(desk.settings, "iv-ketamine", start) == 2
    for name in ("Chair 2", "Chair 3", "Chair 4"):
        desk.book(at(WED, "10:00"), chair=name)
    assert free_chair_id(desk.settings, "iv-ketamine", start) is None
    assert free_chair_id(desk.settings, "esketamine-56", start) == chair_id_named("Chair 5")


# --- free slots ---------------------------------------------------------------------


def test_slots_sit_on_the_grid_inside_hours_from_now(desk):
    slots = free_slots(desk.settings, "iv-ketamine", now=desk.now, count=40)
    assert slots[0].start.replace(tzinfo=None) == at(dt.date(2026, 11, 17), "10:00")
    assert all(s.start.minute % 15 == 0 and s.start.second == 0 for s in slots)
    assert all(dt.time(8, 0) <= s.start.time() and s.end.time() <= dt.time(18, 0) for s in slots)
    last_today = [s for s in slots if s.start.date() == dt.date(2026, 11, 17)][-1]
    assert last_today.start.time() == dt.time(16, 30)  # 16:45 would run past closing
    assert slots[27].start.replace(tzinfo=None) == at(WED, "08:00")  # the next open day starts at opening
    assert len({s.start for s in slots}) == len(slots)  # one Slot per start time
    assert all(s.end - s.start == dt.timedelta(minutes=85) for s in slots)


def test_slots_skip_closures_and_respect_range(desk):
    slots = free_slots(desk.settings, "iv-ketamine", now=desk.now, count=3, start=dt.date(2026, 11, 26))
    assert [s.start.date() for s in slots] == [dt.date(2026, 11, 27)] * 3
    assert free_slots(desk.settings, "iv-ketamine", now=desk.now, start=dt.date(2026, 11, 21),
                      until=dt.date(2026, 11, 22)) == []


def test_slots_around_a_time(desk):
    slots = free_slots(desk.settings, "iv-ketamine", now=desk.now, count=4, start=WED, around=dt.time(12, 0))
    assert [f"{s.start:%H:%M}" for s in slots] == ["12:00", "11:45", "12:15", "11:30"]


def test_slots_on_weekdays_only(desk):
    slots = free_slots(desk.settings, "iv-ketamine", now=desk.now, count=6, weekdays=[0, 2], around=dt.time(9, 0))
    assert {s.start.weekday() for s in slots} <= {0, 2}
    assert slots[0].start.date() == WED and slots[0].start.time() == dt.time(9, 0)


def test_slots_on_a_chair_honour_its_route(desk):
    nasal_only = chair_id_named("Chair 5")
    assert free_slots(desk.settings, "iv-ketamine", now=desk.now, chair_id=nasal_only, until=WED) == []
    slots = free_slots(desk.settings, "esketamine-56", now=desk.now, count=2, chair_id=nasal_only)
    assert {s.chair_name for s in slots} == {"Chair 5"}


def test_slots_step_around_taken_chairs_and_a_busy_patient(desk):
    for name in ("Chair 1", "Chair 2", "Chair 3", "Chair 4"):
        desk.book(at(WED, "10:00"), chair=name)
    slots = free_slots(desk.settings, "iv-ketamine", now=desk.now, count=3, start=WED, around=dt.time(10, 0))
    # Every iv chair is held 10:00-11:40: an 08:15 start frees its chair at 09:55; ties go earlier.
    assert [f"{s.start:%H:%M}" for s in slots] == ["08:15", "11:45", "08:00"]
    nasal = desk.book(at(WED, "10:00"), treatment="esketamine-56")
    assert nasal.chair_name == "Chair 5"
    slots = free_slots(desk.settings, "esketamine-56", now=desk.now, count=2, start=WED,
                       around=dt.time(10, 0), patient_id=nasal.patient_id)
    assert all(s.start.time() >= dt.time(12, 0) or s.end.time() <= dt.time(10, 0) for s in slots)


def test_slots_read_one_query_per_open_day(desk):
    desk.book(at(WED, "10:00"))
    with count_queries() as counter:
        slots = free_slots(desk.settings, "iv-ketamine", now=desk.now, count=200,
                           start=dt.date(2026, 11, 19), until=dt.date(2026, 11, 25))
    assert len(slots) == 5 * 35  # five open days of 35 starts each (Sat, Sun closed)
    assert counter.count <= 5 + 1  # the chairs once, then one query per open day


def test_dst_week_slots_keep_wall_clock(desk):
    # US clocks go back on Sun 2026-11-01: 10:00 is 14:00 UTC before, 15:00 UTC after.
    now = dt.datetime(2026, 10, 20, 12, 0, tzinfo=dt.timezone.utc)
    before, after = (free_slots(desk.settings, "iv-ketamine", now=now, count=1, start=day, around=dt.time(10, 0))[0]
                     for day in (dt.date(2026, 10, 30), dt.date(2026, 11, 2)))
    assert (before.start.hour, after.start.hour) == (10, 10)
    assert before.start.utcoffset() == dt.timedelta(hours=-4)
    assert after.start.utcoffset() == dt.timedelta(hours=-5)
