"""The check-in gate: what a treatment asks at arrival, whether it is met, and check-in itself.

The items and their levels come from the clinic settings (``required`` blocks dosing,
``optional`` is asked and never blocks, ``off`` is not asked). keta makes no clinical
decision: blood pressure above ``rules.bp_flag`` is only a flag; it holds dosing only
at or above ``rules.bp_hold`` when the clinic sets one.

Answers are stored on the session: the columns the board reads often (escort, blood
pressure, PHQ-9) and the whole check-in as ``gate_json``::

    {"answers": {GateAnswers fields}, "passed": bool, "failed": [item, ...],
     "flags": [flag, ...], "checked_at": ISO UTC, "checked_by": actor}
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from keta_tui.db.models import Patient, Session

from . import lifecycle  # the two modules call each other only at run time
from .clock import to_utc
from .errors import BadInput, Refused
from .settings import GATE_ITEMS, ClinicSettings, Rules
from .store import audit, check_version, snapshot, writing

__all__ = ["GateAnswers", "GateItem", "GateResult", "PatientFacts", "gate_items", "prefill", "evaluate",
           "stored_result", "check_in", "phq9_band", "CHECK_IN_FROM"]

# Statuses a check-in may start from; a session already arrived or seated may be checked
# in again (after fixing what failed) without a new status change.
CHECK_IN_FROM = ("scheduled", "confirmed", "arrived", "seated")
_MOVES_TO_ARRIVED = ("scheduled", "confirmed")
ESCORT_NAME_MAX, ESCORT_PHONE_MAX = 200, 40
PHQ9_BANDS = ((4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately severe"), (27, "severe"))


@dataclass(frozen=True)
class GateAnswers:
    escort_name: str = ""
    escort_phone: str = ""
    fasting: bool | None = None
    consent_ok: bool | None = None
    rems_enrolled: bool | None = None
    bp_systolic: int | None = None
    bp_diastolic: int | None = None
    phq9: int | None = None


@dataclass(frozen=True)
class GateItem:
    name: str
    level: str  # "required" | "optional"
    ok: bool
    detail: str  # one human line, no patient data


@dataclass(frozen=True)
class GateResult:
    items: tuple[GateItem, ...]
    passed: bool
    flags: tuple[str, ...]

    def problems(self) -> list[str]:
        """What keeps dosing from going ahead: the failed required items, one line each."""
        return [item.detail for item in self.items if item.level == "required" and not item.ok]

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.items if item.level == "required" and not item.ok)


@dataclass(frozen=True)
class PatientFacts:
    """What the gate reads from the patient's record."""

    consent_expires_on: dt.date | None = None
    rems_enrolled: bool = False

    @classmethod
    def of(cls, patient: Patient) -> "PatientFacts":
        return cls(patient.consent_expires_on, bool(patient.rems_enrolled))


def phq9_band(score: int) -> str:
    return next(name for top, name in PHQ9_BANDS if score <= top)


def gate_items(settings: ClinicSettings, treatment_code: str) -> list[tuple[str, str]]:
    """(item, level) pairs the treatment asks at check-in, in the order to ask them."""
    spec = settings.treatment(treatment_code)
    return [(item, spec.gate_level(item)) for item in GATE_ITEMS if spec.gate_level(item) != "off"]


# --- validation and evaluation ------------------------------------------------------


def _checked(answers: GateAnswers) -> GateAnswers:
    """Answers with text trimmed; BadInput for values no one could have measured."""
    name, phone = answers.escort_name.strip(), answers.escort_phone.strip()
    if len(name) > ESCORT_NAME_MAX:
        raise BadInput(f"escort name is longer than {ESCORT_NAME_MAX} characters")
    if len(phone) > ESCORT_PHONE_MAX:
        raise BadInput(f"escort phone is longer than {ESCORT_PHONE_MAX} characters")
    systolic, diastolic = answers.bp_systolic, answers.bp_diastolic
    if (systolic is None) != (diastolic is None):
        raise BadInput("blood pressure needs both values, systolic/diastolic (e.g. 128/82)")
    if systolic is not None and not (50 <= systolic <= 300 and 20 <= diastolic <= 200 and diastolic < systolic):
        raise BadInput(f"blood pressure {systolic}/{diastolic} is not plausible (systolic/diastolic, e.g. 128/82)")
    if answers.phq9 is not None and not 0 <= answers.phq9 <= 27:
        raise BadInput(f"PHQ-9 must be a score from 0 to 27, not {answers.phq9}")
    return dataclasses.replace(answers, escort_name=name, escort_phone=phone)


def _escort(answers: GateAnswers, patient: PatientFacts, today: dt.date, rules: Rules) -> tuple[bool, str]:
    missing = [what for what, value in (("name", answers.escort_name), ("phone", answers.escort_phone))
               if not value]
    if missing:
        return False, f"escort {' and '.join(missing)} missing"
    return True, "escort recorded"


def _fasting(answers: GateAnswers, patient: PatientFacts, today: dt.date, rules: Rules) -> tuple[bool, str]:
    if answers.fasting is None:
        return False, "fasting not confirmed"
    return (True, "fasting confirmed") if answers.fasting else (False, "patient has not fasted")


def _consent(answers: GateAnswers, patient: PatientFacts, today: dt.date, rules: Rules) -> tuple[bool, str]:
    expires = patient.consent_expires_on
    if answers.consent_ok is False:
        return False, "consent not on file"
    if expires is None:
        return False, "no consent date on file: record the signed consent on the patient"
    if expires < today:
        return False, f"consent expired on {expires.isoformat()}: renew it"
    return True, f"consent on file until {expires.isoformat()}"


def _rems(answers: GateAnswers, patient: PatientFacts, today: dt.date, rules: Rules) -> tuple[bool, str]:
    enrolled = answers.rems_enrolled if answers.rems_enrolled is not None else patient.rems_enrolled
    return (True, "REMS enrolment confirmed") if enrolled else (False, "not enrolled in the REMS programme")


def _blood_pressure(answers: GateAnswers, patient: PatientFacts, today: dt.date, rules: Rules) -> tuple[bool, str]:
    systolic, diastolic = answers.bp_systolic, answers.bp_diastolic
    if systolic is None:
        return False, "blood pressure not taken"
    reading = f"blood pressure {systolic}/{diastolic}"
    if rules.bp_hold and (systolic >= rules.bp_hold[0] or diastolic >= rules.bp_hold[1]):
        return False, f"{reading} at or above the hold limit {rules.bp_hold[0]}/{rules.bp_hold[1]}"
    if _bp_high(answers, rules):
        return True, f"{reading} above {rules.bp_flag[0]}/{rules.bp_flag[1]} (flagged)"
    return True, reading


def _phq9(answers: GateAnswers, patient: PatientFacts, today: dt.date, rules: Rules) -> tuple[bool, str]:
    if answers.phq9 is None:
        return False, "PHQ-9 not recorded"
    return True, f"PHQ-9 {answers.phq9} ({phq9_band(answers.phq9)})"


_CHECKS = {"escort": _escort, "fasting": _fasting, "consent": _consent, "rems": _rems,
           "blood_pressure": _blood_pressure, "phq9": _phq9}


def _bp_high(answers: GateAnswers, rules: Rules) -> bool:
    if answers.bp_systolic is None:
        return False
    return answers.bp_systolic > rules.bp_flag[0] or answers.bp_diastolic > rules.bp_flag[1]


def evaluate(settings: ClinicSettings, treatment_code: str, answers: GateAnswers, *, patient: PatientFacts,
             today: dt.date) -> GateResult:
    """Every item the treatment asks, whether it is met, and the flags (e.g. ``bp_high``)."""
    answers = _checked(answers)
    items = tuple(GateItem(name, level, *_CHECKS[name](answers, patient, today, settings.rules))
                  for name, level in gate_items(settings, treatment_code))
    flags = ("bp_high",) if _bp_high(answers, settings.rules) else ()
    passed = all(item.ok for item in items if item.level == "required")
    return GateResult(items, passed, flags)


def _stored_answers(gate_json: str) -> GateAnswers | None:
    try:
        stored = json.loads(gate_json or "{}").get("answers")
    except (ValueError, AttributeError):
        return None
    if not isinstance(stored, dict):
        return None
    known = {f.name for f in dataclasses.fields(GateAnswers)}
    return GateAnswers(**{k: v for k, v in stored.items() if k in known})


def stored_result(settings: ClinicSettings, session: Session, *, today: dt.date) -> GateResult:
    """The gate re-read from the session's stored answers (no answers: every item unmet)."""
    answers = _stored_answers(session.gate_json) or GateAnswers()
    patient = Patient.get_by_id(session.patient_id)
    return evaluate(settings, session.treatment.code, answers, patient=PatientFacts.of(patient), today=today)


def prefill(settings: ClinicSettings, session_id: int) -> GateAnswers:
    """Answers to start the form from: this session's own, else the patient's last check-in.

    Only what carries over between visits is taken from the last visit (escort, consent,
    REMS); fasting, blood pressure and PHQ-9 are asked afresh.
    """
    session = lifecycle.load_session(session_id)
    own = _stored_answers(session.gate_json)
    if own is not None:
        return own
    patient = Patient.get_by_id(session.patient_id)
    last_row = (Session.select(Session.gate_json)
                .where(Session.patient == patient.id, Session.id != session.id,
                       Session.arrived_at.is_null(False), Session.gate_json != "{}")
                .order_by(Session.arrived_at.desc())
                .first())
    last = (_stored_answers(last_row.gate_json) if last_row else None) or GateAnswers()
    return GateAnswers(
        escort_name=patient.escort_name or last.escort_name,
        escort_phone=patient.escort_phone or last.escort_phone,
        consent_ok=last.consent_ok,
        rems_enrolled=True if patient.rems_enrolled else last.rems_enrolled,
    )


# --- check-in -----------------------------------------------------------------------


def _update_escort(patient: Patient, answers: GateAnswers, *, actor: str, at: dt.datetime) -> None:
    changes = {name: getattr(answers, name) for name in ("escort_name", "escort_phone")
               if getattr(answers, name) and getattr(answers, name) != getattr(patient, name)}
    if not changes:
        return
    before = snapshot(patient, changes)
    Patient.update(**changes, version=patient.version + 1, updated_at=at, updated_by=actor
                   ).where(Patient.id == patient.id).execute()
    audit(actor, "patient.escort", "patient", patient.id, before, changes, at=at)


def check_in(settings: ClinicSettings, session_id: int, answers: GateAnswers, *, actor: str,
             now: dt.datetime, version: int | None = None):
    """Record the gate answers and the arrival; returns (StepResult, GateResult).

    A failed required item still records the arrival: dosing is then refused until a
    check-in passes, and the caller can offer deferral.
    """
    with writing():
        session = lifecycle.load_session(session_id)
        check_version(session, version, "session")
        if session.status not in CHECK_IN_FROM:
            raise Refused(f"refused: session {session.id} is {session.status}; check-in is for a session that is "
                          f"{', '.join(CHECK_IN_FROM)}", reason="transition",
                          allowed=tuple(s for s in ("arrived",) if session.status in _MOVES_TO_ARRIVED))
        patient = Patient.get_by_id(session.patient_id)
        today = now.astimezone(settings.tz).date()
        answers = _checked(answers)
        result = evaluate(settings, session.treatment.code, answers, patient=PatientFacts.of(patient), today=today)
        at = to_utc(now, settings.tz)
        values = {
            "escort_name": answers.escort_name or session.escort_name,
            "escort_phone": answers.escort_phone or session.escort_phone,
            "bp_systolic": answers.bp_systolic,
            "bp_diastolic": answers.bp_diastolic,
            "phq9": answers.phq9,
            "gate_json": json.dumps({
                "answers": dataclasses.asdict(answers), "passed": result.passed, "failed": list(result.failed),
                "flags": list(result.flags), "checked_at": at.isoformat(), "checked_by": actor,
            }, sort_keys=True),
        }
        flags = result.flags + (() if result.passed else ("gate_failed",))
        if session.status in _MOVES_TO_ARRIVED:
            lifecycle.check_arrival_day(settings, session, now)
            step = lifecycle.apply_step(settings, session, "arrived", actor=actor, now=now, values=values, flags=flags)
        else:
            lifecycle.write_session(session, values, action="session.check_in", actor=actor, at=at)
            step = lifecycle.StepResult(session.id, session.status, session.status, now, session.version, flags)
        _update_escort(patient, answers, actor=actor, at=at)
        return step, result
