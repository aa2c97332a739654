"""Where a session can go: the reasons a start cannot be booked, free chairs, free slots.

Pure reads, no writes. Times come in as clinic wall-clock (naive) or naive UTC and
go out as aware datetimes in the clinic zone. Every check reads the active sessions
that touch its window in ONE indexed query and then decides in Python, so offering
slots for a month costs one small query per open day, never one per candidate.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

from keta_tui.db.models import ACTIVE_STATUSES, Chair, Session

from .clock import UTC, day_bounds_utc, to_local, to_utc
from .errors import Refused
from .settings import ClinicSettings, TreatmentSpec

# No session spans a whole day (they sit inside opening hours), so a session that
# touches a window started less than a day before it: bounds the indexed range scan.
LONGEST_SESSION = dt.timedelta(days=1)
# How far free_slots looks when no end date is given.
DEFAULT_HORIZON_DAYS = 90


@dataclass(frozen=True)
class Slot:
    start: dt.datetime  # aware, clinic zone
    end: dt.datetime  # aware, end of minimum monitoring
    chair_id: int
    chair_name: str


@dataclass(frozen=True)
class ChairInfo:
    id: int
    name: str
    routes: tuple[str, ...]
    out_of_service_reason: str | None

    def hosts(self, route: str) -> bool:
        return route in self.routes


@dataclass(frozen=True)
class BookedSpan:
    """An active session as the overlap checks need it (naive UTC)."""

    id: int
    chair_id: int | None
    patient_id: int
    start_at: dt.datetime
    end_at: dt.datetime
    busy_until: dt.datetime


def clinic_chairs() -> list[ChairInfo]:
    """The chairs in board order, retired ones left out."""
    rows = (Chair.select(Chair.id, Chair.name, Chair.routes, Chair.out_of_service_reason)
            .where(Chair.retired == False)  # noqa: E712 (peewee expression)
            .order_by(Chair.position, Chair.id).tuples())
    return [ChairInfo(cid, name, tuple(r for r in routes.split(",") if r), reason or None)
            for cid, name, routes, reason in rows]


def _active_sessions(window_start: dt.datetime, window_end: dt.datetime,
                     exclude_ids: Iterable[int] = ()) -> list[BookedSpan]:
    """Active sessions whose busy span touches [window_start, window_end), naive UTC."""
    query = (Session.select(Session.id, Session.chair, Session.patient, Session.start_at,
                            Session.end_at, Session.busy_until)
             .where(Session.start_at < window_end,
                    Session.start_at > window_start - LONGEST_SESSION,
                    Session.busy_until > window_start,
                    Session.status.in_(ACTIVE_STATUSES)))
    excluded = list(exclude_ids)
    if excluded:
        query = query.where(Session.id.not_in(excluded))
    return [BookedSpan(*row) for row in query.tuples()]


class ChairLoad:
    """The active sessions of a window, answering overlap questions in memory."""

    def __init__(self, sessions: Sequence[BookedSpan]):
        self.by_chair: dict[int, list[BookedSpan]] = {}
        self.by_patient: dict[int, list[BookedSpan]] = {}
        for booked in sessions:
            if booked.chair_id is not None:
                self.by_chair.setdefault(booked.chair_id, []).append(booked)
            self.by_patient.setdefault(booked.patient_id, []).append(booked)

    def chair_taken_until(self, chair_id: int, start: dt.datetime, busy_until: dt.datetime) -> dt.datetime | None:
        """When the latest session overlapping [start, busy_until) frees the chair, or None."""
        ends = [b.busy_until for b in self.by_chair.get(chair_id, ())
                if b.start_at < busy_until and start < b.busy_until]
        return max(ends) if ends else None

    def patient_clash(self, patient_id: int | None, start: dt.datetime, end: dt.datetime) -> BookedSpan | None:
        # Same rule as the database trigger: a patient's spans (without turnover) must not overlap.
        if patient_id is None:
            return None
        for booked in self.by_patient.get(patient_id, ()):
            if booked.start_at < end and start < booked.end_at:
                return booked
        return None

    def first_free_chair(self, chairs: Sequence[ChairInfo], route: str, start: dt.datetime,
                         busy_until: dt.datetime) -> ChairInfo | None:
        for chair in chairs:
            if (chair.hosts(route) and chair.out_of_service_reason is None
                    and self.chair_taken_until(chair.id, start, busy_until) is None):
                return chair
        return None


def _hhmm(moment_utc: dt.datetime, settings: ClinicSettings) -> str:
    return f"{to_local(moment_utc, settings.tz):%H:%M}"


def _hours_problem(settings: ClinicSettings, spec: TreatmentSpec, start_local: dt.datetime,
                   start_utc: dt.datetime, end_utc: dt.datetime) -> Refused | None:
    day = start_local.date()
    reason = settings.closure_reason(day)
    if reason:
        return Refused(f"refused: closed: {reason} ({day:%a %Y-%m-%d}); pick another day", reason="closed")
    opens, closes = settings.opening(day)
    opening_local = dt.datetime.combine(day, opens)
    closing_utc = to_utc(dt.datetime.combine(day, closes), settings.tz)
    if start_local < opening_local:
        return Refused(f"refused: {start_local:%H:%M} is before opening ({opens:%H:%M}) on {day:%a %Y-%m-%d}",
                       reason="outside_hours")
    if end_utc > closing_utc:
        return Refused(f"refused: {spec.code} at {start_local:%H:%M} runs until {_hhmm(end_utc, settings)}, "
                       f"past closing ({closes:%H:%M}); start earlier", reason="outside_hours")
    return None


def _chair_problem(settings: ClinicSettings, spec: TreatmentSpec, chair: ChairInfo, load: ChairLoad,
                   start_utc: dt.datetime, busy_until: dt.datetime) -> Refused | None:
    if not chair.hosts(spec.route):
        able = ", ".join(c.name for c in clinic_chairs() if c.hosts(spec.route)) or "none"
        return Refused(f"refused: {chair.name} cannot host {spec.route} treatments (chairs that can: {able})",
                       reason="route")
    if chair.out_of_service_reason is not None:
        return Refused(f"refused: {chair.name} is out of service ({chair.out_of_service_reason}); pick another chair",
                       reason="out_of_service")
    taken_until = load.chair_taken_until(chair.id, start_utc, busy_until)
    if taken_until is not None:
        return Refused(f"refused: {chair.name} is taken until {_hhmm(taken_until, settings)}", reason="chair_taken")
    return None


def slot_problem(settings: ClinicSettings, treatment_code: str, start_local: dt.datetime, *,
                 patient_id: int | None, chair_id: int | None, now: dt.datetime,
                 exclude_ids: Iterable[int] = ()) -> Refused | None:
    """The first reason ``start_local`` (naive clinic wall-clock) cannot be booked, or None.

    Reasons in order: past, closed, outside_hours, route, out_of_service, chair_taken,
    patient_busy, no_chair. ``chair_id`` None means any chair; ``exclude_ids`` are
    sessions to ignore (the one being moved).
    """
    spec = settings.treatment(treatment_code)
    start_utc, end_utc, busy_until = spec.span(to_utc(start_local, settings.tz))
    if start_utc < now.astimezone(UTC).replace(tzinfo=None):
        return Refused(f"refused: {start_local:%Y-%m-%d %H:%M} is in the past; pick a later time", reason="past")
    problem = _hours_problem(settings, spec, start_local, start_utc, end_utc)
    if problem:
        return problem
    load = ChairLoad(_active_sessions(start_utc, busy_until, exclude_ids))
    chairs = clinic_chairs()
    if chair_id is not None:
        chair = next((c for c in chairs if c.id == chair_id), None)
        if chair is None:
            return Refused("refused: that chair is retired; pick another chair", reason="out_of_service")
        problem = _chair_problem(settings, spec, chair, load, start_utc, busy_until)
        if problem:
            return problem
    clash = load.patient_clash(patient_id, start_utc, end_utc)
    if clash is not None:
        return Refused(f"refused: the patient already has a session {_hhmm(clash.start_at, settings)}-"
                       f"{_hhmm(clash.end_at, settings)} that day", reason="patient_busy")
    if chair_id is None and load.first_free_chair(chairs, spec.route, start_utc, busy_until) is None:
        return Refused(f"refused: no chair for {spec.route} treatments is free at {start_local:%H:%M} "
                       f"on {start_local:%a %Y-%m-%d}", reason="no_chair")
    return None


def free_chair_id(settings: ClinicSettings, treatment_code: str, start_utc: dt.datetime, *,
                  exclude_ids: Iterable[int] = ()) -> int | None:
    """The first chair (board order) that hosts the route, is in service and is free."""
    spec = settings.treatment(treatment_code)
    start_utc, _end, busy_until = spec.span(start_utc)
    load = ChairLoad(_active_sessions(start_utc, busy_until, exclude_ids))
    chair = load.first_free_chair(clinic_chairs(), spec.route, start_utc, busy_until)
    return chair.id if chair else None


def day_starts(settings: ClinicSettings, spec: TreatmentSpec, day: dt.date) -> list[dt.datetime]:
    """Grid starts (naive wall-clock) on a day whose minimum monitoring ends by closing."""
    opening = settings.opening(day)
    if opening is None:
        return []
    opens, closes = opening
    step = settings.rules.slot_minutes
    opens_min = opens.hour * 60 + opens.minute
    first_min = -(-opens_min // step) * step  # the first grid mark at or after opening
    closing = dt.datetime.combine(day, closes)
    midnight = dt.datetime.combine(day, dt.time())
    starts = []
    minute = first_min
    while True:
        start = midnight + dt.timedelta(minutes=minute)
        if start + dt.timedelta(minutes=spec.chair_minutes) > closing:
            return starts
        starts.append(start)
        minute += step


def free_slots(settings: ClinicSettings, treatment_code: str, *, now: dt.datetime, count: int = 5,
               start: dt.date | None = None, until: dt.date | None = None,
               weekdays: Iterable[int] | None = None, around: dt.time | None = None,
               chair_id: int | None = None, patient_id: int | None = None) -> list[Slot]:
    """The next ``count`` free starts on the slot grid, day by day from ``start``.

    ``weekdays`` are date.weekday() numbers; ``around`` orders each day's candidates by
    distance to that time (earlier first on a tie). At most one Slot per start time,
    on the first free chair in board order (or only ``chair_id``).
    """
    spec = settings.treatment(treatment_code)
    tz = settings.tz
    now_utc = now.astimezone(UTC).replace(tzinfo=None)
    today = now.astimezone(tz).date()
    day = max(start or today, today)
    last_day = until or day + dt.timedelta(days=DEFAULT_HORIZON_DAYS)
    allowed_days = set(weekdays) if weekdays is not None else None
    chairs = [c for c in clinic_chairs() if chair_id is None or c.id == chair_id]
    slots: list[Slot] = []
    while day <= last_day and len(slots) < count:
        starts = [] if allowed_days is not None and day.weekday() not in allowed_days else \
            day_starts(settings, spec, day)
        if around is not None:
            target = dt.datetime.combine(day, around)
            starts.sort(key=lambda s: (abs((s - target).total_seconds()), s))
        if starts:
            load = ChairLoad(_active_sessions(*day_bounds_utc(day, tz)))
            for start_local in starts:
                start_utc, end_utc, busy_until = spec.span(to_utc(start_local, tz))
                if start_utc < now_utc or load.patient_clash(patient_id, start_utc, end_utc):
                    continue
                chair = load.first_free_chair(chairs, spec.route, start_utc, busy_until)
                if chair is not None:
                    slots.append(Slot(to_local(start_utc, tz), to_local(end_utc, tz), chair.id, chair.name))
                    if len(slots) >= count:
                        break
        day += dt.timedelta(days=1)
    return slots
