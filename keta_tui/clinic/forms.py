"""Esketamine REMS patient monitoring forms: which are owed, by when, and filing one.

A session of a REMS treatment owes a form once it reaches monitoring (lifecycle sets
``form_due_on`` = clinic-local dosing date + ``rules.rems_form_days``). The times the
form asks for come from the session's own timestamps: the first device is the start
of dosing, the end of monitoring is the ready-to-leave step (or discharge).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from keta_tui.db.models import Patient, Session, Treatment

from . import lifecycle  # the two modules call each other only at run time
from .clock import to_local, to_utc
from .errors import Refused
from .settings import ClinicSettings, TreatmentSpec
from .store import check_version, writing

__all__ = ["OwedForm", "under_rems", "owed_forms", "form_detail", "file_form", "MID_MONITORING_BP_MINUTES"]

# The form's middle blood-pressure check is "at about 40 minutes" after the first device.
MID_MONITORING_BP_MINUTES = 40


def under_rems(spec: TreatmentSpec) -> bool:
    """Esketamine (the nasal route) falls under the REMS programme and owes monitoring forms."""
    return spec.route == "nasal"


@dataclass(frozen=True)
class OwedForm:
    session_id: int
    patient_id: int
    patient_name: str  # "Last, First"
    treatment_code: str
    session_date: dt.date
    due_on: dt.date
    overdue: bool
    first_device_at: dt.datetime  # aware, clinic zone
    monitoring_end_at: dt.datetime | None  # aware, clinic zone; None while still monitoring
    monitoring_minutes: int | None
    bp_checks: tuple[tuple[str, dt.datetime], ...]  # ("before dosing", t), ("~40 min", t), ("before discharge", t)
    filed_at: dt.datetime | None = None  # aware, clinic zone
    filed_by: str = ""


_COLUMNS = (Session.id, Session.patient, Session.start_at, Session.dosing_at, Session.ready_at,
            Session.discharged_at, Session.gate_json, Session.form_due_on, Session.form_filed_at,
            Session.form_filed_by, Treatment.code, Patient.first_name, Patient.last_name)


def _query():
    return (Session.select(*_COLUMNS)
            .join(Treatment, on=(Session.treatment == Treatment.id))
            .switch(Session)
            .join(Patient, on=(Session.patient == Patient.id)))


def _checked_in_at(gate_json: str) -> dt.datetime | None:
    """When the check-in (and its blood pressure) was recorded, from the stored gate."""
    try:
        text = json.loads(gate_json or "{}").get("checked_at")
        return dt.datetime.fromisoformat(text) if text else None
    except (ValueError, AttributeError, TypeError):
        return None


def _owed(row: tuple, settings: ClinicSettings, today: dt.date) -> OwedForm:
    (session_id, patient_id, start_at, dosing_at, ready_at, discharged_at, gate_json, due_on, filed_at,
     filed_by, treatment_code, first_name, last_name) = row
    tz = settings.tz
    monitoring_end = ready_at or discharged_at
    minutes = int((monitoring_end - dosing_at).total_seconds() // 60) if monitoring_end else None
    checked_in = _checked_in_at(gate_json)
    checks = [("before dosing", to_local(checked_in if checked_in and checked_in <= dosing_at else dosing_at, tz)),
              (f"~{MID_MONITORING_BP_MINUTES} min",
               to_local(dosing_at + dt.timedelta(minutes=MID_MONITORING_BP_MINUTES), tz))]
    if monitoring_end:
        checks.append(("before discharge", to_local(monitoring_end, tz)))
    return OwedForm(
        session_id=session_id,
        patient_id=patient_id,
        patient_name=f"{last_name}, {first_name}",
        treatment_code=treatment_code,
        session_date=to_local(start_at, tz).date(),
        due_on=due_on,
        overdue=filed_at is None and due_on < today,
        first_device_at=to_local(dosing_at, tz),
        monitoring_end_at=to_local(monitoring_end, tz) if monitoring_end else None,
        monitoring_minutes=minutes,
        bp_checks=tuple(checks),
        filed_at=to_local(filed_at, tz) if filed_at else None,
        filed_by=filed_by,
    )


def owed_forms(settings: ClinicSettings, *, now: dt.datetime, limit: int | None = None) -> list[OwedForm]:
    """Forms not filed yet for sessions that reached monitoring, soonest deadline first."""
    today = now.astimezone(settings.tz).date()
    query = (_query()
             .where(Session.form_due_on.is_null(False), Session.form_filed_at.is_null(),
                    Session.dosing_at.is_null(False), Session.status != "entered_in_error")
             .order_by(Session.form_due_on, Session.start_at, Session.id))
    if limit is not None:
        query = query.limit(limit)
    return [_owed(row, settings, today) for row in query.tuples()]


def _no_form(session_id: int) -> Refused:
    return Refused(f"refused: session {session_id} owes no REMS monitoring form "
                   "(only esketamine sessions that reached monitoring do)", reason="form")


def form_detail(settings: ClinicSettings, session_id: int, *, now: dt.datetime | None = None) -> OwedForm:
    """One session's form: its deadline and the times it asks for (filed or not)."""
    lifecycle.load_session(session_id)  # NotFound for an unknown id
    row = _query().where(Session.id == session_id).tuples().first()
    if row[7] is None or row[3] is None:
        raise _no_form(session_id)
    # Without "now" nothing can be overdue: callers that show the deadline pass it.
    today = now.astimezone(settings.tz).date() if now else dt.date.min
    return _owed(row, settings, today)


def file_form(settings: ClinicSettings, session_id: int, *, actor: str, now: dt.datetime,
              version: int | None = None) -> None:
    """Mark a session's monitoring form filed (once monitoring has ended)."""
    with writing():
        session = lifecycle.load_session(session_id)
        check_version(session, version, "session")
        if session.form_due_on is None or session.dosing_at is None or session.status == "entered_in_error":
            raise _no_form(session_id)
        if session.form_filed_at is not None:
            raise Refused(f"refused: the form for session {session_id} was already filed by "
                          f"{session.form_filed_by or 'another desk'} on "
                          f"{to_local(session.form_filed_at, settings.tz):%Y-%m-%d %H:%M}", reason="form")
        if session.ready_at is None and session.discharged_at is None:
            raise Refused(f"refused: session {session_id} is still in monitoring; file the form once the "
                          "patient is ready to leave", reason="form")
        at = to_utc(now, settings.tz)
        lifecycle.write_session(session, {"form_filed_at": at, "form_filed_by": actor}, action="session.form_filed",
                      actor=actor, at=at)
