"""The check-in gate: every item at every level, input checks, check-in and prefill."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from keta_tui.clinic import gate
from keta_tui.clinic.errors import BadInput, Refused
from keta_tui.clinic.gate import GateAnswers, PatientFacts, check_in, evaluate, gate_items, prefill
from keta_tui.clinic.settings import Rules, example_settings
from keta_tui.db.models import AuditEntry, Patient, Session, StatusChange

from .test_lifecycle import DAY, PASSING, add_patient, book, local, walk

TODAY = DAY
ENROLLED = PatientFacts(consent_expires_on=dt.date(2027, 6, 1), rems_enrolled=True)


@pytest.fixture(scope="module")
def example():
    """The example clinic's settings: evaluating the gate needs no database."""
    return example_settings()


def _with_gate(settings, code: str, **levels):
    """The settings with one treatment's gate levels changed."""
    spec = settings.treatments[code]
    treatments = {**settings.treatments, code: dataclasses.replace(spec, gate={**spec.gate, **levels})}
    return dataclasses.replace(settings, treatments=treatments)


def _item(result, name):
    return next(item for item in result.items if item.name == name)


def _eval(settings, answers, patient=ENROLLED, code="esketamine-56"):
    return evaluate(settings, code, answers, patient=patient, today=TODAY)


def test_gate_items_follow_the_settings_in_order_without_off_items(example):
    settings = example
    assert gate_items(settings, "iv-ketamine") == [
        ("escort", "required"), ("fasting", "required"), ("consent", "required"),
        ("blood_pressure", "required"), ("phq9", "optional")]
    assert [name for name, _ in gate_items(settings, "esketamine-56")] == [
        "escort", "fasting", "consent", "rems", "blood_pressure", "phq9"]
    no_rems = _with_gate(settings, "esketamine-56", rems="off", phq9="required")
    assert ("rems", "required") not in gate_items(no_rems, "esketamine-56")
    assert ("phq9", "required") in gate_items(no_rems, "esketamine-56")
    assert [i.name for i in _eval(no_rems, PASSING).items] == ["escort", "fasting", "consent",
                                                                "blood_pressure", "phq9"]


def test_all_answers_pass(example):
    result = _eval(example, PASSING)
    assert result.passed and result.problems() == [] and result.flags == ()
    assert all(item.ok for item in result.items)
    assert _item(result, "phq9").detail == "PHQ-9 12 (moderate)"


@pytest.mark.parametrize("name, phone, detail", [
    ("", "", "escort name and phone missing"),
    ("Sam", "  ", "escort phone missing"),
    ("  ", "555-0100", "escort name missing"),
])
def test_escort_needs_name_and_phone(example, name, phone, detail):
    result = _eval(example, dataclasses.replace(PASSING, escort_name=name, escort_phone=phone))
    assert not result.passed and result.problems() == [detail] and result.failed == ("escort",)


@pytest.mark.parametrize("fasting, ok, detail", [
    (True, True, "fasting confirmed"), (None, False, "fasting not confirmed"),
    (False, False, "patient has not fasted")])
def test_fasting(example, fasting, ok, detail):
    result = _eval(example, dataclasses.replace(PASSING, fasting=fasting))
    assert (_item(result, "fasting").ok, _item(result, "fasting").detail, result.passed) == (ok, detail, ok)


@pytest.mark.parametrize("answer, expires, ok, detail", [
    (True, dt.date(2027, 6, 1), True, "consent on file until 2027-06-01"),
    (None, TODAY, True, "consent on file until 2026-11-17"),  # still valid on its last day
    (True, TODAY - dt.timedelta(days=1), False, "consent expired on 2026-11-16: renew it"),
    (True, None, False, "no consent date on file: record the signed consent on the patient"),
    (False, dt.date(2027, 6, 1), False, "consent not on file"),
])
def test_consent_must_be_on_file_and_unexpired(example, answer, expires, ok, detail):
    patient = PatientFacts(consent_expires_on=expires, rems_enrolled=True)
    result = _eval(example, dataclasses.replace(PASSING, consent_ok=answer), patient)
    assert (_item(result, "consent").ok, _item(result, "consent").detail, result.passed) == (ok, detail, ok)


@pytest.mark.parametrize("answer, on_record, ok", [
    (True, False, True), (None, True, True), (None, False, False), (False, True, False)])
def test_rems_answer_or_the_patients_record(example, answer, on_record, ok):
    patient = PatientFacts(consent_expires_on=dt.date(2027, 6, 1), rems_enrolled=on_record)
    result = _eval(example, dataclasses.replace(PASSING, rems_enrolled=answer), patient)
    assert _item(result, "rems").ok is ok and result.passed is ok
    if not ok:
        assert result.problems() == ["not enrolled in the REMS programme"]


def test_rems_is_not_asked_for_iv_ketamine(example):
    result = _eval(example, dataclasses.replace(PASSING, rems_enrolled=False),
                   PatientFacts(dt.date(2027, 6, 1), False), code="iv-ketamine")
    assert result.passed and "rems" not in [item.name for item in result.items]


@pytest.mark.parametrize("bp, flagged", [((140, 90), False), ((141, 80), True), ((120, 91), True)])
def test_blood_pressure_above_the_flag_is_only_flagged(example, bp, flagged):
    result = _eval(example, dataclasses.replace(PASSING, bp_systolic=bp[0], bp_diastolic=bp[1]))
    assert result.passed and result.flags == (("bp_high",) if flagged else ())
    suffix = " above 140/90 (flagged)" if flagged else ""
    assert _item(result, "blood_pressure").detail == f"blood pressure {bp[0]}/{bp[1]}{suffix}"


@pytest.mark.parametrize("bp, held", [((179, 109), False), ((180, 80), True), ((150, 110), True)])
def test_blood_pressure_holds_only_at_or_above_a_hold_limit_when_set(example, bp, held):
    settings = dataclasses.replace(example, rules=Rules(bp_hold=(180, 110)))
    result = _eval(settings, dataclasses.replace(PASSING, bp_systolic=bp[0], bp_diastolic=bp[1]))
    assert result.passed is not held and result.flags == ("bp_high",)
    if held:
        assert result.problems() == [f"blood pressure {bp[0]}/{bp[1]} at or above the hold limit 180/110"]


def test_blood_pressure_not_taken_fails_when_required(example):
    result = _eval(example, dataclasses.replace(PASSING, bp_systolic=None, bp_diastolic=None))
    assert result.problems() == ["blood pressure not taken"]


def test_optional_items_are_reported_but_never_block(example):
    settings = _with_gate(example, "esketamine-56", escort="optional", blood_pressure="optional")
    answers = dataclasses.replace(PASSING, escort_name="", escort_phone="", phq9=None,
                                  bp_systolic=None, bp_diastolic=None)
    result = _eval(settings, answers)
    assert result.passed and result.problems() == []
    assert {item.name: item.ok for item in result.items if item.level == "optional"} == {
        "escort": False, "blood_pressure": False, "phq9": False}
    assert _item(result, "phq9").detail == "PHQ-9 not recorded"


def test_phq9_required_when_the_clinic_says_so(example):
    settings = _with_gate(example, "esketamine-56", phq9="required")
    assert _eval(settings, dataclasses.replace(PASSING, phq9=None)).problems() == ["PHQ-9 not recorded"]
    assert _eval(settings, dataclasses.replace(PASSING, phq9=0)).passed


@pytest.mark.parametrize("changes, message", [
    ({"phq9": 28}, "PHQ-9 must be a score from 0 to 27, not 28"),
    ({"phq9": -1}, "PHQ-9 must be a score from 0 to 27, not -1"),
    ({"bp_diastolic": None}, "blood pressure needs both values"),
    ({"bp_systolic": 80, "bp_diastolic": 120}, "blood pressure 80/120 is not plausible"),
    ({"bp_systolic": 400}, "blood pressure 400/82 is not plausible"),
    ({"escort_name": "x" * 201}, "escort name is longer than 200 characters"),
    ({"escort_phone": "5" * 41}, "escort phone is longer than 40 characters"),
])
def test_values_no_one_could_measure_are_bad_input(example, changes, message):
    with pytest.raises(BadInput, match=message):
        _eval(example, dataclasses.replace(PASSING, **changes))


@pytest.mark.parametrize("score, band", [(0, "minimal"), (4, "minimal"), (5, "mild"), (10, "moderate"),
                                         (15, "moderately severe"), (19, "moderately severe"), (27, "severe")])
def test_phq9_bands(score, band):
    assert gate.phq9_band(score) == band


# --- check-in -----------------------------------------------------------------------


def test_check_in_stores_the_answers_and_records_the_arrival(clinic_db):
    patient = add_patient()
    sid = book(clinic_db, patient, "11:00", treatment="esketamine-56")
    at = local(clinic_db, DAY, "10:45")
    answers = dataclasses.replace(PASSING, escort_name="  Sam Escort ", bp_systolic=150, bp_diastolic=85)
    step, result = check_in(clinic_db.settings, sid, answers, actor="desk-2", now=at)
    assert (step.from_status, step.to_status, step.flags) == ("scheduled", "arrived", ("bp_high",))
    assert result.passed
    row = Session.get_by_id(sid)
    assert row.status == "arrived" and row.arrived_at == at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    assert (row.escort_name, row.escort_phone, row.bp_systolic, row.bp_diastolic, row.phq9) == (
        "Sam Escort", "555-0100", 150, 85, 12)
    stored = json.loads(row.gate_json)
    assert stored["passed"] is True and stored["failed"] == [] and stored["flags"] == ["bp_high"]
    assert stored["answers"]["escort_name"] == "Sam Escort" and stored["checked_by"] == "desk-2"
    # The escort given becomes the patient's usual escort, with an audit entry.
    person = Patient.get_by_id(patient)
    assert (person.escort_name, person.escort_phone, person.version) == ("Sam Escort", "555-0100", 2)
    entry = AuditEntry.get(AuditEntry.entity == "patient", AuditEntry.action == "patient.escort")
    assert json.loads(entry.after_json) == {"escort_name": "Sam Escort", "escort_phone": "555-0100"}


def test_failed_check_in_still_records_arrival_and_says_what_failed(clinic_db):
    sid = book(clinic_db, add_patient(rems=False), "11:00", treatment="esketamine-56")
    answers = dataclasses.replace(PASSING, rems_enrolled=None, fasting=False)
    step, result = check_in(clinic_db.settings, sid, answers, actor="test-desk", now=local(clinic_db, DAY, "10:45"))
    assert step.to_status == "arrived" and step.flags == ("gate_failed",)
    assert result.problems() == ["patient has not fasted", "not enrolled in the REMS programme"]
    assert json.loads(Session.get_by_id(sid).gate_json)["failed"] == ["fasting", "rems"]


def test_check_in_again_changes_answers_not_status(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00")
    at = local(clinic_db, DAY, "10:45")
    check_in(clinic_db.settings, sid, dataclasses.replace(PASSING, fasting=None), actor="test-desk", now=at)
    step, result = check_in(clinic_db.settings, sid, PASSING, actor="test-desk", now=at)
    assert (step.from_status, step.to_status) == ("arrived", "arrived") and result.passed
    assert [c.to_status for c in StatusChange.select().where(StatusChange.session == sid)] == ["arrived"]
    assert json.loads(Session.get_by_id(sid).gate_json)["passed"] is True


def test_check_in_refused_once_dosing_started_or_closed(clinic_db):
    sid = book(clinic_db, add_patient(), "10:30")
    walk(clinic_db, sid, "dosing", at=local(clinic_db, DAY, "10:20"))
    with pytest.raises(Refused, match=f"session {sid} is dosing; check-in is for a session that is scheduled, "
                                      "confirmed, arrived, seated") as refused:
        check_in(clinic_db.settings, sid, PASSING, actor="test-desk", now=local(clinic_db, DAY, "10:50"))
    assert refused.value.reason == "transition"


def test_check_in_bad_input_writes_nothing(clinic_db):
    sid = book(clinic_db, add_patient(), "11:00")
    with pytest.raises(BadInput):
        check_in(clinic_db.settings, sid, dataclasses.replace(PASSING, phq9=99), actor="test-desk",
                 now=local(clinic_db, DAY, "10:45"))
    row = Session.get_by_id(sid)
    assert row.status == "scheduled" and row.gate_json == "{}" and row.version == 1


def test_prefill_takes_what_carries_over_from_the_last_visit(clinic_db):
    patient = add_patient(rems=False)
    first = book(clinic_db, patient, "10:30", treatment="esketamine-56")
    second = book(clinic_db, patient, "11:00", day=DAY + dt.timedelta(days=2), treatment="esketamine-56")
    assert prefill(clinic_db.settings, first) == GateAnswers()
    walk(clinic_db, first, "arrived", at=local(clinic_db, DAY, "10:20"))
    with_patient_escort = prefill(clinic_db.settings, second)
    assert with_patient_escort == GateAnswers(escort_name="Sam Escort", escort_phone="555-0100",
                                              consent_ok=True, rems_enrolled=True)
    # The session's own answers come back whole (checking in again after a failure).
    assert prefill(clinic_db.settings, first) == PASSING


def test_prefill_prefers_the_patients_escort_on_record(clinic_db):
    patient = add_patient(escort_name="Robin Driver", escort_phone="555-0199")
    sid = book(clinic_db, patient, "11:00")
    assert prefill(clinic_db.settings, sid) == GateAnswers(escort_name="Robin Driver", escort_phone="555-0199",
                                                           rems_enrolled=True)

