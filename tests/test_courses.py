"""Courses: all-or-nothing booking, summaries, reflow after a miss, boosters, status, CLI."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from keta_tui.cli.main import main
from keta_tui.clinic import courses as courses_module
from keta_tui.clinic.booking import book_session
from keta_tui.clinic.course_plan import plan_course
from keta_tui.clinic.courses import (
    add_booster,
    book_course,
    course_summary,
    courses_behind,
    patient_courses,
    patients_without_next_booking,
    reflow_after_miss,
    set_course_status,
)
from keta_tui.clinic.errors import NotFound, Refused, StaleEdit
from keta_tui.clinic.store import writing
from keta_tui.db.models import AuditEntry, Course, Session

from .test_course_plan import add_patient, fill_iv_chairs, occupy, plan_iv_induction

D = dt.date
UTC = dt.timezone.utc


def at_local(settings, year, month, day, hour=12, minute=0) -> dt.datetime:
    """An aware UTC "now" from a clinic wall-clock time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=settings.tz).astimezone(UTC)


def book_induction(clinic_db, patient_id, start=D(2026, 11, 30), protocol="iv-induction") -> int:
    plan = plan_course(clinic_db.settings, patient_id=patient_id, protocol_code=protocol, start_on=start,
                       at=dt.time(10, 0), now=clinic_db.clock.now())
    return book_course(clinic_db.settings, plan, actor="test-desk", now=clinic_db.clock.now())


def set_status(course_id: int, number: int, status: str) -> int:
    """What lifecycle does to a session, reduced to the row change a summary reads."""
    with writing():
        row = Session.get((Session.course == course_id) & (Session.number == number)
                          & (Session.status == "scheduled"))
        Session.update(status=status).where(Session.id == row.id).execute()
    return row.id


def take_planned_slot(clinic_db, planned) -> None:
    """Another desk books a planned session's chair and time before the plan is booked."""
    book_session(clinic_db.settings, patient_id=add_patient("SYN-X", "Other", "Desk"), treatment_code="iv-ketamine",
                 start_local=planned.start.replace(tzinfo=None), chair_name=planned.chair_name, actor="other-desk",
                 now=clinic_db.clock.now())


def counts():
    return Course.select().count(), Session.select().count()


# --- booking ------------------------------------------------------------------------------


def test_booking_a_plan_writes_the_course_and_every_session_numbered_in_one_go(clinic_db):
    patient_id = add_patient()
    course_id = book_induction(clinic_db, patient_id)
    course = Course.get_by_id(course_id)
    assert (course.status, course.planned_sessions, course.preferred_time) == ("induction", 6, "10:00")
    rows = list(Session.select().where(Session.course == course_id).order_by(Session.start_at))
    assert [r.number for r in rows] == [1, 2, 3, 4, 5, 6]
    assert {(r.kind, r.phase, r.status, r.created_by) for r in rows} == {
        ("course", "induction", "scheduled", "test-desk")}
    entry = AuditEntry.get((AuditEntry.action == "course.book") & (AuditEntry.entity_id == course_id))
    assert json.loads(entry.after_json)["sessions"] == [r.id for r in rows]


def test_a_plan_with_a_conflict_books_nothing(clinic_db):
    patient_id = add_patient()
    fill_iv_chairs(clinic_db.settings, dt.datetime(2026, 12, 9, 8, 0), dt.datetime(2026, 12, 9, 18, 0))
    before = counts()
    plan = plan_iv_induction(clinic_db, patient_id)
    with pytest.raises(Refused) as refused:
        book_course(clinic_db.settings, plan, actor="test-desk", now=clinic_db.clock.now())
    assert refused.value.reason == "conflicts"
    assert "session 5 (Wed 9 Dec): no free iv chair that day" in refused.value.message
    assert refused.value.suggestions == ("session 5 (Wed 9 Dec): no free iv chair that day",)
    assert counts() == before


def test_a_slot_taken_between_plan_and_book_refuses_the_whole_plan(clinic_db):
    plan = plan_iv_induction(clinic_db, add_patient())
    take_planned_slot(clinic_db, plan.sessions[3])
    before = counts()
    with pytest.raises(Refused) as refused:
        book_course(clinic_db.settings, plan, actor="test-desk", now=clinic_db.clock.now())
    assert refused.value.reason == "conflicts"
    assert "session 4 (Mon 7 Dec): Chair 1 was taken at 10:00 meanwhile" in refused.value.message
    assert counts() == before


def test_the_database_guard_still_refuses_the_whole_plan_if_the_recheck_missed_a_clash(clinic_db, monkeypatch):
    plan = plan_iv_induction(clinic_db, add_patient())
    take_planned_slot(clinic_db, plan.sessions[-1])
    monkeypatch.setattr(courses_module, "_recheck", lambda *a, **k: [])
    before = counts()
    with pytest.raises(Refused) as refused:
        book_course(clinic_db.settings, plan, actor="test-desk", now=clinic_db.clock.now())
    assert refused.value.reason == "conflicts"
    assert counts() == before


# --- summaries ----------------------------------------------------------------------------


def test_summary_of_a_fresh_course(clinic_db):
    patient_id = add_patient()
    course_id = book_induction(clinic_db, patient_id)
    summary = course_summary(clinic_db.settings, course_id, now=clinic_db.clock.now())
    assert (summary.planned_sessions, summary.done, summary.booked, summary.missed,
            summary.remaining_unbooked) == (6, 0, 6, 0, 0)
    assert summary.next_due == D(2026, 11, 30)
    assert f"{summary.next_booked:%Y-%m-%d %H:%M}" == "2026-11-30 10:00"
    assert not summary.behind and summary.behind_reason == ""
    assert summary.patient_name == "Sample, Ada" and summary.protocol_code == "iv-induction"
    assert [s.number for s in summary.sessions] == [1, 2, 3, 4, 5, 6]


def test_summary_counts_done_missed_and_flags_a_missed_session_not_rebooked(clinic_db):
    settings = clinic_db.settings
    course_id = book_induction(clinic_db, add_patient())
    set_status(course_id, 1, "discharged")
    set_status(course_id, 2, "no_show")
    summary = course_summary(settings, course_id, now=at_local(settings, 2026, 12, 3))
    assert (summary.done, summary.booked, summary.missed, summary.remaining_unbooked) == (1, 4, 1, 1)
    assert summary.next_due == D(2026, 12, 4)
    assert summary.behind and summary.behind_reason == "1 missed, 1 not booked again"


def test_a_course_with_nothing_booked_falls_due_on_its_next_pattern_day_and_then_behind(clinic_db):
    settings = clinic_db.settings
    course_id = book_induction(clinic_db, add_patient())
    set_status(course_id, 1, "discharged")
    for number in range(2, 7):
        set_status(course_id, number, "cancelled")
    on_monday = course_summary(settings, course_id, now=at_local(settings, 2026, 11, 30, 15))
    assert (on_monday.done, on_monday.booked, on_monday.remaining_unbooked) == (1, 0, 5)
    assert on_monday.next_due == D(2026, 12, 2) and on_monday.next_booked is None
    assert not on_monday.behind
    later = course_summary(settings, course_id, now=at_local(settings, 2026, 12, 8))
    assert later.behind and later.behind_reason == "next session was due Wed 2 Dec, nothing booked"
    assert [s.id for s in courses_behind(settings, now=at_local(settings, 2026, 12, 8))] == [course_id]
    assert [s.id for s in patients_without_next_booking(settings, now=at_local(settings, 2026, 12, 8))] == [
        course_id]


def test_call_lists_leave_out_courses_that_are_on_track_or_closed(clinic_db):
    settings = clinic_db.settings
    on_track = book_induction(clinic_db, add_patient("SYN-A"))
    finished = book_induction(clinic_db, add_patient("SYN-B"), start=D(2026, 12, 14))
    set_course_status(settings, finished, "discontinued", actor="test-desk", now=clinic_db.clock.now())
    now = clinic_db.clock.now()
    assert courses_behind(settings, now=now) == []
    assert patients_without_next_booking(settings, now=now) == []
    assert course_summary(settings, on_track, now=now).status == "induction"


def test_patient_courses_lists_newest_first(clinic_db):
    patient_id = add_patient()
    first = book_induction(clinic_db, patient_id)
    second = book_induction(clinic_db, patient_id, start=D(2027, 1, 11))
    assert [s.id for s in patient_courses(clinic_db.settings, patient_id, now=clinic_db.clock.now())] == [
        second, first]
    with pytest.raises(NotFound, match="no course 999"):
        course_summary(clinic_db.settings, 999, now=clinic_db.clock.now())


# --- reflow -------------------------------------------------------------------------------


def test_an_induction_no_show_moves_the_plan_instead_of_shrinking_it(clinic_db):
    settings = clinic_db.settings
    course_id = book_induction(clinic_db, add_patient())
    missed_id = set_status(course_id, 3, "no_show")
    now = at_local(settings, 2026, 12, 4, 11)
    with writing():
        new_id = reflow_after_miss(settings, missed_id, actor="test-desk", now=now)
    new = Session.get_by_id(new_id)
    assert (new.number, new.phase, new.kind, new.status) == (6, "induction", "course", "scheduled")
    # The last session was Fri 11 Dec: the next Mon/Wed/Fri day is Mon 14 Dec, at the course's 10:00.
    summary = course_summary(settings, course_id, now=now)
    active = [s for s in summary.sessions if s.status == "scheduled"]
    assert [(s.number, f"{s.start:%a %d %b %H:%M}") for s in active] == [
        (1, "Mon 30 Nov 10:00"), (2, "Wed 02 Dec 10:00"), (3, "Mon 07 Dec 10:00"), (4, "Wed 09 Dec 10:00"),
        (5, "Fri 11 Dec 10:00"), (6, "Mon 14 Dec 10:00")]
    assert (summary.booked, summary.missed, summary.remaining_unbooked, summary.behind) == (6, 1, 0, False)
    assert AuditEntry.select().where(AuditEntry.action == "course.reflow").count() == 1


def test_lifecycle_no_show_on_an_induction_session_reflows_its_course(clinic_db):
    from keta_tui.clinic.lifecycle import no_show

    settings = clinic_db.settings
    course_id = book_induction(clinic_db, add_patient())
    first = Session.get((Session.course == course_id) & (Session.number == 1))
    result = no_show(settings, first.id, actor="test-desk", now=at_local(settings, 2026, 11, 30, 10, 30))
    assert "course_reflowed" in result.flags
    summary = course_summary(settings, course_id, now=at_local(settings, 2026, 11, 30, 10, 30))
    assert (summary.booked, summary.missed, summary.remaining_unbooked) == (6, 1, 0)
    assert [f"{s.start:%a %d %b}" for s in summary.sessions if s.status == "scheduled"][-1] == "Mon 14 Dec"


def test_a_maintenance_miss_does_not_reflow(clinic_db):
    settings = clinic_db.settings
    course_id = book_induction(clinic_db, add_patient(), start=D(2027, 3, 1), protocol="spravato-trd")
    missed_id = set_status(course_id, 10, "no_show")
    before = counts()
    with writing():
        assert reflow_after_miss(settings, missed_id, actor="test-desk", now=at_local(settings, 2027, 4, 5, 12)) is None
    assert counts() == before


def test_a_reflow_without_a_free_slot_leaves_the_course_behind_with_an_audit_note(clinic_db, monkeypatch):
    settings = clinic_db.settings
    course_id = book_induction(clinic_db, add_patient())
    missed_id = set_status(course_id, 6, "deferred")
    monkeypatch.setattr(courses_module, "REFLOW_DAYS_TRIED", 0)
    with writing():
        new_id = reflow_after_miss(settings, missed_id, actor="test-desk", now=at_local(settings, 2026, 12, 11, 12))
    assert new_id is None
    entry = AuditEntry.get(AuditEntry.action == "course.reflow")
    assert json.loads(entry.after_json)["new_session"] is None
    summary = course_summary(settings, course_id, now=at_local(settings, 2026, 12, 11, 12))
    assert summary.remaining_unbooked == 1 and summary.behind


# --- boosters and status --------------------------------------------------------------------


def test_a_booster_is_a_single_session_attached_to_the_course(clinic_db):
    settings = clinic_db.settings
    course_id = book_induction(clinic_db, add_patient())
    booster_id = add_booster(settings, course_id, start_local=dt.datetime(2027, 1, 5, 10, 0), chair_name=None,
                             actor="test-desk", now=clinic_db.clock.now())
    row = Session.get_by_id(booster_id)
    assert (row.course_id, row.number, row.phase, row.kind) == (course_id, None, "booster", "booster")
    summary = course_summary(settings, course_id, now=clinic_db.clock.now())
    assert summary.boosters == 1 and summary.booked == 6 and summary.remaining_unbooked == 0
    set_course_status(settings, course_id, "discontinued", actor="test-desk", now=clinic_db.clock.now())
    with pytest.raises(Refused, match="discontinued"):
        add_booster(settings, course_id, start_local=dt.datetime(2027, 1, 12, 10, 0), chair_name=None,
                    actor="test-desk", now=clinic_db.clock.now())


def test_course_status_follows_its_edges_and_refuses_stale_edits(clinic_db):
    settings = clinic_db.settings
    course_id = book_induction(clinic_db, add_patient())
    now = clinic_db.clock.now()
    summary = set_course_status(settings, course_id, "maintenance", actor="desk-a", now=now, version=1)
    assert (summary.status, summary.version) == ("maintenance", 2)
    assert set_course_status(settings, course_id, "paused", actor="desk-a", now=now).status == "paused"
    assert set_course_status(settings, course_id, "maintenance", actor="desk-a", now=now).status == "maintenance"
    with pytest.raises(StaleEdit, match="changed by desk-a"):
        set_course_status(settings, course_id, "completed", actor="desk-b", now=now, version=1)
    set_course_status(settings, course_id, "completed", actor="desk-b", now=now)
    with pytest.raises(Refused) as refused:
        set_course_status(settings, course_id, "induction", actor="desk-b", now=now)
    assert refused.value.reason == "transition" and refused.value.allowed == ()
    assert AuditEntry.select().where(AuditEntry.action == "course.status").count() == 4


# --- CLI ------------------------------------------------------------------------------------


@pytest.fixture
def cli(clinic_db, monkeypatch, capsys):
    monkeypatch.setenv("KETA_DB", clinic_db.target)
    monkeypatch.setenv("KETA_NOW", "2026-11-17T15:00:00Z")

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_cli_plan_json_then_book(cli):
    add_patient("SYN-CLI")
    code, out, err = cli("course", "plan", "--patient", "SYN-CLI", "--protocol", "iv-induction",
                         "--start", "2027-01-11", "--at", "10:00", "--json")
    assert (code, err) == (0, "")
    proposal = json.loads(out)
    assert [s["number"] for s in proposal["sessions"]] == [1, 2, 3, 4, 5, 6]
    assert proposal["sessions"][3]["start"] == "2027-01-20T10:00:00-05:00"
    assert proposal["sessions"][3]["chair"] == "Chair 1" and proposal["sessions"][3]["phase"] == "induction"
    assert proposal["conflicts"] == [] and "course_id" not in proposal
    assert Course.select().count() == 0

    code, out, err = cli("course", "plan", "--patient", "SYN-CLI", "--protocol", "iv-induction",
                         "--start", "2027-01-11", "--at", "10:00", "--book", "--json")
    booked = json.loads(out)
    assert code == 0 and booked["course_id"] == Course.get().id
    code, out, _err = cli("course", "show", str(booked["course_id"]), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["booked"] == 6 and shown["sessions"][0]["of"] == 6
    code, out, _err = cli("course", "list", "--patient", "SYN-CLI")
    assert code == 0 and "iv-induction" in out


def test_cli_book_with_conflicts_exits_3_and_writes_nothing(cli, clinic_db):
    patient_id = add_patient("SYN-CLI")
    occupy(clinic_db.settings, chair="Chair 5", patient_id=patient_id,
           start_local=dt.datetime(2027, 1, 13, 14, 0), end_local=dt.datetime(2027, 1, 13, 16, 0),
           treatment="esketamine-56")
    before = counts()
    code, out, err = cli("course", "plan", "--patient", "SYN-CLI", "--protocol", "iv-induction",
                         "--start", "2027-01-11", "--at", "10:00", "--book", "--json")
    assert code == 3
    assert json.loads(out)["conflicts"] == [
        "session 2 (Wed 13 Jan): the patient already has a session at 14:00 that day"]
    assert err.startswith("keta: refused: 1 session(s)") and err.count("\n") == 1
    assert counts() == before


def test_cli_table_booster_status_and_bad_input(cli):
    add_patient("SYN-CLI")
    code, out, _err = cli("course", "plan", "--patient", "SYN-CLI", "--protocol", "iv-induction",
                          "--start", "2027-01-11", "--at", "10:00", "--book")
    assert code == 0 and "moved from Mon 18 Jan (Martin Luther King Jr. Day)" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    course_id = Course.get().id
    code, out, _err = cli("course", "booster", str(course_id), "--at", "2027-02-08 10:00", "--json")
    assert code == 0 and json.loads(out)["course_id"] == course_id
    code, out, _err = cli("course", "status", str(course_id), "maintenance")
    assert code == 0 and out.strip() == f"course {course_id} is now maintenance"
    code, _out, err = cli("course", "status", str(course_id), "planned")
    assert code == 3 and "cannot become planned" in err
    code, _out, err = cli("course", "plan", "--patient", "SYN-CLI", "--protocol", "iv-induction",
                          "--start", "someday")
    assert code == 2 and "not a date" in err
    code, _out, err = cli("course", "plan", "--patient", "SYN-CLI", "--protocol", "iv-induction",
                          "--start", "2027-02-01", "--days", "sat,sun")
    assert code == 2 and "closed every" in err
    code, out, _err = cli("course", "behind", "--unbooked", "--json")
    assert code == 0 and json.loads(out) == {"courses": []}
    code, _out, err = cli("course", "show", "4242")
    assert code == 2 and "no course 4242" in err
