"""The session lifecycle: each step along an edge of :data:`states.TRANSITIONS`, and undo.

A step stamps its ``*_at`` column (``closed_at`` for the exits), writes a
:class:`StatusChange` row and an audit entry, and bumps the session's version, all in
one :func:`store.writing` transaction. ``undo`` reverses the last step that has not
been undone; it writes no StatusChange of its own but marks the reversed one
``undone``, so the kept history is always a chain of allowed edges.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from keta_tui.db.models import AuditEntry, Chair, Session, StatusChange

from . import forms, gate  # these call back into lifecycle only at run time
from .clock import to_local, to_utc
from .courses import MISSED_STATUSES, reflow_after_miss
from .errors import BadInput, NotFound, Refused
from .settings import ClinicSettings
from .states import ACTIVE_STATUSES, CLOSED_STATUSES, IN_CHAIR, LABELS, NEXT_STEP, SESSION_STATUSES, TRANSITIONS
from .store import audit, check_version, snapshot, writing

__all__ = ["StepResult", "advance", "cancel", "no_show", "defer", "left_without_treatment",
           "entered_in_error", "undo", "apply_step", "write_session", "load_session", "STEP_STAMP"]

# The column each forward step stamps; every exit stamps ``closed_at``.
STEP_STAMP = {
    "confirmed": "confirmed_at",
    "arrived": "arrived_at",
    "seated": "seated_at",
    "dosing": "dosing_at",
    "monitoring": "monitoring_at",
    "ready_to_leave": "ready_at",
    "discharged": "discharged_at",
}
# The audit action marking a miss that re-planned its course: such a miss is not undone.
REFLOWED_ACTION = "session.course_reflowed"
# Exits that have their own service, and what that service needs.
_EXIT_ACTIONS = {
    "cancelled": "cancel, with a reason",
    "deferred": "defer, with a reason",
    "left_without_treatment": "left without treatment, with a reason",
    "entered_in_error": "entered in error, with a reason",
    "rescheduled": "reschedule, with the new time",
}


@dataclass(frozen=True)
class StepResult:
    session_id: int
    from_status: str
    to_status: str
    at: dt.datetime  # aware UTC
    version: int
    flags: tuple[str, ...] = ()


def stamp_column(status: str) -> str:
    return STEP_STAMP.get(status, "closed_at")


def load_session(session_id: int) -> Session:
    session = Session.get_or_none(Session.id == session_id)
    if session is None:
        raise NotFound(f"no session {session_id} (check the id on the board or in 'keta today')")
    return session


def _naive_utc(now: dt.datetime, settings: ClinicSettings) -> dt.datetime:
    return to_utc(now, settings.tz)


def _clock(moment_utc: dt.datetime, settings: ClinicSettings) -> str:
    return f"{to_local(moment_utc, settings.tz):%H:%M}"


def _allowed_words(status: str) -> str:
    allowed = TRANSITIONS.get(status, ())
    return ", ".join(allowed) if allowed else "none (the session is closed)"


def edge_refusal(session: Session, to_status: str) -> Refused:
    """The refusal for a step the session's status does not allow, listing what is allowed."""
    return Refused(
        f"refused: session {session.id} is {LABELS[session.status]} and cannot go to {to_status}; "
        f"allowed next: {_allowed_words(session.status)}",
        reason="transition", allowed=TRANSITIONS.get(session.status, ()))


def apply_step(settings: ClinicSettings, session: Session, to_status: str, *, actor: str, now: dt.datetime,
               values: dict | None = None, flags: tuple[str, ...] = ()) -> StepResult:
    """Move a session loaded inside an open :func:`writing` along one allowed edge.

    Stamps the step's column, records the StatusChange and the audit entry, bumps the
    version. ``values`` are further columns written with the step (gate answers, reason...).
    Other services that change a status call it inside their own transaction.
    """
    if to_status not in TRANSITIONS.get(session.status, ()):
        raise edge_refusal(session, to_status)
    at = _naive_utc(now, settings)
    from_status = session.status
    changes = {"status": to_status, stamp_column(to_status): at, **(values or {})}
    write_session(session, changes, action=f"session.{to_status}", actor=actor, at=at)
    StatusChange.create(session=session.id, from_status=from_status, to_status=to_status, at=at, actor=actor)
    return StepResult(session.id, from_status, to_status, now, session.version, flags)


def write_session(session: Session, changes: dict, *, action: str, actor: str, at: dt.datetime) -> None:
    """Write changed columns of a loaded session, bump its version and audit before/after."""
    before = snapshot(session, changes)
    for name, value in changes.items():
        setattr(session, name, value)
    after = snapshot(session, changes)
    session.version += 1
    Session.update(**changes, version=session.version, updated_at=at, updated_by=actor
                   ).where(Session.id == session.id).execute()
    audit(actor, action, "session", session.id, before, after, at=at)


# --- the rules each forward step checks ----------------------------------------------


def check_arrival_day(settings: ClinicSettings, session: Session, now: dt.datetime) -> None:
    session_day = to_local(session.start_at, settings.tz).date()
    if now.astimezone(settings.tz).date() < session_day:
        raise Refused(f"refused: session {session.id} is on {session_day:%a %Y-%m-%d}; "
                      "a patient can be checked in from that day", reason="too_early")


def _check_chair(session: Session) -> None:
    if session.chair_id is None:
        raise Refused(f"refused: session {session.id} has no chair; reschedule it onto a chair first",
                      reason="chair")
    chair = Chair.get_by_id(session.chair_id)
    if chair.out_of_service_reason:
        raise Refused(f"refused: {chair.name} is out of service ({chair.out_of_service_reason}); "
                      "reschedule onto another chair", reason="out_of_service")
    occupant = (Session.select(Session.id, Session.status)
                .where(Session.chair == session.chair_id, Session.id != session.id,
                       Session.status.in_(IN_CHAIR))
                .first())
    if occupant is not None:
        raise Refused(f"refused: {chair.name} still holds session {occupant.id} ({LABELS[occupant.status]}); "
                      "discharge or move that patient first", reason="chair_occupied")


def _check_gate(settings: ClinicSettings, session: Session, now: dt.datetime) -> None:
    result = gate.stored_result(settings, session, today=now.astimezone(settings.tz).date())
    if not result.passed:
        raise Refused(f"refused: session {session.id} has not passed the check-in gate: "
                      f"{'; '.join(result.problems())}; check the patient in again or defer",
                      reason="gate")


def _check_monitoring_done(settings: ClinicSettings, session: Session, now: dt.datetime) -> None:
    spec = settings.treatment(session.treatment.code)
    earliest = spec.earliest_ready(session.dosing_at)
    if _naive_utc(now, settings) < earliest:
        raise Refused(f"refused: minimum monitoring for session {session.id} ends at "
                      f"{_clock(earliest, settings)}; ready to leave is possible from then",
                      reason="monitoring")


def _form_due_on(settings: ClinicSettings, session: Session) -> dt.date | None:
    """An esketamine session owes a REMS monitoring form once it reaches monitoring."""
    if not forms.under_rems(settings.treatment(session.treatment.code)):
        return None
    dosing_day = to_local(session.dosing_at, settings.tz).date()
    return dosing_day + dt.timedelta(days=settings.rules.rems_form_days)


def advance(settings: ClinicSettings, session_id: int, *, to: str | None = None, actor: str,
            now: dt.datetime, version: int | None = None) -> StepResult:
    """Take the next desk step (or ``to``), refusing an edge TRANSITIONS does not allow."""
    if to is not None and to not in SESSION_STATUSES:
        raise BadInput(f"unknown state '{to}' (states: {', '.join(SESSION_STATUSES)})")
    if to == "no_show":
        return no_show(settings, session_id, actor=actor, now=now, version=version)
    if to in CLOSED_STATUSES:
        raise BadInput(f"{LABELS[to]} is its own action: use {_EXIT_ACTIONS[to]}")
    with writing():
        session = load_session(session_id)
        check_version(session, version, "session")
        target = to or NEXT_STEP.get(session.status)
        if target is None or target not in TRANSITIONS.get(session.status, ()):
            raise edge_refusal(session, target or "a next step")
        values: dict = {}
        if target == "arrived":
            check_arrival_day(settings, session, now)
        elif target == "seated":
            _check_chair(session)
        elif target == "dosing":
            _check_gate(settings, session, now)
        elif target == "monitoring":
            values["form_due_on"] = _form_due_on(settings, session)
        elif target == "ready_to_leave":
            _check_monitoring_done(settings, session, now)
        return apply_step(settings, session, target, actor=actor, now=now, values=values)


# --- exits --------------------------------------------------------------------------


def _required_reason(reason: str, action: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise BadInput(f"a reason is required to {action} (e.g. \"patient unwell\")")
    return text


def _close(settings: ClinicSettings, session_id: int, to_status: str, *, reason: str, actor: str,
           now: dt.datetime, version: int | None) -> StepResult:
    with writing():
        session = load_session(session_id)
        check_version(session, version, "session")
        if to_status not in TRANSITIONS.get(session.status, ()):
            raise edge_refusal(session, to_status)
        values: dict = {"close_reason": reason}
        flags: tuple[str, ...] = ()
        if to_status == "cancelled":
            late_from = session.start_at - dt.timedelta(hours=settings.rules.late_cancel_hours)
            if _naive_utc(now, settings) > late_from:
                values["late_cancel"] = True
                flags = ("late_cancel",)
        if to_status == "no_show" and _naive_utc(now, settings) < session.start_at:
            raise Refused(f"refused: session {session.id} starts at {_clock(session.start_at, settings)}; "
                          "a no-show can be marked from then", reason="too_early")
        result = apply_step(settings, session, to_status, actor=actor, now=now, values=values, flags=flags)
        if to_status in MISSED_STATUSES and session.course_id:
            result = _reflow(settings, session, result, actor=actor, now=now)
        return result


def _reflow(settings: ClinicSettings, session: Session, result: StepResult, *, actor: str,
            now: dt.datetime) -> StepResult:
    """A missed induction dose moves the rest of the course (courses.py decides how)."""
    last_entry = AuditEntry.select(AuditEntry.id).order_by(AuditEntry.id.desc()).scalar()
    new_session = reflow_after_miss(settings, session.id, actor=actor, now=now)
    replanned = (AuditEntry.select().where(AuditEntry.id > last_entry, AuditEntry.action == "course.reflow")
                 .exists())
    if not replanned:
        return result
    # Kept on the session so undo knows this miss re-planned its course.
    audit(actor, REFLOWED_ACTION, "session", session.id, after={"course": session.course_id,
                                                               "new_session": new_session},
          at=_naive_utc(now, settings))
    return dataclasses.replace(result, flags=result.flags + ("course_reflowed",))


def cancel(settings: ClinicSettings, session_id: int, *, reason: str, actor: str, now: dt.datetime,
           version: int | None = None) -> StepResult:
    """Cancel before treatment; flagged late when under ``rules.late_cancel_hours`` before the start."""
    text = _required_reason(reason, "cancel")
    return _close(settings, session_id, "cancelled", reason=text, actor=actor, now=now, version=version)


def no_show(settings: ClinicSettings, session_id: int, *, actor: str, now: dt.datetime,
            version: int | None = None) -> StepResult:
    """The patient did not come; only from the session's start time on."""
    return _close(settings, session_id, "no_show", reason="", actor=actor, now=now, version=version)


def defer(settings: ClinicSettings, session_id: int, *, reason: str, actor: str, now: dt.datetime,
          version: int | None = None) -> StepResult:
    """Not treated today (usually the gate failed); to be rebooked."""
    text = _required_reason(reason, "defer")
    return _close(settings, session_id, "deferred", reason=text, actor=actor, now=now, version=version)


def left_without_treatment(settings: ClinicSettings, session_id: int, *, reason: str, actor: str,
                           now: dt.datetime, version: int | None = None) -> StepResult:
    text = _required_reason(reason, "record that the patient left without treatment")
    return _close(settings, session_id, "left_without_treatment", reason=text, actor=actor, now=now,
                  version=version)


def entered_in_error(settings: ClinicSettings, session_id: int, *, reason: str, actor: str,
                     now: dt.datetime, version: int | None = None) -> StepResult:
    """Void a session that should never have been recorded; it frees its slot."""
    text = _required_reason(reason, "mark a session entered in error")
    return _close(settings, session_id, "entered_in_error", reason=text, actor=actor, now=now,
                  version=version)


# --- undo ---------------------------------------------------------------------------


def _slot_clash(settings: ClinicSettings, session: Session) -> Refused | None:
    """Whether re-activating a closed session would overlap what was booked since."""
    # (whose time, the span's end column, this session's end, reason, what the desk is told)
    holders = [(Session.patient == session.patient_id, Session.end_at, session.end_at, "patient_busy",
                "the patient now has session {id} at {at}")]
    if session.chair_id is not None:
        holders.insert(0, (Session.chair == session.chair_id, Session.busy_until, session.busy_until,
                           "chair_taken", "the chair is now booked for session {id} at {at}"))
    for owner, end_column, own_end, reason, what in holders:
        clash = (Session.select(Session.id, Session.start_at)
                 .where(owner, Session.id != session.id, Session.status.in_(ACTIVE_STATUSES),
                        Session.start_at < own_end, end_column > session.start_at)
                 .first())
        if clash is not None:
            told = what.format(id=clash.id, at=_clock(clash.start_at, settings))
            return Refused(f"refused: cannot undo: {told}; book a new time instead", reason=reason)
    return None


def undo(settings: ClinicSettings, session_id: int, *, actor: str, now: dt.datetime,
         version: int | None = None) -> StepResult:
    """Reverse the session's last step that has not been undone yet.

    Pass the ``version`` the desk saw, so two desks pressing undo at once reverse one
    step, not two. Gate answers stay on the session; the next check-in replaces them.
    """
    with writing():
        session = load_session(session_id)
        check_version(session, version, "session")
        last = (StatusChange.select()
                .where(StatusChange.session == session.id, StatusChange.undone == False)  # noqa: E712
                .order_by(StatusChange.id.desc())
                .first())
        if last is None or last.to_status != session.status:
            raise Refused(f"refused: session {session.id} has no step to undo", reason="undo")
        if last.to_status == "rescheduled":
            replacement = f" by session {session.replaced_by_id}" if session.replaced_by_id else ""
            raise Refused(f"refused: a reschedule cannot be undone: session {session.id} was replaced"
                          f"{replacement}; reschedule that one instead", reason="undo")
        if last.to_status in MISSED_STATUSES and AuditEntry.select().where(
                AuditEntry.entity == "session", AuditEntry.entity_id == session.id,
                AuditEntry.action == REFLOWED_ACTION).exists():
            raise Refused(f"refused: the course was re-planned after this {LABELS[last.to_status]} "
                          "(later sessions renumbered, one added); book the session again instead",
                          reason="undo")
        if last.to_status == "monitoring" and session.form_filed_at is not None:
            raise Refused(f"refused: the REMS form for session {session.id} is already filed; "
                          "monitoring cannot be undone", reason="undo")
        restored = last.from_status
        changes: dict = {"status": restored, stamp_column(last.to_status): None}
        if last.to_status in CLOSED_STATUSES:
            changes.update(close_reason="", late_cancel=False)
        if last.to_status == "monitoring":
            changes["form_due_on"] = None
        if last.to_status not in ACTIVE_STATUSES and restored in ACTIVE_STATUSES:
            clash = _slot_clash(settings, session)
            if clash is not None:
                raise clash
        write_session(session, changes, action="session.undo", actor=actor, at=_naive_utc(now, settings))
        StatusChange.update(undone=True).where(StatusChange.id == last.id).execute()
        return StepResult(session.id, last.to_status, restored, now, session.version, ("undo",))
