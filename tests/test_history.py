"""A session's and a patient's trail: audit entries and status changes, in time order."""
from __future__ import annotations

import datetime as dt

import pytest

from keta_tui.clinic.booking import book_session, reschedule
from keta_tui.clinic.clock import UTC
from keta_tui.clinic.errors import NotFound
from keta_tui.clinic.history import patient_history, session_history
from keta_tui.clinic.patients import add_patient, update_patient
from keta_tui.clinic.store import audit, writing
from keta_tui.db.models import Session, StatusChange


@pytest.fixture
def booked(clinic_db):
    now = clinic_db.clock.now()
    patient = add_patient(first_name="Lee", last_name="Trail", actor="desk-a", now=now)
    session = book_session(clinic_db.settings, patient_id=patient.id, treatment_code="iv-ketamine",
                           start_local=dt.datetime(2026, 11, 18, 10, 0), actor="desk-a",
                           now=now + dt.timedelta(minutes=1))
    clinic_db.patient_id, clinic_db.session_id, clinic_db.now = patient.id, session.id, now
    return clinic_db


def step(session_id: int, from_status: str, to_status: str, at: dt.datetime, actor: str, *, audited: bool,
         undone: bool = False):
    """A lifecycle step as lifecycle.py writes it (with or without its own audit entry)."""
    stamp = at.astimezone(UTC).replace(tzinfo=None)
    with writing():
        StatusChange.create(session=session_id, from_status=from_status, to_status=to_status, at=stamp,
                            actor=actor, undone=undone)
        if audited:
            audit(actor, "session.advance", "session", session_id, before={"status": from_status},
                  after={"status": to_status}, at=stamp)


def test_session_history_in_time_order_in_clinic_zone(booked):
    later = booked.now + dt.timedelta(minutes=5)
    step(booked.session_id, "scheduled", "confirmed", later, "desk-b", audited=False)
    entries = session_history(booked.session_id, booked.settings.tz)
    assert [e.action for e in entries] == ["session.book", "status"]
    first, second = entries
    assert first.at == dt.datetime(2026, 11, 17, 10, 1, tzinfo=booked.settings.tz)
    assert first.actor == "desk-a" and first.changes["status"] == (None, "scheduled")
    assert (first.entity, first.entity_id) == ("session", booked.session_id)
    assert second.changes == {"status": ("scheduled", "confirmed")} and second.actor == "desk-b"


def test_an_audited_step_is_told_once_and_undone_steps_say_so(booked):
    later = booked.now + dt.timedelta(minutes=5)
    step(booked.session_id, "scheduled", "confirmed", later, "desk-b", audited=True)
    step(booked.session_id, "confirmed", "arrived", later + dt.timedelta(minutes=1), "desk-b", audited=False,
         undone=True)
    entries = session_history(booked.session_id, booked.settings.tz)
    assert [e.action for e in entries] == ["session.book", "session.advance", "status (undone)"]


def test_reschedule_shows_on_both_sessions_and_the_patient(booked):
    replacement = reschedule(booked.settings, booked.session_id, start_local=dt.datetime(2026, 11, 19, 9, 0),
                             chair_name=None, actor="desk-c", now=booked.now + dt.timedelta(minutes=9))
    old_trail = session_history(booked.session_id, booked.settings.tz)
    assert [e.action for e in old_trail] == ["session.book", "session.reschedule"]
    assert old_trail[-1].changes["replaced_by"] == (None, replacement.id)
    assert old_trail[-1].changes["status"] == ("scheduled", "rescheduled")
    assert Session.get_by_id(booked.session_id).replaced_by_id == replacement.id
    update_patient(booked.patient_id, version=1, changes={"phone": "555 010 2020"}, actor="desk-d",
                   now=booked.now + dt.timedelta(minutes=20))
    trail = patient_history(booked.patient_id, booked.settings.tz)
    assert [(e.action, e.entity) for e in trail] == [
        ("patient.add", "patient"), ("session.book", "session"), ("session.book", "session"),
        ("session.reschedule", "session"), ("patient.edit", "patient")]
    assert trail[-1].changes == {"phone": ("", "555 010 2020")}
    assert [e.at for e in trail] == sorted(e.at for e in trail)


def test_unknown_ids(booked):
    with pytest.raises(NotFound, match="no session 999"):
        session_history(999, booked.settings.tz)
    with pytest.raises(NotFound, match="no patient with id 999"):
        patient_history(999, booked.settings.tz)
