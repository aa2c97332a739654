"""Treatment courses: booking a plan all or nothing, summaries, reflow after a miss, boosters.

Planning lives in :mod:`keta_tui.clinic.course_plan`. Counts in a summary are over the
course's own sessions (kind "course"); boosters are attached to the course (phase and
kind "booster", no number) and counted apart:

- done: discharged;
- booked: active and not yet discharged (today's, future ones, and a past one nobody
  has closed yet);
- missed: no-show, deferred or left without treatment;
- remaining_unbooked: planned_sessions - done - booked (never below 0);
- next_due: the next booked session's day, else the next pattern day after the last
  session (the course's start when it has none), while sessions remain;
- behind (active courses only): the next session was due before today and nothing is
  booked ahead, or a missed session has not been booked again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import islice
from typing import Iterable

from peewee import JOIN, fn

from keta_tui.db.models import ACTIVE_STATUSES, Chair, Course, Patient, Protocol, Session, Treatment

from .availability import clinic_chairs
from .booking import book_session, insert_session_row
from .clock import UTC, to_local, to_utc
from .course_plan import (
    CoursePlan,
    day_label,
    expand_dates,
    find_day_slot,
    load_days,
    next_pattern_day,
    parse_weekdays,
    phase_for_number,
    require_patient,
    weekday_names,
)
from .errors import BadInput, NotFound, Refused
from .patients import display_name
from .settings import ClinicSettings
from .store import audit, check_version, snapshot, writing

MISSED_STATUSES = ("no_show", "deferred", "left_without_treatment")
# Booked and not yet done.
PENDING_STATUSES = tuple(s for s in ACTIVE_STATUSES if s != "discharged")
ACTIVE_COURSE_STATUSES = ("induction", "maintenance")
# DOMAIN.md: planned -> induction -> maintenance <-> paused -> completed | discontinued.
# A paused induction resumes as induction; any open course may end early.
COURSE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "planned": ("induction", "discontinued"),
    "induction": ("maintenance", "paused", "completed", "discontinued"),
    "maintenance": ("paused", "completed", "discontinued"),
    "paused": ("induction", "maintenance", "completed", "discontinued"),
    "completed": (),
    "discontinued": (),
}
# How many pattern days a reflow tries before it gives up and leaves the course behind.
REFLOW_DAYS_TRIED = 5
COURSE_FIELDS = ("patient", "protocol", "treatment", "status", "start_on", "preferred_time", "weekdays",
                 "planned_sessions", "version")


@dataclass(frozen=True)
class CourseSessionRow:
    id: int
    number: int | None
    phase: str
    kind: str  # "course" or "booster"
    start: dt.datetime  # aware, clinic zone
    status: str
    chair_name: str | None


@dataclass(frozen=True)
class CourseSummary:
    id: int
    patient_id: int
    patient_name: str
    patient_phone: str
    protocol_code: str
    protocol_name: str
    treatment_code: str
    status: str
    start_on: dt.date
    preferred_time: str  # "HH:MM" or ""
    planned_sessions: int  # N in "n of N"
    done: int
    booked: int
    missed: int
    remaining_unbooked: int
    boosters: int
    next_due: dt.date | None
    next_booked: dt.datetime | None  # aware, clinic zone
    behind: bool
    behind_reason: str
    version: int
    sessions: tuple[CourseSessionRow, ...]


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def _conflicts_refusal(conflicts: list[str]) -> Refused:
    # One line on a terminal: the first few; the plan (and ``suggestions``) holds them all.
    listed = "; ".join(conflicts[:3]) + (f"; and {len(conflicts) - 3} more" if len(conflicts) > 3 else "")
    return Refused(f"refused: {len(conflicts)} session(s) of the course cannot be booked, nothing was booked: "
                   f"{listed}; pick another start, time or days", reason="conflicts",
                   suggestions=tuple(conflicts))


def _recheck(settings: ClinicSettings, plan: CoursePlan, now: dt.datetime) -> list[str]:
    """Under the write lock: planned slots another desk took since the plan was made."""
    spec = settings.treatment(plan.treatment_code)
    chairs = {c.id: c for c in clinic_chairs()}
    loads = load_days(settings, (s.start.date() for s in plan.sessions))
    now_utc = _naive_utc(now)
    conflicts = []
    for planned in plan.sessions:
        start_utc, _end, busy_until = spec.span(_naive_utc(planned.start))
        load = loads[planned.start.date()]
        chair = chairs.get(planned.chair_id)
        if start_utc < now_utc:
            problem = "in the past"
        elif load.by_patient.get(plan.patient_id):
            problem = "the patient was booked that day meanwhile"
        elif chair is None or chair.out_of_service_reason is not None:
            problem = f"{planned.chair_name} is no longer in service"
        elif load.chair_taken_until(chair.id, start_utc, busy_until) is not None:
            problem = f"{chair.name} was taken at {planned.start:%H:%M} meanwhile"
        else:
            continue
        conflicts.append(f"session {planned.number} ({day_label(planned.start.date())}): {problem}")
    return conflicts


def book_course(settings: ClinicSettings, plan: CoursePlan, *, actor: str, now: dt.datetime) -> int:
    """Book a whole plan in ONE transaction and return the new course's id.

    Any conflict in the plan, or a slot taken since it was made (re-checked under the
    write lock; the database trigger is the last guard), refuses the whole plan with
    reason "conflicts": nothing is written.
    """
    if plan.conflicts:
        raise _conflicts_refusal(plan.conflicts)
    require_patient(plan.patient_id)
    protocol_row = Protocol.get_or_none(Protocol.code == plan.protocol_code)
    treatment_id = Treatment.select(Treatment.id).where(Treatment.code == plan.treatment_code).scalar()
    if protocol_row is None or treatment_id is None:
        raise NotFound(f"protocol '{plan.protocol_code}' is not in the database; run 'keta init'")
    stamp = _naive_utc(now)
    try:
        with writing():
            conflicts = _recheck(settings, plan, now)
            if conflicts:
                raise _conflicts_refusal(conflicts)
            course = Course.create(
                patient=plan.patient_id, protocol=protocol_row.id, treatment=treatment_id, status="induction",
                start_on=plan.start_on, preferred_time=f"{plan.at:%H:%M}",
                weekdays=weekday_names(plan.weekdays or ()), planned_sessions=len(plan.sessions),
                created_at=stamp, created_by=actor, updated_at=stamp, updated_by=actor)
            session_ids = [
                insert_session_row(settings, patient_id=plan.patient_id, treatment_code=plan.treatment_code,
                                   start_utc=planned.start, chair_id=planned.chair_id, actor=actor, now=now,
                                   course_id=course.id, number=planned.number, phase=planned.phase,
                                   kind="course")
                for planned in plan.sessions]
            after = snapshot(course, COURSE_FIELDS)
            after["sessions"] = session_ids
            audit(actor, "course.book", "course", course.id, after=after, at=stamp)
    except Refused as refusal:
        if refusal.reason in ("chair_taken", "patient_busy"):
            # The database trigger caught what the re-check could not see.
            raise _conflicts_refusal([refusal.message.removeprefix("refused: ")]) from None
        raise
    return course.id


# --- summaries -----------------------------------------------------------------------


_COURSE_COLUMNS = (Course.id, Course.patient, Patient.first_name, Patient.last_name, Patient.phone,
                   Protocol.code, Protocol.name, Treatment.code, Course.status, Course.start_on,
                   Course.preferred_time, Course.weekdays, Course.planned_sessions, Course.version)


def _course_query():
    return (Course.select(*_COURSE_COLUMNS)
            .join(Patient, on=(Course.patient == Patient.id))
            .switch(Course).join(Protocol, on=(Course.protocol == Protocol.id))
            .switch(Course).join(Treatment, on=(Course.treatment == Treatment.id)))


def _session_rows(course_ids: list[int]) -> dict[int, list[tuple]]:
    """Every session of the given courses in ONE query, by course, in time order."""
    by_course: dict[int, list[tuple]] = {cid: [] for cid in course_ids}
    if not course_ids:
        return by_course
    query = (Session.select(Session.course, Session.id, Session.number, Session.phase, Session.kind,
                            Session.start_at, Session.busy_until, Session.status, Chair.name)
             .join(Chair, JOIN.LEFT_OUTER, on=(Session.chair == Chair.id))
             .where(Session.course.in_(course_ids))
             .order_by(Session.start_at, Session.id).tuples())
    for row in query:
        by_course[row[0]].append(row[1:])
    return by_course


def _summaries(settings: ClinicSettings, course_rows: Iterable[tuple], now: dt.datetime) -> list[CourseSummary]:
    rows = list(course_rows)
    sessions = _session_rows([row[0] for row in rows])
    return [summarise(settings, row, sessions[row[0]], now) for row in rows]


def summarise(settings: ClinicSettings, course_row: tuple, session_rows: list[tuple],
              now: dt.datetime) -> CourseSummary:
    """A course's counts, next due day and behind flag from its rows (no queries)."""
    (course_id, patient_id, first_name, last_name, phone, protocol_code, protocol_name, treatment_code,
     status, start_on, preferred_time, weekdays, planned, version) = course_row
    tz = settings.tz
    now_utc = _naive_utc(now)
    today = now.astimezone(tz).date()
    own = [r for r in session_rows if r[3] == "course"]
    active = [r for r in own if r[6] in ACTIVE_STATUSES]
    done = sum(1 for r in active if r[6] == "discharged")
    pending = [r for r in active if r[6] in PENDING_STATUSES]
    missed = sum(1 for r in own if r[6] in MISSED_STATUSES)
    remaining = max(0, planned - done - len(pending))
    ahead = [r for r in pending if r[5] > now_utc]
    next_booked = to_local(ahead[0][4], tz) if ahead else None

    next_due: dt.date | None = None
    if next_booked is not None:
        next_due = next_booked.date()
    elif remaining and status not in ("completed", "discontinued"):
        next_due = _next_due_day(settings, protocol_code, start_on, weekdays, active, done + len(pending) + 1)

    reasons = []
    if status in ACTIVE_COURSE_STATUSES:
        if next_due is not None and next_due < today and next_booked is None:
            reasons.append(f"next session was due {day_label(next_due)}, nothing booked")
        if missed and remaining:
            reasons.append(f"{missed} missed, {remaining} not booked again")
    return CourseSummary(
        id=course_id, patient_id=patient_id, patient_name=display_name(first_name, last_name),
        patient_phone=phone, protocol_code=protocol_code, protocol_name=protocol_name,
        treatment_code=treatment_code, status=status, start_on=start_on, preferred_time=preferred_time,
        planned_sessions=planned, done=done, booked=len(pending), missed=missed, remaining_unbooked=remaining,
        boosters=sum(1 for r in session_rows if r[3] == "booster" and r[6] in ACTIVE_STATUSES),
        next_due=next_due, next_booked=next_booked, behind=bool(reasons), behind_reason="; ".join(reasons),
        version=version,
        sessions=tuple(CourseSessionRow(id=r[0], number=r[1], phase=r[2], kind=r[3], start=to_local(r[4], tz),
                                        status=r[6], chair_name=r[7]) for r in session_rows))


def _next_due_day(settings: ClinicSettings, protocol_code: str, start_on: dt.date, weekdays: str,
                  active: list[tuple], number: int) -> dt.date | None:
    """The pattern day session ``number`` falls due on, after the course's last active session."""
    try:
        protocol = settings.protocol(protocol_code)
    except NotFound:
        return None  # a protocol dropped from the settings: no pattern to follow
    override = parse_weekdays(weekdays) if weekdays else None
    if not active:
        return expand_dates(settings, protocol, start_on, override)[0].day
    last = active[-1]
    phase = phase_for_number(protocol, number)
    last_day = to_local(last[4], settings.tz).date()
    following = next_pattern_day(settings, phase, last_day, override, same_phase=(last[2] == phase.name))
    return next(iter(following), (None, ""))[0]


def course_summary(settings: ClinicSettings, course_id: int, *, now: dt.datetime) -> CourseSummary:
    rows = list(_course_query().where(Course.id == course_id).tuples())
    if not rows:
        raise NotFound(f"no course {course_id}; list a patient's courses with 'keta course list --patient REF'")
    return _summaries(settings, rows, now)[0]


def patient_courses(settings: ClinicSettings, patient_id: int, *, now: dt.datetime) -> list[CourseSummary]:
    """A patient's courses, newest first."""
    query = _course_query().where(Course.patient == patient_id).order_by(Course.start_on.desc(), Course.id.desc())
    return _summaries(settings, query.tuples(), now)


def _course_has(*conditions):
    """EXISTS a session of the outer course matching ``conditions`` (uses the course index)."""
    return fn.EXISTS(Session.select(Session.id).where(Session.course == Course.id, *conditions))


def _booked_ahead(now: dt.datetime):
    return _course_has(Session.status.in_(PENDING_STATUSES), Session.busy_until > _naive_utc(now))


def _active_summaries(settings: ClinicSettings, now: dt.datetime, candidates) -> list[CourseSummary]:
    """Summaries of active courses, pre-filtered in SQL by ``candidates`` so a clinic with
    years of courses reads only the few that can qualify."""
    query = _course_query().where(Course.status.in_(ACTIVE_COURSE_STATUSES), candidates).order_by(Course.id)
    return _summaries(settings, query.tuples(), now)


def courses_behind(settings: ClinicSettings, *, now: dt.datetime, limit: int = 100) -> list[CourseSummary]:
    """Active courses that have fallen behind, the longest overdue first (the desk's call list)."""
    # Behind needs nothing booked ahead, or a missed session (see the module docstring).
    candidates = ~_booked_ahead(now) | _course_has(Session.kind == "course", Session.status.in_(MISSED_STATUSES))
    behind = [s for s in _active_summaries(settings, now, candidates) if s.behind]
    behind.sort(key=lambda s: (s.next_due or dt.date.max, s.id))
    return behind[:limit]


def patients_without_next_booking(settings: ClinicSettings, *, now: dt.datetime,
                                  limit: int = 100) -> list[CourseSummary]:
    """Active courses with nothing booked ahead, by the day the next session is due."""
    unbooked = [s for s in _active_summaries(settings, now, ~_booked_ahead(now)) if s.next_booked is None]
    unbooked.sort(key=lambda s: (s.next_due or dt.date.max, s.id))
    return unbooked[:limit]


# --- changes to a booked course --------------------------------------------------------


def _load_course(course_id: int) -> Course:
    course = Course.get_or_none(Course.id == course_id)
    if course is None:
        raise NotFound(f"no course {course_id}; list a patient's courses with 'keta course list --patient REF'")
    return course


def add_booster(settings: ClinicSettings, course_id: int, *, start_local: dt.datetime, chair_name: str | None,
                actor: str, now: dt.datetime) -> int:
    """Book a booster: a single session attached to the course (phase and kind "booster")."""
    course = _load_course(course_id)
    if course.status in ("planned", "discontinued"):
        raise Refused(f"refused: course {course_id} is {course.status}; a booster needs a course that was "
                      "started and not discontinued", reason="course_status")
    treatment_code = Treatment.select(Treatment.code).where(Treatment.id == course.treatment_id).scalar()
    booked = book_session(settings, patient_id=course.patient_id, treatment_code=treatment_code,
                          start_local=start_local, chair_name=chair_name, actor=actor, now=now,
                          course_id=course.id, number=None, phase="booster", kind="booster")
    return booked.id


def reflow_after_miss(settings: ClinicSettings, session_id: int, *, actor: str, now: dt.datetime) -> int | None:
    """Keep an induction whole after a no-show or deferral. Call INSIDE the caller's writing().

    Later active sessions of the course move down one number and one session is booked
    on the next open pattern day after the course's last session (near the course's
    preferred time, the missed session's chair first). Returns the new session's id, or
    None: when the miss was not in the protocol's first phase (maintenance misses keep
    the plan), or when no slot was free on the next REFLOW_DAYS_TRIED pattern days (an
    audit entry says so and the course shows behind). Existing sessions keep their phase.
    """
    missed = Session.get_or_none(Session.id == session_id)
    if missed is None or missed.course_id is None or missed.kind != "course" or missed.status not in MISSED_STATUSES:
        return None
    course = Course.get_by_id(missed.course_id)
    protocol_code = Protocol.select(Protocol.code).where(Protocol.id == course.protocol_id).scalar()
    try:
        protocol = settings.protocol(protocol_code)
    except NotFound:
        return None
    if missed.phase != protocol.phases[0].name or course.status not in ("planned", "induction"):
        return None
    stamp = _naive_utc(now)
    later = list(Session.select(Session.id, Session.number)
                 .where(Session.course == course.id, Session.kind == "course",
                        Session.status.in_(ACTIVE_STATUSES), Session.number > missed.number).tuples())
    if later:
        Session.update(number=Session.number - 1, version=Session.version + 1, updated_at=stamp,
                       updated_by=actor).where(Session.id.in_([sid for sid, _n in later])).execute()
    active = list(Session.select(Session.number, Session.phase, Session.start_at)
                  .where(Session.course == course.id, Session.kind == "course",
                         Session.status.in_(ACTIVE_STATUSES)).order_by(Session.start_at).tuples())
    number = max((n or 0 for n, _p, _s in active), default=missed.number - 1) + 1
    last_phase, last_start = (active[-1][1], active[-1][2]) if active else (missed.phase, missed.start_at)
    phase = phase_for_number(protocol, number)
    override = parse_weekdays(course.weekdays) if course.weekdays else None
    tz = settings.tz
    at = (dt.datetime.strptime(course.preferred_time, "%H:%M").time() if course.preferred_time
          else to_local(missed.start_at, tz).time())
    spec = settings.treatment(protocol.treatment)
    chairs = clinic_chairs()
    treatment_code = spec.code
    before = {"missed": missed.id, "renumbered": {str(sid): n for sid, n in later}}
    days = islice(next_pattern_day(settings, phase, to_local(last_start, tz).date(), override,
                                   same_phase=(last_phase == phase.name)), REFLOW_DAYS_TRIED)
    for day, _note in days:
        slot = find_day_slot(settings, spec, day, at, load_days(settings, [day])[day], chairs=chairs,
                             patient_id=missed.patient_id, now=now, prefer_chair_id=missed.chair_id)
        if slot.chair is None:
            continue
        new_id = insert_session_row(settings, patient_id=missed.patient_id, treatment_code=treatment_code,
                                    start_utc=to_utc(slot.start_local, tz), chair_id=slot.chair.id, actor=actor,
                                    now=now, course_id=course.id, number=number, phase=phase.name, kind="course")
        audit(actor, "course.reflow", "course", course.id, before=before,
              after={"new_session": new_id, "number": number, "start": slot.start_local.isoformat()}, at=stamp)
        return new_id
    audit(actor, "course.reflow", "course", course.id, before=before,
          after={"new_session": None, "note": f"no free slot on the next {REFLOW_DAYS_TRIED} pattern days"},
          at=stamp)
    return None


def set_course_status(settings: ClinicSettings, course_id: int, status: str, *, actor: str, now: dt.datetime,
                      version: int | None = None) -> CourseSummary:
    """Move a course along an edge of :data:`COURSE_TRANSITIONS`; stale versions are refused."""
    if status not in COURSE_TRANSITIONS:
        raise BadInput(f"unknown course status '{status}' (use one of: {', '.join(COURSE_TRANSITIONS)})")
    stamp = _naive_utc(now)
    with writing():
        course = _load_course(course_id)
        check_version(course, version, "course")
        allowed = COURSE_TRANSITIONS[course.status]
        if status not in allowed:
            raise Refused(f"refused: a {course.status} course cannot become {status} "
                          f"(allowed: {', '.join(allowed) or 'nothing'})", reason="transition", allowed=allowed)
        before = snapshot(course, ("status", "version"))
        Course.update(status=status, version=Course.version + 1, updated_at=stamp, updated_by=actor
                      ).where(Course.id == course.id).execute()
        audit(actor, "course.status", "course", course.id, before=before,
              after={"status": status, "version": course.version + 1}, at=stamp)
    return course_summary(settings, course_id, now=now)
