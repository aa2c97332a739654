"""The database itself refuses overlapping active sessions, whatever client writes."""
import datetime as dt

import pytest

from keta_tui.clinic.errors import Refused
from keta_tui.clinic.store import change_marker, writing
from keta_tui.db.models import Chair, Patient, Session, Treatment


def _patient(n):
    return Patient.create(mrn=f"G{n}", first_name="Test", last_name=f"Guard{n}", search_name=f"guard{n} test")


def _session(patient, chair, start, status="scheduled"):
    treatment = Treatment.get(Treatment.code == "iv-ketamine")
    return Session.create(patient=patient, treatment=treatment, chair=chair, status=status, start_at=start,
                          end_at=start + dt.timedelta(minutes=85), busy_until=start + dt.timedelta(minutes=100))


START = dt.datetime(2026, 11, 18, 15, 0)


def test_chair_overlap_including_turnover_is_refused(clinic_db):
    chair = Chair.get(Chair.name == "Chair 1")
    with writing():
        _session(_patient(1), chair, START)
    with pytest.raises(Refused) as info:
        with writing():
            # Starts during the first session's turnover.
            _session(_patient(2), chair, START + dt.timedelta(minutes=90))
    assert info.value.reason == "chair_taken"
    assert Session.select().count() == 1


def test_back_to_back_after_turnover_is_allowed(clinic_db):
    chair = Chair.get(Chair.name == "Chair 1")
    with writing():
        _session(_patient(1), chair, START)
        _session(_patient(2), chair, START + dt.timedelta(minutes=100))
    assert Session.select().count() == 2


def test_patient_overlap_on_another_chair_is_refused(clinic_db):
    patient = _patient(1)
    with writing():
        _session(patient, Chair.get(Chair.name == "Chair 1"), START)
    with pytest.raises(Refused) as info:
        with writing():
            _session(patient, Chair.get(Chair.name == "Chair 2"), START + dt.timedelta(minutes=30))
    assert info.value.reason == "patient_busy"


def test_closed_sessions_do_not_hold_the_slot(clinic_db):
    chair = Chair.get(Chair.name == "Chair 1")
    with writing():
        _session(_patient(1), chair, START, status="cancelled")
        _session(_patient(2), chair, START)
    assert Session.select().count() == 2


def test_reopening_a_closed_session_into_a_taken_slot_is_refused(clinic_db):
    chair = Chair.get(Chair.name == "Chair 1")
    with writing():
        cancelled = _session(_patient(1), chair, START, status="cancelled")
        _session(_patient(2), chair, START)
    with pytest.raises(Refused):
        with writing():
            Session.update(status="scheduled").where(Session.id == cancelled.id).execute()
    assert Session.get_by_id(cancelled.id).status == "cancelled"


def test_every_write_bumps_the_change_marker(clinic_db):
    before = change_marker()
    with writing():
        _patient(1)
    assert change_marker() == before + 1
