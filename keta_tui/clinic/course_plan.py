"""Planning a treatment course: protocol phases expanded into dated sessions with chairs.

Dates come from dateutil ``rrule`` (WEEKLY, the phase's weekdays, ``interval`` =
every_weeks) expanded in naive clinic wall-clock time with ``dtstart`` always given.
The rule is never given a ``count``: it is iterated (bounded by ``until``), closure days
are skipped and the phase takes its first N open days, so a holiday moves a session to
the next allowed day of the pattern instead of costing one. Each wall-clock start is
then localised with :func:`~keta_tui.clinic.clock.to_utc`, so 10:00 stays 10:00 across
a DST change.

Phases follow one another: a phase starts on the first pattern day of the week after
the week holding the previous phase's last session.

Weekday override (``weekdays``): a phase that needs k sessions a week takes all the
given days when there are k or fewer (fewer a week means more weeks, never fewer
sessions), and otherwise k days spread evenly from the first to the last given day
(mon..fri for a twice-weekly phase gives mon and fri; for a weekly phase, mon).

Chairs: each session gets a free chair at the preferred time, the chair of the
previous session first; when none is free, the nearest free grid time that same day is
offered (ties go to the earlier time) and noted. A day without any free time, a day on
which the patient already has a session, and a time in the past are conflicts, listed
in the plan and never hidden. The plan reads the active sessions of its days in one
query and decides in memory; booking re-checks under the write lock.
"""
from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass
from functools import reduce
from typing import Iterable, Sequence

from dateutil.rrule import MO, WEEKLY, rrule

from keta_tui.db.models import ACTIVE_STATUSES, Patient, Session

from .availability import ChairInfo, BookedSpan, day_starts, ChairLoad, clinic_chairs
from .clock import UTC, day_bounds_utc, to_local, to_utc
from .errors import BadInput, NotFound
from .settings import WEEKDAYS, ClinicSettings, PhaseSpec, ProtocolSpec, TreatmentSpec, parse_weekdays  # noqa: F401

# How far a phase's rule is iterated looking for its open days: no clinic is closed that long.
EXPANSION_HORIZON = dt.timedelta(days=3 * 366)
# The default preferred time, when the patient has no earlier session: an hour after opening.
DEFAULT_AFTER_OPENING = dt.timedelta(hours=1)


@dataclass(frozen=True)
class PlannedSession:
    number: int
    phase: str
    start: dt.datetime  # aware, clinic zone
    end: dt.datetime  # aware, end of minimum monitoring
    chair_id: int | None
    chair_name: str | None
    note: str  # "moved from Mon 18 Jan (Martin Luther King Jr. Day)", "10:00 full, 10:30 offered"
    conflict: str | None  # why it cannot be booked, or None


@dataclass(frozen=True)
class CoursePlan:
    patient_id: int
    protocol_code: str
    treatment_code: str
    start_on: dt.date
    at: dt.time
    weekdays: tuple[int, ...] | None
    sessions: tuple[PlannedSession, ...]

    @property
    def conflicts(self) -> list[str]:
        return [f"session {s.number} ({day_label(s.start.date())}): {s.conflict}"
                for s in self.sessions if s.conflict]


@dataclass(frozen=True)
class PlannedDate:
    """One session's day before any chair is chosen."""

    phase: str
    day: dt.date
    note: str


def day_label(day: dt.date) -> str:
    """"Wed 2 Dec": short, unambiguous within a course."""
    return f"{day:%a} {day.day} {day:%b}"


def weekday_names(days: Iterable[int]) -> str:
    return ",".join(WEEKDAYS[d] for d in days)


def phase_weekdays(phase: PhaseSpec, override: Sequence[int] | None) -> tuple[int, ...]:
    """The phase's pattern days, or the override's days as the module docstring describes."""
    if not override:
        return phase.weekdays
    days = sorted(set(override))
    per_week = len(phase.weekdays)
    if len(days) <= per_week:
        return tuple(days)
    if per_week == 1:
        return (days[0],)
    last = len(days) - 1
    return tuple(days[round(i * last / (per_week - 1))] for i in range(per_week))


def week_monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def pattern_days(first_week_day: dt.date, weekdays: Sequence[int], every_weeks: int):
    """The pattern's days from ``first_week_day`` on (naive), as an rrule iterator."""
    dtstart = dt.datetime.combine(first_week_day, dt.time())
    rule = rrule(WEEKLY, dtstart=dtstart, interval=every_weeks, byweekday=tuple(weekdays),
                 wkst=MO, until=dtstart + EXPANSION_HORIZON)
    return (moment.date() for moment in rule)


def open_pattern_days(settings: ClinicSettings, first_week_day: dt.date, weekdays: Sequence[int],
                      every_weeks: int) -> Iterable[tuple[dt.date, str]]:
    """Open pattern days with a note naming the closure the day replaces, if any."""
    skipped: tuple[dt.date, str] | None = None
    for day in pattern_days(first_week_day, weekdays, every_weeks):
        reason = settings.closure_reason(day)
        if reason:
            skipped = skipped or (day, reason)
            continue
        yield day, f"moved from {day_label(skipped[0])} ({skipped[1]})" if skipped else ""
        skipped = None


def expand_dates(settings: ClinicSettings, protocol: ProtocolSpec, start_on: dt.date,
                 weekdays: Sequence[int] | None = None) -> list[PlannedDate]:
    """Every session's day, in order, across the protocol's phases."""
    if weekdays and not any(d in settings.hours for d in weekdays):
        raise BadInput(f"the clinic is closed every {weekday_names(weekdays)}; pick other days")
    planned: list[PlannedDate] = []
    phase_start = start_on
    for phase in protocol.phases:
        taken: list[PlannedDate] = []
        days = phase_weekdays(phase, weekdays)
        for day, note in open_pattern_days(settings, phase_start, days, phase.every_weeks):
            taken.append(PlannedDate(phase.name, day, note))
            if len(taken) == phase.sessions:
                break
        if len(taken) < phase.sessions:
            raise BadInput(f"the clinic is never open on {weekday_names(days)} after {phase_start}; "
                           "pick other days")
        planned.extend(taken)
        phase_start = week_monday(taken[-1].day) + dt.timedelta(weeks=1)
    return planned


def next_pattern_day(settings: ClinicSettings, phase: PhaseSpec, after: dt.date,
                     weekdays: Sequence[int] | None, *, same_phase: bool) -> Iterable[tuple[dt.date, str]]:
    """Open days of ``phase``'s pattern after ``after``, the phase's cadence kept.

    Continuing the same phase, its cadence counts from the week of ``after``; starting a
    new phase, from the following week (as in :func:`expand_dates`).
    """
    anchor = week_monday(after) + (dt.timedelta() if same_phase else dt.timedelta(weeks=1))
    days = phase_weekdays(phase, weekdays)
    return ((day, note) for day, note in open_pattern_days(settings, anchor, days, phase.every_weeks)
            if day > after)


def phase_for_number(protocol: ProtocolSpec, number: int) -> PhaseSpec:
    """The phase that session ``number`` (1-based, "n of N") belongs to; the last one beyond N."""
    reached = 0
    for phase in protocol.phases:
        reached += phase.sessions
        if number <= reached:
            return phase
    return protocol.phases[-1]


# --- chairs and times ----------------------------------------------------------------


def load_days(settings: ClinicSettings, days: Iterable[dt.date]) -> dict[dt.date, ChairLoad]:
    """The active sessions of the given clinic days, in ONE query, grouped per day."""
    tz = settings.tz
    bounds = {day: day_bounds_utc(day, tz) for day in set(days)}
    loads: dict[dt.date, list[BookedSpan]] = {day: [] for day in bounds}
    if bounds:
        in_days = reduce(operator.or_, [(Session.start_at >= start) & (Session.start_at < end)
                                        for start, end in bounds.values()])
        # Status is filtered here, not in SQL: SQLite would pick the (status, start_at)
        # index for "status IN (...)" and scan every active session instead of the days.
        query = (Session.select(Session.id, Session.chair, Session.patient, Session.start_at,
                                Session.end_at, Session.busy_until, Session.status)
                 .where(in_days).tuples())
        for *columns, status in query:
            if status in ACTIVE_STATUSES:
                booked = BookedSpan(*columns)
                loads[to_local(booked.start_at, tz).date()].append(booked)
    return {day: ChairLoad(sessions) for day, sessions in loads.items()}


@dataclass(frozen=True)
class DaySlot:
    """The outcome of looking for one session's time and chair on one day."""

    start_local: dt.datetime  # naive wall clock
    chair: ChairInfo | None
    note: str
    conflict: str | None


def find_day_slot(settings: ClinicSettings, spec: TreatmentSpec, day: dt.date, at: dt.time, load: ChairLoad, *,
                  chairs: Sequence[ChairInfo], patient_id: int, now: dt.datetime,
                  prefer_chair_id: int | None = None) -> DaySlot:
    """A chair at ``at`` on ``day``, else the nearest free grid time that day, else a conflict."""
    tz = settings.tz
    wanted = dt.datetime.combine(day, at)
    now_utc = now.astimezone(UTC).replace(tzinfo=None)
    reason = settings.closure_reason(day)
    if reason:
        return DaySlot(wanted, None, "", f"closed ({reason})")
    own = load.by_patient.get(patient_id)
    if own:
        times = ", ".join(f"{to_local(b.start_at, tz):%H:%M}" for b in sorted(own, key=lambda b: b.start_at))
        return DaySlot(wanted, None, "", f"the patient already has a session at {times} that day")
    ordered = sorted(chairs, key=lambda c: c.id != prefer_chair_id)
    usable = [c for c in ordered if c.hosts(spec.route) and c.out_of_service_reason is None]
    if not usable:
        return DaySlot(wanted, None, "", f"no chair in service can host {spec.route} treatments")

    def free_chair(start_local: dt.datetime) -> ChairInfo | None:
        start_utc, _end, busy_until = spec.span(to_utc(start_local, tz))
        if start_utc < now_utc:
            return None
        return load.first_free_chair(usable, spec.route, start_utc, busy_until)

    if _fits_day(settings, spec, wanted):
        chair = free_chair(wanted)
        if chair is not None:
            return DaySlot(wanted, chair, "", None)
    starts = day_starts(settings, spec, day)
    if day <= now.astimezone(tz).date():
        starts = [s for s in starts if to_utc(s, tz) >= now_utc]
    if not starts:
        return DaySlot(wanted, None, "", "in the past")
    starts.sort(key=lambda s: (abs((s - wanted).total_seconds()), s))
    for start_local in starts:
        chair = free_chair(start_local)
        if chair is not None:
            return DaySlot(start_local, chair, f"{_why_not(settings, spec, wanted, now_utc)}, "
                                               f"{start_local:%H:%M} offered", None)
    return DaySlot(wanted, None, "", f"no free {spec.route} chair that day")


def _fits_day(settings: ClinicSettings, spec: TreatmentSpec, start_local: dt.datetime) -> bool:
    """Off the slot grid but inside opening hours (a patient's usual 10:10 is kept)."""
    opening = settings.opening(start_local.date())
    if opening is None:
        return False
    opens, closes = opening
    end_local = start_local + dt.timedelta(minutes=spec.chair_minutes)
    return (dt.datetime.combine(start_local.date(), opens) <= start_local
            and end_local <= dt.datetime.combine(start_local.date(), closes))


def _why_not(settings: ClinicSettings, spec: TreatmentSpec, wanted: dt.datetime, now_utc: dt.datetime) -> str:
    if not _fits_day(settings, spec, wanted):
        return f"{wanted:%H:%M} outside opening hours"
    if to_utc(wanted, settings.tz) < now_utc:
        return f"{wanted:%H:%M} past"
    return f"{wanted:%H:%M} full"


def default_time(settings: ClinicSettings, patient_id: int, first_day: dt.date) -> dt.time:
    """The patient's last session time, else an hour after opening on the first day."""
    last = (Session.select(Session.start_at)
            .where(Session.patient == patient_id, Session.status.in_(ACTIVE_STATUSES))
            .order_by(Session.start_at.desc()).limit(1).scalar())
    if last is not None:
        return to_local(last, settings.tz).time().replace(second=0)
    opening = settings.opening(first_day) or next(iter(settings.hours.values()))
    return (dt.datetime.combine(first_day, opening[0]) + DEFAULT_AFTER_OPENING).time()


def require_patient(patient_id: int) -> Patient:
    patient = Patient.get_or_none(Patient.id == patient_id)
    if patient is None:
        raise NotFound(f"no patient with id {patient_id}; find one with 'keta patient find'")
    return patient


def plan_course(settings: ClinicSettings, *, patient_id: int, protocol_code: str, start_on: dt.date,
                at: dt.time | None = None, weekdays: Sequence[int] | None = None,
                now: dt.datetime) -> CoursePlan:
    """Propose every session of a course: dates, times and chairs, with conflicts listed."""
    require_patient(patient_id)
    protocol = settings.protocol(protocol_code)
    spec = settings.treatment(protocol.treatment)
    override = tuple(sorted(set(weekdays))) if weekdays else None
    dates = expand_dates(settings, protocol, start_on, override)
    at = at or default_time(settings, patient_id, dates[0].day)
    loads = load_days(settings, (d.day for d in dates))
    chairs = clinic_chairs()
    tz = settings.tz
    sessions: list[PlannedSession] = []
    prefer_chair_id: int | None = None
    for number, planned in enumerate(dates, start=1):
        slot = find_day_slot(settings, spec, planned.day, at, loads[planned.day], chairs=chairs,
                             patient_id=patient_id, now=now, prefer_chair_id=prefer_chair_id)
        start_utc, end_utc, _busy = spec.span(to_utc(slot.start_local, tz))
        if slot.chair is not None:
            prefer_chair_id = slot.chair.id
        note = "; ".join(n for n in (planned.note, slot.note) if n)
        sessions.append(PlannedSession(
            number=number, phase=planned.phase, start=to_local(start_utc, tz), end=to_local(end_utc, tz),
            chair_id=slot.chair.id if slot.chair else None, chair_name=slot.chair.name if slot.chair else None,
            note=note, conflict=slot.conflict))
    return CoursePlan(patient_id=patient_id, protocol_code=protocol.code, treatment_code=spec.code,
                      start_on=start_on, at=at, weekdays=override, sessions=tuple(sessions))
