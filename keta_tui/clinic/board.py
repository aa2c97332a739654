"""The day board as plain data: a day's sessions and what each chair is doing.

``load_day`` reads a day with three small queries (marker, chairs, the day's sessions
joined with patient, treatment, chair and course). Everything that depends on the
passing of time (chair states, flags, call lists) is a PURE function of those rows and
"now", so the TUI re-runs it on every clock tick without touching the database.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from peewee import JOIN

from keta_tui.db.base import database_proxy
from keta_tui.db.models import Chair, Course, Patient, Session, Treatment

from .clock import day_bounds_utc, to_local
from .settings import ClinicSettings
from .states import IN_CHAIR
from .store import change_marker

# Flag code -> the words shown next to a session (never colour alone).
FLAGS = {
    "late": "late",
    "no_escort": "no escort recorded",
    "no_consent": "no consent on file",
    "consent_expiring": "consent expiring",
    "consent_expired": "consent expired",
    "rems_not_enrolled": "not REMS enrolled",
    "rems_form_due": "REMS form due",
    "rems_form_overdue": "REMS form overdue",
    "gate_failed": "gate not met",
    "bp_high": "BP high",
    "late_cancel": "late cancel",
    "overdue_discharge": "ready, not discharged",
    "first_session": "first session",
}

CHAIR_STATES = ("available", "reserved", "seated", "dosing", "monitoring", "ready_to_leave",
                "turnover", "out_of_service")

# A chair shows "reserved" once its next patient has arrived or is due within this window.
RESERVED_WINDOW = dt.timedelta(minutes=30)

# Statuses still waiting for the patient to sit down.
WAITING = ("scheduled", "confirmed", "arrived")
# Statuses that no longer need anything from the desk before the session.
FINISHED = ("discharged", "cancelled", "no_show", "deferred", "left_without_treatment",
            "entered_in_error", "rescheduled")


@dataclass(frozen=True)
class SessionRow:
    id: int
    start: dt.datetime  # aware, clinic zone
    end: dt.datetime  # end of minimum monitoring, aware clinic zone
    patient_id: int
    patient_name: str  # "Last, First"
    patient_initials: str  # "J.S."
    phone: str
    treatment_code: str
    treatment_name: str
    route: str
    chair_id: int | None
    chair_name: str | None
    status: str
    course_id: int | None
    number: int | None
    of: int | None
    phase: str
    escort_name: str
    escort_phone: str
    arrived_at: dt.datetime | None
    seated_at: dt.datetime | None
    dosing_at: dt.datetime | None
    monitoring_at: dt.datetime | None
    ready_at: dt.datetime | None
    discharged_at: dt.datetime | None
    earliest_ready: dt.datetime | None
    flags: tuple[str, ...]
    version: int
    # What the pure flag and chair functions need besides the above.
    busy_until: dt.datetime | None = None  # chair free after turnover (planned)
    turnover_minutes: int = 0
    confirmed_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    late_cancel: bool = False
    close_reason: str = ""
    bp_systolic: int | None = None
    bp_diastolic: int | None = None
    consent_expires_on: dt.date | None = None
    rems_enrolled: bool = False
    form_due_on: dt.date | None = None
    form_filed_at: dt.datetime | None = None
    mrn: str = ""
    kind: str = ""

    @property
    def flag_words(self) -> tuple[str, ...]:
        return tuple(FLAGS.get(code, code) for code in self.flags)

    @property
    def course_label(self) -> str:
        """ "n/N" for a course session, "" otherwise."""
        if self.number is None:
            return ""
        return f"{self.number}/{self.of}" if self.of else str(self.number)

    @property
    def left_chair_at(self) -> dt.datetime | None:
        """When a seated patient got up (discharged, or left before treatment ended)."""
        if self.seated_at is None:
            return None
        if self.discharged_at is not None:
            return self.discharged_at
        return self.closed_at if self.status in FINISHED else None


@dataclass(frozen=True)
class ChairRow:
    id: int
    name: str
    routes: tuple[str, ...]
    state: str  # one of CHAIR_STATES
    session_id: int | None
    patient_name: str | None
    patient_initials: str | None
    treatment_code: str | None
    milestone: str  # what the live timer counts to: "may leave", "turnover ends", "next patient", ""
    milestone_at: dt.datetime | None  # aware
    since: dt.datetime | None  # when the current state began
    overdue: bool
    reason: str  # out-of-service reason, "" when in service


@dataclass(frozen=True)
class DayBoard:
    day: dt.date
    clinic_name: str
    timezone: str
    opening: tuple[dt.time, dt.time] | None
    closure: str | None
    chairs: tuple[ChairRow, ...]
    sessions: tuple[SessionRow, ...]
    marker: int  # store.change_marker() read in the same transaction
    generated_at: dt.datetime  # aware UTC "now" used

    def retimed(self, settings: ClinicSettings, now: dt.datetime) -> "DayBoard":
        """The same rows with flags and chair states recomputed for a later "now" (no query)."""
        sessions = tuple(replace(row, flags=session_flags(row, settings, now)) for row in self.sessions)
        return replace(self, sessions=sessions, chairs=chair_states(self.chairs, sessions, settings, now),
                       generated_at=now)


@dataclass(frozen=True)
class ConfirmationCall:
    session_id: int
    patient_id: int
    patient_name: str
    phone: str
    start: dt.datetime
    treatment_code: str
    confirmed: bool
    version: int


@dataclass(frozen=True)
class PickupCall:
    session_id: int
    patient_id: int
    patient_name: str
    chair_name: str | None
    escort_name: str
    escort_phone: str
    ready_by: dt.datetime  # expected ready-to-leave time (aware clinic zone)
    status: str


# --- pure parts: flags, chair states, call lists ------------------------------------


def session_flags(row: SessionRow, settings: ClinicSettings, now: dt.datetime) -> tuple[str, ...]:
    """Flag codes for a session at ``now`` (pure; re-run by the TUI on every tick)."""
    rules = settings.rules
    spec = settings.treatments.get(row.treatment_code)
    gate = spec.gate if spec is not None else {}
    grace = dt.timedelta(minutes=rules.late_grace_minutes)
    flags: list[str] = []
    status = row.status
    before_dosing = status in WAITING or status == "seated"
    if status in WAITING and status != "arrived" and now > row.start + grace:
        flags.append("late")
    if before_dosing and gate.get("escort", "off") != "off" and not row.escort_name.strip():
        flags.append("no_escort")
    if before_dosing and gate.get("consent", "off") != "off":
        session_day = row.start.date()
        if row.consent_expires_on is None:
            flags.append("no_consent")
        elif row.consent_expires_on < session_day:
            flags.append("consent_expired")
        elif row.consent_expires_on <= session_day + dt.timedelta(days=rules.consent_warning_days):
            flags.append("consent_expiring")
    if before_dosing and gate.get("rems", "off") != "off" and not row.rems_enrolled:
        flags.append("rems_not_enrolled")
    if row.form_due_on is not None and row.form_filed_at is None and status not in ("entered_in_error",):
        today = now.astimezone(row.start.tzinfo).date()
        flags.append("rems_form_overdue" if row.form_due_on < today else "rems_form_due")
    if status == "deferred":
        flags.append("gate_failed")
    if row.bp_systolic is not None and row.bp_diastolic is not None and status not in FINISHED[1:]:
        flag_systolic, flag_diastolic = rules.bp_flag
        if row.bp_systolic > flag_systolic or row.bp_diastolic > flag_diastolic:
            flags.append("bp_high")
    if status == "cancelled" and row.late_cancel:
        flags.append("late_cancel")
    if status in ("monitoring", "ready_to_leave") and row.earliest_ready is not None:
        ready_since = row.ready_at if status == "ready_to_leave" and row.ready_at else row.earliest_ready
        if now > ready_since + grace:
            flags.append("overdue_discharge")
    if row.number == 1 and row.kind != "booster" and status not in FINISHED:
        flags.append("first_session")
    return tuple(flags)


def _expected_ready(row: SessionRow) -> dt.datetime:
    return row.earliest_ready or row.end


def chair_states(chairs: Iterable, sessions: Sequence[SessionRow], settings: ClinicSettings,
                 now: dt.datetime) -> tuple[ChairRow, ...]:
    """Each chair's state at ``now`` from the day's sessions (pure, no database).

    ``chairs`` are ChairRow (or anything with ``id``, ``name``, ``routes``, ``reason``):
    a board's own chairs can be passed back in as time passes.
    """
    grace = dt.timedelta(minutes=settings.rules.late_grace_minutes)
    by_chair: dict[int, list[SessionRow]] = {}
    for row in sessions:
        if row.chair_id is not None:
            by_chair.setdefault(row.chair_id, []).append(row)
    return tuple(_chair_state(chair, sorted(by_chair.get(chair.id, ()), key=lambda r: r.start), now, grace)
                 for chair in chairs)


def _chair_state(chair, rows: list[SessionRow], now: dt.datetime, grace: dt.timedelta) -> ChairRow:
    base = dict(id=chair.id, name=chair.name, routes=tuple(chair.routes), reason=chair.reason or "")

    def made(state, row=None, milestone="", milestone_at=None, since=None, overdue=False, show_patient=True):
        return ChairRow(state=state, session_id=row.id if row else None,
                        patient_name=row.patient_name if row and show_patient else None,
                        patient_initials=row.patient_initials if row and show_patient else None,
                        treatment_code=row.treatment_code if row else None,
                        milestone=milestone, milestone_at=milestone_at, since=since, overdue=overdue, **base)

    if chair.reason:
        return made("out_of_service")

    upcoming = [r for r in rows if r.status in WAITING and r.end > now]
    next_row = upcoming[0] if upcoming else None

    in_chair = [r for r in rows if r.status in IN_CHAIR]
    if in_chair:
        row = in_chair[-1]
        if row.status == "seated":
            return made("seated", row, "dosing due", row.start, row.seated_at, now > row.start + grace)
        if row.status == "dosing":
            return made("dosing", row, "may leave", _expected_ready(row), row.dosing_at)
        if row.status == "monitoring":
            ready = _expected_ready(row)
            return made("monitoring", row, "may leave", ready, row.monitoring_at, now > ready + grace)
        ready_since = row.ready_at or _expected_ready(row)
        return made("ready_to_leave", row, "discharge", ready_since, row.ready_at, now > ready_since + grace)

    # Turnover: the last patient got up less than the treatment's turnover ago.
    left = [(r.left_chair_at, r) for r in rows if r.left_chair_at is not None and r.left_chair_at <= now]
    if left:
        left_at, row = max(left, key=lambda pair: pair[0])
        turnover_ends = left_at + dt.timedelta(minutes=row.turnover_minutes)
        if now < turnover_ends:
            overrun = next_row is not None and next_row.start < turnover_ends and now >= next_row.start
            return made("turnover", row, "turnover ends", turnover_ends, left_at, overrun, show_patient=False)
        freed_at = turnover_ends
    else:
        freed_at = None

    if next_row is not None and (next_row.status == "arrived" or next_row.start - now <= RESERVED_WINDOW):
        return made("reserved", next_row, "next patient", next_row.start, freed_at,
                    now > next_row.start + grace)
    if next_row is not None:
        return made("available", None, "next patient", next_row.start, freed_at)
    return made("available", since=freed_at)


def confirmation_list(sessions: Sequence[SessionRow]) -> list[ConfirmationCall]:
    """The calls to make for a day's sessions that are still only booked (pure)."""
    return [ConfirmationCall(session_id=r.id, patient_id=r.patient_id, patient_name=r.patient_name,
                             phone=r.phone, start=r.start, treatment_code=r.treatment_code,
                             confirmed=r.status == "confirmed" or r.confirmed_at is not None,
                             version=r.version)
            for r in sessions if r.status in ("scheduled", "confirmed")]


def pickup_list(sessions: Sequence[SessionRow], settings: ClinicSettings, now: dt.datetime) -> list[PickupCall]:
    """Escorts to call: patients in a chair expected ready within ``pickup_call_minutes`` (pure)."""
    horizon = now + dt.timedelta(minutes=settings.rules.pickup_call_minutes)
    calls = []
    for row in sessions:
        if row.status not in IN_CHAIR:
            continue
        ready_by = row.ready_at if row.status == "ready_to_leave" and row.ready_at else _expected_ready(row)
        if ready_by <= horizon:
            calls.append(PickupCall(session_id=row.id, patient_id=row.patient_id, patient_name=row.patient_name,
                                    chair_name=row.chair_name, escort_name=row.escort_name,
                                    escort_phone=row.escort_phone, ready_by=ready_by, status=row.status))
    return sorted(calls, key=lambda call: call.ready_by)


# --- reading the database -----------------------------------------------------------

_SESSION_COLUMNS = (
    Session.id, Session.start_at, Session.end_at, Session.busy_until, Session.patient, Session.chair,
    Session.course, Session.number, Session.phase, Session.kind, Session.status, Session.confirmed_at,
    Session.arrived_at, Session.seated_at, Session.dosing_at, Session.monitoring_at, Session.ready_at,
    Session.discharged_at, Session.closed_at, Session.late_cancel, Session.close_reason,
    Session.escort_name, Session.escort_phone, Session.bp_systolic, Session.bp_diastolic,
    Session.form_due_on, Session.form_filed_at, Session.version,
    Patient.first_name, Patient.last_name, Patient.phone, Patient.mrn, Patient.escort_name,
    Patient.escort_phone, Patient.consent_expires_on, Patient.rems_enrolled,
    Treatment.code, Treatment.name, Treatment.route, Treatment.turnover_minutes,
    Chair.name, Course.planned_sessions,
)


def _sessions_between(start_utc: dt.datetime, end_utc: dt.datetime, statuses: Sequence[str] | None = None):
    """ONE query: the sessions starting in [start, end) with everything a row shows."""
    query = (Session.select(*_SESSION_COLUMNS)
             .join(Patient, on=(Session.patient == Patient.id))
             .switch(Session).join(Treatment, on=(Session.treatment == Treatment.id))
             .switch(Session).join(Chair, join_type=JOIN.LEFT_OUTER, on=(Session.chair == Chair.id))
             .switch(Session).join(Course, join_type=JOIN.LEFT_OUTER, on=(Session.course == Course.id))
             .where((Session.start_at >= start_utc) & (Session.start_at < end_utc)))
    if statuses is not None:
        query = query.where(Session.status.in_(list(statuses)))
    return query.order_by(Session.start_at, Session.id).tuples()


def initials(first_name: str, last_name: str) -> str:
    """ "J.S." for Jane Smith: what privacy mode shows."""
    return "".join(f"{name.strip()[0].upper()}." for name in (first_name, last_name) if name.strip())


def _session_row(values: tuple, settings: ClinicSettings, now: dt.datetime) -> SessionRow:
    (sid, start_at, end_at, busy_until, patient_id, chair_id, course_id, number, phase, kind, status,
     confirmed_at, arrived_at, seated_at, dosing_at, monitoring_at, ready_at, discharged_at, closed_at,
     late_cancel, close_reason, escort_name, escort_phone, bp_systolic, bp_diastolic, form_due_on,
     form_filed_at, version, first_name, last_name, phone, mrn, usual_escort_name, usual_escort_phone,
     consent_expires_on, rems_enrolled, treatment_code, treatment_name, route, turnover_minutes,
     chair_name, planned_sessions) = values
    tz = settings.tz

    def local(moment):
        return None if moment is None else to_local(moment, tz)

    spec = settings.treatments.get(treatment_code)
    dosing_local = local(dosing_at)
    row = SessionRow(
        id=sid, start=local(start_at), end=local(end_at), patient_id=patient_id,
        patient_name=f"{last_name}, {first_name}", patient_initials=initials(first_name, last_name),
        phone=phone, treatment_code=treatment_code, treatment_name=treatment_name, route=route,
        chair_id=chair_id, chair_name=chair_name, status=status, course_id=course_id, number=number,
        of=planned_sessions if course_id is not None else None, phase=phase,
        # The session's own answer wins; otherwise the escort on the patient's record.
        escort_name=escort_name or usual_escort_name, escort_phone=escort_phone or usual_escort_phone,
        arrived_at=local(arrived_at), seated_at=local(seated_at), dosing_at=dosing_local,
        monitoring_at=local(monitoring_at), ready_at=local(ready_at), discharged_at=local(discharged_at),
        earliest_ready=spec.earliest_ready(dosing_local) if spec is not None and dosing_local else None,
        flags=(), version=version, busy_until=local(busy_until), turnover_minutes=turnover_minutes,
        confirmed_at=local(confirmed_at), closed_at=local(closed_at), late_cancel=bool(late_cancel),
        close_reason=close_reason, bp_systolic=bp_systolic, bp_diastolic=bp_diastolic,
        consent_expires_on=consent_expires_on, rems_enrolled=bool(rems_enrolled), form_due_on=form_due_on,
        form_filed_at=local(form_filed_at), mrn=mrn, kind=kind,
    )
    return replace(row, flags=session_flags(row, settings, now))


def day_opening(settings: ClinicSettings, day: dt.date, *, has_sessions: bool) -> tuple[
        tuple[dt.time, dt.time] | None, str | None]:
    """(opening hours, closure reason) of a day.

    A day that holds sessions was open when they were booked: its hours come from the
    weekly table, sparing ``keta today`` the holiday calendar's import.
    """
    if has_sessions and day not in settings.closure_dates:
        hours = settings.hours.get(day.weekday())
        if hours is None and day in settings.open_dates:
            hours = next(iter(settings.hours.values()))
        if hours is not None:
            return hours, None
    opening = settings.opening(day)
    return opening, None if opening is not None else settings.closure_reason(day)


def _chair_infos() -> list[ChairRow]:
    chairs = []
    for chair_id, name, routes, reason in (Chair.select(Chair.id, Chair.name, Chair.routes,
                                                        Chair.out_of_service_reason)
                                           .where(Chair.retired == False)  # noqa: E712 (SQL, not Python)
                                           .order_by(Chair.position, Chair.id).tuples()):
        chairs.append(ChairRow(id=chair_id, name=name, routes=tuple(r for r in routes.split(",") if r),
                               state="available", session_id=None, patient_name=None, patient_initials=None,
                               treatment_code=None, milestone="", milestone_at=None, since=None,
                               overdue=False, reason=reason or ""))
    return chairs


def load_day(settings: ClinicSettings, day: dt.date, *, now: dt.datetime) -> DayBoard:
    """A clinic day's board: three reads in one transaction (marker, chairs, sessions)."""
    start_utc, end_utc = day_bounds_utc(day, settings.tz)
    with database_proxy.atomic():
        marker = change_marker()
        chairs = _chair_infos()
        sessions = tuple(_session_row(values, settings, now) for values in _sessions_between(start_utc, end_utc))
    opening, closure = day_opening(settings, day, has_sessions=bool(sessions))
    return DayBoard(day=day, clinic_name=settings.name, timezone=settings.timezone, opening=opening,
                    closure=closure, chairs=chair_states(chairs, sessions, settings, now), sessions=sessions,
                    marker=marker, generated_at=now)


@dataclass(frozen=True)
class DaySchedule:
    """One day of ``load_upcoming``: its hours or closure and its active sessions."""

    day: dt.date
    opening: tuple[dt.time, dt.time] | None
    closure: str | None
    sessions: tuple[SessionRow, ...]


def load_upcoming(settings: ClinicSettings, start: dt.date, days: int, *, now: dt.datetime,
                  include_closed: bool = False) -> list[DaySchedule]:
    """The active sessions of ``days`` days from ``start``, by day (ONE sessions query)."""
    from keta_tui.db.models import ACTIVE_STATUSES

    tz = settings.tz
    start_utc = day_bounds_utc(start, tz)[0]
    end_utc = day_bounds_utc(start + dt.timedelta(days=max(days, 1) - 1), tz)[1]
    by_day: dict[dt.date, list[SessionRow]] = {}
    for values in _sessions_between(start_utc, end_utc, None if include_closed else ACTIVE_STATUSES):
        row = _session_row(values, settings, now)
        by_day.setdefault(row.start.date(), []).append(row)
    schedule = []
    for offset in range(max(days, 1)):
        day = start + dt.timedelta(days=offset)
        rows = tuple(by_day.get(day, ()))
        opening, closure = day_opening(settings, day, has_sessions=bool(rows))
        schedule.append(DaySchedule(day=day, opening=opening, closure=closure, sessions=rows))
    return schedule


def confirmation_calls(settings: ClinicSettings, day: dt.date, *, now: dt.datetime) -> list[ConfirmationCall]:
    """A day's confirmation call list (usually tomorrow's): name, phone, time, confirmed?"""
    start_utc, end_utc = day_bounds_utc(day, settings.tz)
    rows = [_session_row(values, settings, now)
            for values in _sessions_between(start_utc, end_utc, ("scheduled", "confirmed"))]
    return confirmation_list(rows)


def pickup_calls(settings: ClinicSettings, *, now: dt.datetime) -> list[PickupCall]:
    """Escorts to call now: today's patients in a chair who will be ready soon."""
    start_utc, end_utc = day_bounds_utc(now.astimezone(settings.tz).date(), settings.tz)
    rows = [_session_row(values, settings, now) for values in _sessions_between(start_utc, end_utc, IN_CHAIR)]
    return pickup_list(rows, settings, now)


# --- JSON ---------------------------------------------------------------------------


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def session_to_json(row: SessionRow) -> dict:
    """DESIGN.md's session object (plus a few extra keys)."""
    return {
        "id": row.id,
        "start": _iso(row.start),
        "end": _iso(row.end),
        "patient": {"id": row.patient_id, "name": row.patient_name},
        "treatment": row.treatment_code,
        "chair": row.chair_name,
        "status": row.status,
        "course": ({"id": row.course_id, "number": row.number, "of": row.of}
                   if row.course_id is not None else None),
        "flags": list(row.flags),
        "phase": row.phase,
        "escort": bool(row.escort_name.strip()),
        "earliest_ready": _iso(row.earliest_ready),
        "version": row.version,
    }


def chair_to_json(chair: ChairRow) -> dict:
    return {
        "name": chair.name,
        "state": chair.state,
        "session": chair.session_id,
        "milestone": chair.milestone,
        "milestone_at": _iso(chair.milestone_at),
        "overdue": chair.overdue,
        "reason": chair.reason,
    }


def _opening_json(opening: tuple[dt.time, dt.time] | None) -> dict | None:
    return None if opening is None else {"opens": opening[0].strftime("%H:%M"), "closes": opening[1].strftime("%H:%M")}


def day_to_json(board: DayBoard) -> dict:
    """The ``keta today --json`` object of DESIGN.md (extra keys allowed)."""
    return {
        "date": board.day.isoformat(),
        "clinic": board.clinic_name,
        "timezone": board.timezone,
        "open": _opening_json(board.opening),
        "closure": board.closure,
        "chairs": [chair_to_json(chair) for chair in board.chairs],
        "sessions": [session_to_json(row) for row in board.sessions],
        "generated_at": _iso(board.generated_at),
    }


def schedule_to_json(schedule: Sequence[DaySchedule]) -> dict:
    """The ``keta upcoming --json`` object: one entry per day."""
    return {"days": [{"date": item.day.isoformat(), "open": _opening_json(item.opening), "closure": item.closure,
                      "sessions": [session_to_json(row) for row in item.sessions]} for item in schedule]}
