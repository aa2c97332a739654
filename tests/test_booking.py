"""Booking one session, its refusals with suggestions, reschedule links, moves, the CLI."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from keta_tui.cli.main import main
from keta_tui.clinic.booking import (book_session, booked_session, chair_id_named, insert_session_row,
                                     move_session, reschedule)
from keta_tui.clinic.clock import to_utc
from keta_tui.clinic.errors import NotFound, Refused, StaleEdit
from keta_tui.clinic.patients import add_patient
from keta_tui.clinic.store import writing
from keta_tui.db.models import AuditEntry, Session, StatusChange

from tests.conftest import FROZEN_NOW

WED = dt.date(2026, 11, 18)


def wed(hhmm: str) -> dt.datetime:
    return dt.datetime.combine(WED, dt.time.fromisoformat(hhmm))


@pytest.fixture
def two(clinic_db):
    """Two patients; returns (db, first id, second id)."""
    now = clinic_db.clock.now()
    ids = [add_patient(first_name="Ada", last_name=name, actor="t", now=now).id for name in ("Alpha", "Beta")]
    return clinic_db, ids[0], ids[1]


def book(db, patient_id, start, chair=None, treatment="iv-ketamine", **extra):
    return book_session(db.settings, patient_id=patient_id, treatment_code=treatment, start_local=start,
                        chair_name=chair, actor="desk-a", now=db.clock.now(), **extra)


def test_book_picks_the_first_free_chair_and_audits(two):
    db, first, second = two
    booked = book(db, first, wed("10:00"))
    assert (booked.chair_name, booked.treatment_code, booked.patient_id) == ("Chair 1", "iv-ketamine", first)
    assert booked.start.replace(tzinfo=None) == wed("10:00") and booked.end.replace(tzinfo=None) == wed("11:25")
    assert booked.version == 1 and booked.course_id is None
    row = Session.get_by_id(booked.id)
    assert row.status == "scheduled" and row.kind == "single" and row.form_due_on is None
    assert row.busy_until == to_utc(wed("11:40"), db.settings.tz)
    assert (row.created_by, row.updated_by) == ("desk-a", "desk-a")
    entry = AuditEntry.get(AuditEntry.entity == "session", AuditEntry.entity_id == booked.id)
    assert entry.action == "session.book" and entry.actor == "desk-a"
    assert json.loads(entry.after_json)["chair"] == booked.chair_id
    assert book(db, second, wed("10:00")).chair_name == "Chair 2"


def test_refusal_carries_nearest_free_slots(two):
    db, first, second = two
    book(db, first, wed("10:00"), chair="Chair 2")
    with pytest.raises(Refused) as caught:
        book(db, second, wed("10:30"), chair="Chair 2")
    refusal = caught.value
    assert refusal.reason == "chair_taken" and refusal.message == "refused: Chair 2 is taken until 11:40"
    assert [f"{s.start:%H:%M} {s.chair_name}" for s in refusal.suggestions] == [
        "10:30 Chair 1", "10:15 Chair 1", "10:45 Chair 1"]
    assert Session.select().count() == 1
    with pytest.raises(Refused) as caught:
        book(db, second, wed("10:30"), chair="Chair 2", suggest=0)
    assert caught.value.suggestions == ()


def test_closed_day_suggests_the_next_open_day(two):
    db, first, _ = two
    with pytest.raises(Refused) as caught:
        book(db, first, dt.datetime(2026, 11, 26, 10, 0))
    assert caught.value.reason == "closed"
    assert [s.start.date() for s in caught.value.suggestions] == [dt.date(2026, 11, 27)] * 3
    assert caught.value.suggestions[0].start.time() == dt.time(10, 0)


def test_unknown_chair_patient_or_treatment(two):
    db, first, _ = two
    with pytest.raises(NotFound, match="no chair named 'Chair 9' \\(chairs: Chair 1, Chair 2"):
        book(db, first, wed("10:00"), chair="Chair 9")
    with pytest.raises(NotFound, match="no patient with id 999"):
        book(db, 999, wed("10:00"))
    with pytest.raises(NotFound, match="unknown treatment 'laughing-gas'"):
        book(db, first, wed("10:00"), treatment="laughing-gas")
    assert chair_id_named("chair 2") == chair_id_named("Chair 2")


def test_database_trigger_is_the_last_line(two):
    db, first, second = two
    booked = book(db, first, wed("10:00"), chair="Chair 2")
    start = to_utc(wed("10:30"), db.settings.tz)
    with pytest.raises(Refused) as caught:
        with writing():  # skip the rule check on purpose: only the trigger stands in the way
            insert_session_row(db.settings, patient_id=second, treatment_code="iv-ketamine", start_utc=start,
                               chair_id=booked.chair_id, actor="t", now=db.clock.now())
    assert caught.value.reason == "chair_taken"
    assert Session.select().count() == 1


def test_insert_session_row_keeps_course_fields(two):
    db, first, _ = two
    with writing():
        session_id = insert_session_row(db.settings, patient_id=first, treatment_code="esketamine-56",
                                        start_utc=to_utc(wed("09:00"), db.settings.tz),
                                        chair_id=chair_id_named("Chair 5"), actor="t", now=db.clock.now(),
                                        number=2, phase="induction", kind="course")
    row = Session.get_by_id(session_id)
    assert (row.number, row.phase, row.kind) == (2, "induction", "course")
    assert row.end_at - row.start_at == dt.timedelta(minutes=120)
    assert row.busy_until - row.end_at == dt.timedelta(minutes=15)


def test_dst_week_booking_stays_at_wall_clock(two):
    db, first, second = two
    # Spring forward on Sun 2027-03-14: Mondays either side, both at 10:00 on the clinic's clock.
    now = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    before, after = (book_session(db.settings, patient_id=first, treatment_code="iv-ketamine",
                                  start_local=dt.datetime(2027, 3, day, 10, 0), actor="t", now=now)
                     for day in (8, 15))
    assert (before.start.hour, after.start.hour) == (10, 10)
    rows = {r.id: r.start_at for r in Session.select()}
    assert rows[before.id].hour == 15 and rows[after.id].hour == 14  # UTC moves, wall clock does not
    assert after.end.replace(tzinfo=None) == dt.datetime(2027, 3, 15, 11, 25)


def test_reschedule_closes_and_links(two):
    db, first, _ = two
    original = book(db, first, wed("10:00"), chair="Chair 2", number=3, phase="induction", kind="course")
    moved = reschedule(db.settings, original.id, start_local=wed("13:00"), chair_name=None,
                       actor="desk-b", now=db.clock.now(), version=original.version)
    old = Session.get_by_id(original.id)
    assert old.status == "rescheduled" and old.replaced_by_id == moved.id and old.version == 2
    assert old.closed_at == db.clock.now().replace(tzinfo=None)
    new = Session.get_by_id(moved.id)
    assert (new.number, new.phase, new.kind, new.patient_id) == (3, "induction", "course", first)
    assert moved.chair_name == "Chair 2"  # the same chair when it is free
    change = StatusChange.get(StatusChange.session == original.id)
    assert (change.from_status, change.to_status, change.actor) == ("scheduled", "rescheduled", "desk-b")
    assert AuditEntry.select().where(AuditEntry.action == "session.reschedule").count() == 1


def test_reschedule_overlapping_its_own_old_slot(two):
    db, first, _ = two
    original = book(db, first, wed("10:00"), chair="Chair 2")
    moved = reschedule(db.settings, original.id, start_local=wed("10:15"), chair_name="Chair 2",
                       actor="t", now=db.clock.now())
    assert moved.start.replace(tzinfo=None) == wed("10:15") and moved.chair_name == "Chair 2"


def test_reschedule_refusals(two):
    db, first, second = two
    original = book(db, first, wed("10:00"))
    with pytest.raises(StaleEdit, match="changed by desk-a at 15:00"):
        reschedule(db.settings, original.id, start_local=wed("13:00"), chair_name=None, actor="t",
                   now=db.clock.now(), version=7)
    book(db, second, wed("13:00"), chair="Chair 3")
    with pytest.raises(Refused) as caught:
        reschedule(db.settings, original.id, start_local=wed("13:30"), chair_name="Chair 3", actor="t",
                   now=db.clock.now())
    assert caught.value.reason == "chair_taken" and caught.value.suggestions
    with writing():
        Session.update(status="discharged").where(Session.id == original.id).execute()
    with pytest.raises(Refused) as caught:
        reschedule(db.settings, original.id, start_local=wed("13:00"), chair_name=None, actor="t",
                   now=db.clock.now())
    assert caught.value.reason == "transition" and caught.value.allowed == ("entered_in_error",)
    assert "a discharged session cannot be rescheduled" in caught.value.message
    with pytest.raises(NotFound):
        reschedule(db.settings, 999, start_local=wed("13:00"), chair_name=None, actor="t", now=db.clock.now())


def test_move_session_keeps_the_row(two):
    db, first, second = two
    original = book(db, first, wed("10:00"), chair="Chair 1")
    moved = move_session(db.settings, original.id, chair_name="Chair 3", actor="t", now=db.clock.now(),
                         version=1)
    assert (moved.id, moved.chair_name, moved.version) == (original.id, "Chair 3", 2)
    assert moved.start == original.start
    book(db, second, wed("10:00"), chair="Chair 1")
    with pytest.raises(Refused, match="Chair 1 is taken until 11:40"):
        move_session(db.settings, original.id, chair_name="Chair 1", actor="t", now=db.clock.now())
    assert booked_session(original.id, db.settings).chair_name == "Chair 3"


# --- CLI ------------------------------------------------------------------------------


@pytest.fixture
def cli(two, monkeypatch, capsys):
    db, first, second = two
    monkeypatch.setenv("KETA_NOW", FROZEN_NOW.isoformat())

    def run(*argv):
        code = main(["--db", db.target, "--as", "desk-a", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run, first, second


def test_cli_book_and_refusal_on_one_line(cli):
    run, first, second = cli
    code, out, err = run("book", "--patient", str(first), "--treatment", "iv-ketamine", "--at", "2026-11-18 10:00",
                         "--chair", "Chair 2")
    assert code == 0 and err == ""
    assert out.startswith("booked session 1: Wed 2026-11-18 10:00-11:25 Chair 2")
    code, out, err = run("book", "--patient", "K000002", "--treatment", "iv-ketamine", "--at", "2026-11-18 10:30",
                         "--chair", "Chair 2")
    assert code == 3 and out == ""
    assert err == ("keta: refused: Chair 2 is taken until 11:40; "
                   "nearest free: 10:30 Chair 1, 10:15 Chair 1, 10:45 Chair 1\n")


def test_cli_book_json(cli):
    run, first, second = cli
    code, out, _ = run("book", "--patient", str(first), "--treatment", "esketamine-56", "--at", "2026-11-18 09:00",
                       "--json")
    assert code == 0
    data = json.loads(out)
    assert data["start"] == "2026-11-18T09:00:00-05:00" and data["end"] == "2026-11-18T11:00:00-05:00"
    assert data["chair"] == "Chair 1" and data["version"] == 1
    code, out, err = run("book", "--patient", str(first), "--treatment", "esketamine-56",
                         "--at", "2026-11-18 10:00", "--json")
    assert code == 3 and len(err.splitlines()) == 1
    refusal = json.loads(out)
    assert refusal["reason"] == "patient_busy" and refusal["error"].startswith("refused: the patient already")
    assert all(s["start"] >= "2026-11-18T11:00" for s in refusal["suggestions"])


def test_cli_bad_input_exit_2(cli):
    run, first, _ = cli
    assert run("book", "--patient", str(first), "--treatment", "iv-ketamine", "--at", "tomorrow")[0] == 2
    assert run("book", "--patient", "nobody", "--treatment", "iv-ketamine", "--at", "2026-11-18 10:00")[0] == 2
    assert run("slots", "--treatment", "iv-ketamine", "--days", "funday")[0] == 2
    code, _, err = run("slots", "--treatment", "iv-ketamine", "--around", "25:00")
    assert code == 2 and "not a time" in err


def test_cli_slots(cli):
    run, _, _ = cli
    code, out, _ = run("slots", "--treatment", "iv-ketamine", "--from", "2026-11-23", "--days", "mon,wed",
                       "--around", "14:00", "--count", "3", "--json")
    assert code == 0
    starts = [s["start"] for s in json.loads(out)["slots"]]
    assert starts == ["2026-11-23T14:00:00-05:00", "2026-11-23T13:45:00-05:00", "2026-11-23T14:15:00-05:00"]
    code, out, _ = run("slots", "--treatment", "iv-ketamine", "--from", "tomorrow", "--count", "2")
    assert code == 0 and out.splitlines()[1].startswith("Wed 2026-11-18  08:00  09:25  Chair 1")


def test_cli_reschedule_and_history(cli):
    run, first, _ = cli
    run("book", "--patient", str(first), "--treatment", "iv-ketamine", "--at", "2026-11-18 10:00")
    code, out, _ = run("reschedule", "1", "--at", "2026-11-19 09:00", "--version", "1", "--json")
    assert code == 0 and json.loads(out)["replaced"] == 1 and json.loads(out)["id"] == 2
    code, _, err = run("reschedule", "1", "--at", "2026-11-19 12:00")
    assert code == 3 and "a rescheduled session cannot be rescheduled" in err
    code, out, _ = run("history", "1")
    assert code == 0
    lines = out.splitlines()
    assert "session.book" in lines[0] and "start_at: - -> 2026-11-18 10:00" in lines[0]
    assert "session.reschedule" in lines[1] and "status: scheduled -> rescheduled" in lines[1]
    code, out, _ = run("history", "--patient", str(first), "--json")
    assert [e["action"] for e in json.loads(out)] == ["patient.add", "session.book", "session.book",
                                                     "session.reschedule"]
    assert run("history")[0] == 2
