"""The demo clinic: a deterministic, entirely synthetic clinic built from the example settings.

``build_demo`` rebuilds a demo database from scratch for a seed and a "today": patients
with courses planned from the protocols (numbered 1..N, a missed session moves the plan
instead of shrinking it), every session on an open day, on a chair that hosts its route,
never overlapping another on the chair (turnover included) or for the patient. Past
sessions mostly end discharged with every timestamp in order; some are cancelled (late
or not), no-shows or deferrals. Today holds every state relative to "now": discharged
earlier, patients seated, dosing, monitoring and ready to leave, a chair in turnover, one
out of service, an arrival waiting, a late patient, a no-show, a late cancel, a deferral
and the rest of the day booked. The coming days leave the desk room to book: each chair
is held for at most FUTURE_CHAIR_SHARE of the day and keeps a window for its longest
treatment, and one chair per route is free in the late morning. REMS forms are owed only
for the last week's sessions, a few a day or two overdue.

Rows are planned in memory (per open day, the chairs busy in each slot of the booking grid
as one bitmask, so finding a free chair is a few integer ORs) and written in bulk inside
ONE ``writing()`` transaction, sessions in start order: the database's overlap triggers
stay on and never fire, and a failed build leaves the previous database untouched.
Sizes: ``tiny`` (tests), ``small`` (the desk demo), ``large`` (benchmarks: about 5 years,
20,000 patients and 150,000+ sessions on 40 chairs).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
from dataclasses import dataclass
from typing import Iterator

import peewee

from keta_tui.db.connection import is_postgres
from keta_tui.db.models import AuditEntry, Course, Patient, Protocol, Session, Setting, StatusChange, Chair, Treatment

from .clock import UTC, Clock
from .course_plan import open_pattern_days, phase_weekdays, week_monday
from .demo_names import AREA_CODES, FIRST_NAMES, LAST_NAMES, fictional_phone
from .errors import Refused
from .patients import derived_search_columns
from .settings import WEEKDAYS, ClinicSettings, ProtocolSpec, TreatmentSpec, example_settings, settings_from_dict
from .setup import apply_settings, is_demo_database, mark_demo
from .store import audit, get_setting, put_setting, writing

DEFAULT_SEED = 2026
DEMO_TODAY_KEY = "demo_today"
DEMO_SIZE_KEY = "demo_size"
DEMO_ACTOR = "demo"
# Rows per INSERT: well under SQLite's 32,766 bound variables at ~37 columns a session.
CHUNK_ROWS = 500
# Page cache while the demo loads, in KiB as SQLite's negative cache_size (only what is used is taken).
LOAD_CACHE_KIB = -262144
OUT_OF_SERVICE_REASON = "vital-signs monitor awaiting repair"
# Missed sessions keep their number: the plan moves, it does not shrink.
MISSED = ("cancelled", "no_show", "deferred")
IN_PROGRESS = ("arrived", "seated", "dosing", "monitoring", "ready_to_leave")
# Minutes a closed session of today's script held its chair (a cancel in advance: none).
CLOSED_HOLD = {"no_show": 30, "deferred": 10, "late_cancel": 1}
# From today on each chair is booked for at most this share of its open hours, so the desk
# finds free slots every day (the history runs fuller).
FUTURE_CHAIR_SHARE = 0.7
# After today one chair per route stays free 09:00-12:30 (minutes of the day): what a desk
# trying the demo books first, a late-morning session, is always possible.
DESK_HOLD = (9 * 60, 12 * 60 + 30)


@dataclass(frozen=True)
class DemoSize:
    name: str
    patients: int
    history_days: int
    future_days: int
    chairs: int | None  # None: the example's chairs


SIZES = {
    "tiny": DemoSize("tiny", patients=70, history_days=75, future_days=30, chairs=None),
    "small": DemoSize("small", patients=400, history_days=548, future_days=61, chairs=None),
    "large": DemoSize("large", patients=20_000, history_days=5 * 365, future_days=61, chairs=40),
}


@dataclass(frozen=True)
class DemoSummary:
    size: str
    seed: int
    today: dt.date
    now: dt.datetime  # aware UTC the demo's today was built around
    patients: int
    courses: int
    sessions: int
    opened_today: bool  # today was a closure and was added to closures.open_dates


# --- settings ----------------------------------------------------------------------


def demo_settings(base: ClinicSettings, today: dt.date, size: DemoSize) -> tuple[ClinicSettings, bool]:
    """The example settings, with more chairs for the large demo and today opened if closed."""
    document = json.loads(json.dumps(base.document))
    if size.chairs:
        pattern = [chair["routes"] for chair in document["chairs"]]
        document["chairs"] = [{"name": f"Chair {n + 1}", "routes": pattern[n % len(pattern)]}
                              for n in range(size.chairs)]
    opened = False
    if not base.is_open(today):
        closures = document.setdefault("closures", {})
        closures["dates"] = [d for d in closures.get("dates", []) if d != today.isoformat()]
        closures["open_dates"] = sorted(set(closures.get("open_dates", [])) | {today.isoformat()})
        opened = True
    return settings_from_dict(document, source="demo settings"), opened


# --- planning ------------------------------------------------------------------------


@dataclass
class _Patient:
    id: int
    first: str
    last: str
    intake: dt.date
    family: str  # "iv" | "esketamine"
    row: dict
    days: set  # clinic days holding one of the patient's sessions
    attended: int = 0
    phq9_baseline: int = 18
    phq9_target: int = 6


@dataclass(frozen=True)
class _TodayEntry:
    """One scripted session of today: the state it must be in at "now"."""

    state: str
    family: str
    offset: int  # preferred start, minutes from now
    number: int = 1  # "n" in the course; 1 with an iv-induction course = a first session
    escort: bool = True
    consent_days: int = 200
    overdue: bool = False


# Today's script, most important first (a small clinic may not fit all of it at every hour).
# The late patient was booked on the chair that has since gone out of service.
TODAY_SCRIPT = (
    _TodayEntry("turnover", "iv", -125, number=4),
    _TodayEntry("dosing", "iv", -15, number=3),
    _TodayEntry("ready_to_leave", "iv", -95, number=0),
    _TodayEntry("monitoring", "esketamine", -55, number=5),
    _TodayEntry("seated", "esketamine", 0, number=3),
    _TodayEntry("late", "esketamine", -25, number=6),
    _TodayEntry("arrived", "iv", 25, number=0, escort=False),
    _TodayEntry("no_show", "iv", -120, number=2),
    _TodayEntry("deferred", "iv", -75, number=5),
    _TodayEntry("late_cancel", "esketamine", 150, number=4),
    _TodayEntry("discharged", "iv", -150, number=6),
    _TodayEntry("discharged", "esketamine", -180, number=2),
    _TodayEntry("confirmed", "esketamine", 45, number=7, consent_days=12),
    _TodayEntry("scheduled", "iv", 60, number=1, escort=False),
    _TodayEntry("confirmed", "iv", 90, number=0),
    _TodayEntry("scheduled", "esketamine", 120, number=2),
    _TodayEntry("ready_to_leave", "esketamine", -140, number=8, overdue=True),
    _TodayEntry("confirmed", "iv", 200, number=4),
)

CANCEL_REASONS = ("patient unwell", "transport fell through", "work conflict", "weather", "family matter")
DEFER_REASONS = (("escort", "no escort for the ride home"), ("fasting", "patient had eaten this morning"),
                 ("blood_pressure", "blood pressure above the clinic's limit today"))


class _Draws(random.Random):
    """Seeded draws with a randint of one random() call: the large demo draws millions, randrange is 4x slower."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


class _Builder:
    def __init__(self, settings: ClinicSettings, size: DemoSize, seed: int, today: dt.date, now: dt.datetime):
        self.settings = settings
        self.size = size
        self.rng = _Draws(seed)
        self.today = today
        self.now = now
        self.tz = settings.tz
        local_now = now.astimezone(self.tz)
        self.now_local = local_now.replace(tzinfo=None)
        self.now_minute = local_now.hour * 60 + local_now.minute
        self.first_day = today - dt.timedelta(days=size.history_days)
        self.last_day = today + dt.timedelta(days=size.future_days)
        self.chairs = [(chair.id, chair.name, tuple(chair.routes.split(","))) for chair in
                       Chair.select().where(Chair.retired == False).order_by(Chair.position)]  # noqa: E712
        self.treatment_ids = dict(Treatment.select(Treatment.code, Treatment.id).tuples())
        self.protocol_ids = dict(Protocol.select(Protocol.code, Protocol.id).tuples())
        # The last chair that hosts only the nasal route goes out of service from now on.
        nasal_only = [i for i, (_, _, routes) in enumerate(self.chairs) if routes == ("nasal",)]
        self.out_of_service = nasal_only[-1] if nasal_only else len(self.chairs) - 1
        self.chair_index = {chair_id: index for index, (chair_id, _, _) in enumerate(self.chairs)}
        # Chair bits in picking order: single-route chairs first, keeping the versatile ones
        # for either treatment, so the lowest free bit is the chair to take.
        chair_order = sorted(range(len(self.chairs)), key=lambda c: (len(self.chairs[c][2]), c))
        self.rank_chair = chair_order
        self.chair_bit = [0] * len(self.chairs)
        for rank, chair in enumerate(chair_order):
            self.chair_bit[chair] = 1 << rank
        self.route_bits = {route: sum(self.chair_bit[c] for c, (_, _, routes) in enumerate(self.chairs)
                                      if route in routes) for route in ("iv", "nasal")}
        self.oos_bit = self.chair_bit[self.out_of_service]
        self.step = settings.rules.slot_minutes
        # The free slots in a row a chair keeps from today on: its longest treatment, turnover included.
        self.chair_window = {}
        for chair, (_, _, routes) in enumerate(self.chairs):
            spans = [spec.busy_minutes for spec in settings.treatments.values() if spec.route in routes]
            self.chair_window[self.chair_bit[chair]] = -(-max(spans, default=1) // self.step)
        self.grids: dict[dt.date, _DayGrid] = {}
        # The last chair in picking order for each route (in service) is left to the desk in the late morning.
        in_service = [c for c in chair_order if c != self.out_of_service]
        self.desk_chairs = 0
        for route in self.route_bits:
            hosts = [c for c in in_service if route in self.chairs[c][2]]
            if hosts:
                self.desk_chairs |= self.chair_bit[hosts[-1]]
        # Today: where scripted patients really sit (they may overrun their planned span).
        self.presence_today: dict[int, bytearray] = {}
        self.offsets: dict[dt.date, dt.timedelta] = {}
        self.openings: dict[dt.date, tuple[int, int] | None] = {}
        self.next_ids = {"patient": 1, "course": 1, "session": 1}
        self.patient_rows: list[dict] = []
        self.course_rows: list[dict] = []
        self.session_rows: list[dict] = []
        self.status_rows: list[dict] = []
        self.writer = _BulkWriter(Session._meta.database)
        self.session_fields: list[str] = []
        self.status_fields: list[str] = []
        self.session_tuples: list[tuple] = []
        self.status_tuples: list[tuple] = []
        self.starts_cache: dict[tuple, list[int]] = {}
        self.patterns: dict[tuple, list] = {}
        self.full_days: set[tuple[dt.date, str]] = set()
        self.course_statuses: dict[int, list[str]] = {}
        self.counts = {"patients": 0, "courses": 0, "sessions": 0}

    # --- time and chairs ---------------------------------------------------------

    def opening(self, day: dt.date) -> tuple[int, int] | None:
        """Opening and closing minute of a clinic day, or None when closed."""
        if day not in self.openings:
            hours = self.settings.opening(day)
            self.openings[day] = None if hours is None else (hours[0].hour * 60 + hours[0].minute,
                                                             hours[1].hour * 60 + hours[1].minute)
        return self.openings[day]

    def utc(self, local: dt.datetime | None) -> dt.datetime | None:
        """Clinic wall clock to naive UTC; the day's offset at noon (DST switches at night)."""
        if local is None:
            return None
        day = local.date()
        offset = self.offsets.get(day)
        if offset is None:
            offset = self.offsets[day] = self.tz.utcoffset(dt.datetime.combine(day, dt.time(12)))
        return local - offset

    def grid(self, day: dt.date) -> _DayGrid:
        grid = self.grids.get(day)
        if grid is None:
            opens, closes = self.opening(day)
            budget = int(FUTURE_CHAIR_SHARE * (closes - opens)) // self.step if day >= self.today else None
            grid = self.grids[day] = _DayGrid(opens, closes, self.step, budget)
            if day > self.today:
                grid.hold(self.desk_chairs, *DESK_HOLD)
        return grid

    def usable_chairs(self, day: dt.date, start: int, minutes: int, route: str,
                      booked_before_breakdown: bool = False) -> int:
        """Bits of the chairs hosting the route that may take a session there, busy or not.

        The chair out of service takes nothing that ends after "now" today or later, except
        a session booked before it broke down.
        """
        usable = self.route_bits[route]
        if day >= self.today and not booked_before_breakdown and (day > self.today or start + minutes > self.now_minute):
            usable &= ~self.oos_bit
        return usable

    def in_order(self, chairs: int, prefer: int | None) -> Iterator[int]:
        """The chairs of a bit set in picking order, ``prefer`` first."""
        if prefer is not None and chairs & self.chair_bit[prefer]:
            yield prefer
            chairs &= ~self.chair_bit[prefer]
        while chairs:
            low = chairs & -chairs
            yield self.rank_chair[low.bit_length() - 1]
            chairs ^= low

    def free_chairs(self, day: dt.date, start: int, spec: TreatmentSpec, prefer: int | None = None,
                    minutes: int | None = None, booked_before_breakdown: bool = False) -> Iterator[int]:
        """Chairs hosting the route and free for ``minutes`` (default: dosing to turnover end), in picking order."""
        span = minutes or spec.busy_minutes
        free = self.usable_chairs(day, start, span, spec.route, booked_before_breakdown) \
            & ~self.grid(day).busy(start, span)
        return self.in_order(free, prefer)

    def find_slot(self, day: dt.date, spec: TreatmentSpec, preferred: int, prefer: int | None) -> tuple[int, int] | None:
        """The grid start nearest ``preferred`` with a free chair (``prefer`` first), or None.

        From today on a chair takes sessions up to its share of the day (FUTURE_CHAIR_SHARE)
        and always keeps a free window for its longest treatment, so the desk finds room to book.
        """
        starts = self.starts(day, spec, preferred)
        if not starts:
            return None
        grid = self.grid(day)
        span = spec.busy_minutes
        usable = self.route_bits[spec.route]
        if day > self.today:
            usable &= ~self.oos_bit
        today = day == self.today
        now = self.now_minute
        turnaround = spec.chair_minutes + spec.turnover_minutes + 25
        for start in starts:
            allowed = usable
            if today:
                # Today generic sessions are over well before now or start after it.
                if not (start + turnaround <= now or start >= now + 20):
                    continue
                if start + span > now:
                    allowed &= ~self.oos_bit
            free = allowed & ~grid.busy(start, span)
            if not free:
                continue
            if grid.budget is None:
                if prefer is not None and free & self.chair_bit[prefer]:
                    return start, prefer
                return start, self.rank_chair[(free & -free).bit_length() - 1]
            for chair in self.in_order(free, prefer):
                bit = self.chair_bit[chair]
                if grid.may_hold(bit, start, span, self.chair_window[bit]):
                    return start, chair
        return None

    def take(self, chair: int, day: dt.date, start: int, spec: TreatmentSpec, minutes: int | None = None) -> None:
        self.grid(day).take(self.chair_bit[chair], start, minutes or spec.busy_minutes)

    def starts(self, day: dt.date, spec: TreatmentSpec, preferred: int) -> list[int]:
        """Grid starts of a day whose minimum monitoring ends by closing, nearest the preferred first."""
        hours = self.opening(day)
        if hours is None:
            return []
        key = (hours, spec.chair_minutes, preferred)
        starts = self.starts_cache.get(key)
        if starts is None:
            step = self.settings.rules.slot_minutes
            starts = self.starts_cache[key] = sorted(range(hours[0], hours[1] - spec.chair_minutes + 1, step),
                                                     key=lambda s: (abs(s - preferred), s))
        return starts

    def pattern(self, first_week_day: dt.date, weekdays: tuple[int, ...], every_weeks: int) -> Iterator[dt.date]:
        """A phase's open pattern days up to the demo's last day, expanded once for all courses sharing it."""
        key = (first_week_day, weekdays, every_weeks)
        entry = self.patterns.get(key)
        if entry is None:
            entry = self.patterns[key] = [[], open_pattern_days(self.settings, first_week_day, weekdays, every_weeks)]
        days = entry[0]
        index = 0
        while True:
            if index == len(days):
                if entry[1] is None:
                    return
                following = next(entry[1], None)
                if following is None or following[0] > self.last_day:
                    entry[1] = None
                    return
                days.append(following[0])
            yield days[index]
            index += 1

    # --- rows ----------------------------------------------------------------------

    def new_id(self, kind: str) -> int:
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    def make_patient(self, intake: dt.date, family: str, *, escort: bool = True,
                     consent_expires: dt.date | None = None) -> _Patient:
        rng = self.rng
        pid = self.new_id("patient")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        phone = fictional_phone(rng.choice(AREA_CODES), rng.randrange(100))
        escort_first = rng.choice(FIRST_NAMES)
        has_escort = escort and rng.random() < 0.93
        created = self.utc(dt.datetime.combine(intake - dt.timedelta(days=rng.randint(3, 20)), dt.time(9, 30)))
        baseline = rng.randint(14, 25)
        responder = rng.random() < 0.72
        row = dict(
            id=pid, mrn=f"D{pid:06d}", first_name=first, last_name=last,
            dob=dt.date(rng.randint(1948, 2003), rng.randint(1, 12), rng.randint(1, 28)), phone=phone,
            email=f"{first}.{last}{pid}@example.com".lower(),
            escort_name=f"{escort_first} {last}" if has_escort else "",
            escort_phone=fictional_phone(rng.choice(AREA_CODES), rng.randrange(100)) if has_escort else "",
            consent_expires_on=consent_expires or intake + dt.timedelta(days=365),
            rems_enrolled=family == "esketamine", phq9_baseline=baseline, notes="", active=True, version=1,
            created_at=created, updated_at=created, updated_by=DEMO_ACTOR,
        )
        # The search columns exactly as the patients service derives them.
        row.update(derived_search_columns({"first_name": first, "last_name": last, "phone": phone}, first, last))
        patient = _Patient(pid, first, last, intake, family, row, set(), phq9_baseline=baseline,
                           phq9_target=rng.randint(2, 8) if responder else max(baseline - rng.randint(0, 6), 10))
        self.patient_rows.append(row)
        self.counts["patients"] += 1
        return patient

    def make_course(self, patient: _Patient, protocol: ProtocolSpec, treatment: str, start_on: dt.date,
                    preferred: int, weekdays: tuple[int, ...] | None) -> dict:
        created = self.utc(dt.datetime.combine(start_on - dt.timedelta(days=self.rng.randint(2, 10)), dt.time(15)))
        row = dict(
            id=self.new_id("course"), patient=patient.id, protocol=self.protocol_ids[protocol.code],
            treatment=self.treatment_ids[treatment], status="planned", start_on=start_on,
            preferred_time=f"{preferred // 60:02d}:{preferred % 60:02d}",
            weekdays=",".join(WEEKDAYS[d] for d in weekdays) if weekdays else "",
            planned_sessions=protocol.total_sessions, notes="", version=1, created_at=created,
            created_by=DEMO_ACTOR, updated_at=created, updated_by=DEMO_ACTOR,
        )
        self.course_rows.append(row)
        self.course_statuses[row["id"]] = []
        self.counts["courses"] += 1
        return row

    def phq9(self, patient: _Patient) -> int:
        progress = min(1.0, patient.attended / 8)
        score = patient.phq9_baseline + (patient.phq9_target - patient.phq9_baseline) * progress
        return max(0, min(27, round(score) + self.rng.randint(-2, 2)))

    def gate_json(self, escort: tuple[str, str], spec: TreatmentSpec, at: dt.datetime, bp: tuple[int, int],
                  failed: tuple[str, ...] = ()) -> str:
        """The check-in answers as keta_tui.clinic.gate stores them."""
        name, phone = ("", "") if "escort" in failed else escort
        bp_high = bp[0] > self.settings.rules.bp_flag[0] or bp[1] > self.settings.rules.bp_flag[1]
        flags = '["bp_high"]' if bp_high else "[]"
        # Formatted by hand: json.dumps per session is a tenth of the large demo's time.
        answers = (f'{{"bp_diastolic": {bp[1]}, "bp_systolic": {bp[0]}, '
                   f'"consent_ok": true, "escort_name": {json.dumps(name)}, "escort_phone": "{phone}", '
                   f'"fasting": {"false" if "fasting" in failed else "true"}, "phq9": null, '
                   f'"rems_enrolled": {"true" if spec.route == "nasal" else "null"}}}')
        return (f'{{"answers": {answers}, "checked_at": "{at.isoformat()}", "checked_by": "{DEMO_ACTOR}", '
                f'"failed": {json.dumps(list(failed))}, "flags": {flags}, '
                f'"passed": {"false" if failed else "true"}}}')

    def blood_pressure(self) -> tuple[int, int]:
        rng = self.rng
        if rng.random() < 0.05:
            return rng.randint(142, 158), rng.randint(88, 98)
        return rng.randint(108, 136), rng.randint(66, 86)

    def session(self, patient: _Patient, course: dict | None, number: int | None, phase: str, kind: str,
                spec: TreatmentSpec, day: dt.date, start: int, chair: int, held: int | None = None) -> dict:
        start_local = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=start)
        planned = spec.span(start_local)
        row = dict(
            id=self.new_id("session"), patient=patient.id, treatment=self.treatment_ids[spec.code],
            chair=self.chairs[chair][0], course=course["id"] if course else None, number=number, phase=phase,
            kind=kind, status="scheduled", start_at=start_local, end_at=planned[1], busy_until=planned[2],
            confirmed_at=None, arrived_at=None, seated_at=None, dosing_at=None, monitoring_at=None,
            ready_at=None, discharged_at=None, closed_at=None, late_cancel=False, close_reason="",
            escort_name="", escort_phone="", gate_json="{}", bp_systolic=None, bp_diastolic=None, phq9=None, notes="",
            form_due_on=None, form_filed_at=None, form_filed_by="", version=1,
            created_at=start_local - dt.timedelta(days=7 if number and number > 1 else 14),
            created_by=DEMO_ACTOR, updated_at=None, updated_by=DEMO_ACTOR,
        )
        patient.days.add(day)
        self.take(chair, day, start, spec, held)
        return row

    # --- lifecycle stamps ------------------------------------------------------------

    def treated(self, row: dict, patient: _Patient, spec: TreatmentSpec, *, until: str = "discharged",
                seated: dt.datetime | None = None, dosing: dt.datetime | None = None,
                ready: dt.datetime | None = None, discharged: dt.datetime | None = None) -> None:
        """Stamp a session through the lifecycle up to ``until``, every step after the last."""
        rng = self.rng
        start = row["start_at"]
        row["confirmed_at"] = start - dt.timedelta(hours=rng.randint(16, 30))
        seated = seated or start + dt.timedelta(minutes=rng.randint(0, 3))
        row["arrived_at"] = seated - dt.timedelta(minutes=rng.randint(5, 25))
        bp = self.blood_pressure()
        row["escort_name"], row["escort_phone"] = patient.row["escort_name"], patient.row["escort_phone"]
        if not row["escort_name"]:
            # Recorded at check-in when the patient's record has none.
            row["escort_name"] = f"{rng.choice(FIRST_NAMES)} {patient.last}"
            row["escort_phone"] = fictional_phone(rng.choice(AREA_CODES), rng.randrange(100))
        row["gate_json"] = self.gate_json((row["escort_name"], row["escort_phone"]), spec,
                                          self.utc(row["arrived_at"]), bp)
        row["bp_systolic"], row["bp_diastolic"] = bp
        if patient.attended % 3 == 0 or row["phase"] not in ("induction",):
            row["phq9"] = self.phq9(patient)
        steps = ["confirmed", "arrived", "seated"]
        row["seated_at"] = seated
        if until != "seated":
            row["dosing_at"] = dosing or seated + dt.timedelta(minutes=rng.randint(2, 5))
            steps.append("dosing")
        if until not in ("seated", "dosing"):
            row["monitoring_at"] = row["dosing_at"] + dt.timedelta(minutes=spec.dosing_minutes)
            steps.append("monitoring")
            if spec.route == "nasal":
                row["form_due_on"] = row["dosing_at"].date() + dt.timedelta(days=self.settings.rules.rems_form_days)
        if until in ("ready_to_leave", "discharged"):
            row["ready_at"] = ready or spec.earliest_ready(row["dosing_at"]) + dt.timedelta(minutes=rng.randint(0, 4))
            steps.append("ready_to_leave")
        if until == "discharged":
            row["discharged_at"] = discharged or row["ready_at"] + dt.timedelta(minutes=rng.randint(1, 6))
            steps.append("discharged")
            patient.attended += 1
        row["status"] = steps[-1]
        row["version"] = len(steps) + 1

    def closed(self, row: dict, patient: _Patient, spec: TreatmentSpec, status: str,
               closed_at: dt.datetime | None = None) -> None:
        rng = self.rng
        start = row["start_at"]
        row["status"] = status
        if status == "cancelled":
            late = rng.random() < 0.3
            row["closed_at"] = closed_at or start - (dt.timedelta(hours=rng.randint(2, 20)) if late
                                                     else dt.timedelta(days=rng.randint(2, 10), hours=rng.randint(0, 8)))
            row["late_cancel"] = start - row["closed_at"] < dt.timedelta(hours=self.settings.rules.late_cancel_hours)
            row["close_reason"] = rng.choice(CANCEL_REASONS)
            row["version"] = 2
        elif status == "no_show":
            row["confirmed_at"] = start - dt.timedelta(hours=rng.randint(16, 30))
            row["closed_at"] = closed_at or start + dt.timedelta(minutes=30)
            row["close_reason"] = "did not arrive"
            row["version"] = 3
        else:  # deferred: arrived, the check-in gate not met
            item, reason = rng.choice(DEFER_REASONS)
            row["confirmed_at"] = start - dt.timedelta(hours=rng.randint(16, 30))
            row["arrived_at"] = start - dt.timedelta(minutes=rng.randint(5, 20))
            bp = (rng.randint(172, 190), rng.randint(104, 112)) if item == "blood_pressure" else self.blood_pressure()
            row["bp_systolic"], row["bp_diastolic"] = bp
            escort = (patient.row["escort_name"], patient.row["escort_phone"])
            row["gate_json"] = self.gate_json(escort, spec, self.utc(row["arrived_at"]), bp, failed=(item,))
            row["closed_at"] = closed_at or start + dt.timedelta(minutes=rng.randint(3, 10))
            row["close_reason"] = reason
            row["version"] = 4

    def file_form(self, row: dict) -> None:
        """REMS forms: owed only for the last days' sessions, the newest mostly, a few a day or two overdue."""
        due = row["form_due_on"]
        if due is None:
            return
        rng = self.rng
        age = (self.today - row["start_at"].date()).days
        days = self.settings.rules.rems_form_days
        if age <= days:
            owed = age <= 0 or rng.random() < 0.85 * (days + 1 - age) / days
        else:
            owed = age <= days + 2 and rng.random() < 0.15
        if not owed:
            filed = row["discharged_at"] + dt.timedelta(days=rng.randint(0, min(5, days - 1)), hours=rng.randint(1, 6))
            row["form_filed_at"] = min(filed, self.now_local - dt.timedelta(hours=1))
            row["form_filed_by"] = DEMO_ACTOR

    # --- placing a course's sessions -------------------------------------------------------

    def outcome(self) -> str:
        draw = self.rng.random()
        if draw < 0.035:
            return "cancelled"
        if draw < 0.06:
            return "no_show"
        if draw < 0.075:
            return "deferred"
        return "discharged"

    def place(self, patient: _Patient, course: dict | None, number: int, phase: str, kind: str,
              spec: TreatmentSpec, day: dt.date, preferred: int, home_chair: int | None) -> dict | None:
        """Book one session on ``day`` near the preferred time with its status for that day."""
        if day in patient.days or not self.first_day <= day <= self.last_day or (day, spec.code) in self.full_days:
            return None
        slot = self.find_slot(day, spec, preferred, home_chair)
        if slot is None:
            if day != self.today:
                # Chairs only fill up: a day without room for this treatment stays so.
                self.full_days.add((day, spec.code))
            return None
        start, chair = slot
        row = self.session(patient, course, number, phase, kind, spec, day, start, chair)
        past = day < self.today or (day == self.today and start < self.now_minute)
        if past:
            status = self.outcome()
            if status == "discharged":
                self.treated(row, patient, spec)
                self.file_form(row)
            else:
                self.closed(row, patient, spec, status)
        elif day <= self.today + dt.timedelta(days=1) and self.rng.random() < 0.55:
            row["status"] = "confirmed"
            row["confirmed_at"] = min(self.now_local, row["start_at"] - dt.timedelta(hours=18)) \
                - dt.timedelta(minutes=self.rng.randint(5, 300))
            row["version"] = 2
        self.add_session(row)
        return row

    def add_session(self, row: dict) -> None:
        if row["updated_at"] is None:
            stamps = [row[k] for k in ("confirmed_at", "arrived_at", "seated_at", "dosing_at", "monitoring_at",
                                       "ready_at", "discharged_at", "closed_at", "form_filed_at") if row[k]]
            row["updated_at"] = max(stamps) if stamps else row["created_at"]
        if row["start_at"].date() == self.today:
            self.record_steps(row)
        if row["course"] is not None:
            self.course_statuses[row["course"]].append(row["status"])
        self.session_rows.append(row)
        self.counts["sessions"] += 1

    def record_steps(self, row: dict) -> None:
        """Today's sessions get their StatusChange trail, so the desk can undo a step."""
        previous = "scheduled"
        for status, column in (("confirmed", "confirmed_at"), ("arrived", "arrived_at"), ("seated", "seated_at"),
                               ("dosing", "dosing_at"), ("monitoring", "monitoring_at"),
                               ("ready_to_leave", "ready_at"), ("discharged", "discharged_at"),
                               (row["status"], "closed_at")):
            if row[column] is not None:
                self.status_rows.append(dict(session=row["id"], from_status=previous, to_status=status,
                                             at=row[column], actor=DEMO_ACTOR, undone=False))
                previous = status

    def run_course(self, patient: _Patient, protocol: ProtocolSpec, spec: TreatmentSpec, start_on: dt.date,
                   preferred: int, weekdays: tuple[int, ...] | None, *, first_number: int = 1,
                   after: dt.date | None = None, course: dict | None = None, quit_after: int | None = None,
                   kind: str = "course") -> tuple[dict, dt.date | None]:
        """Book a course's sessions from ``first_number`` on its pattern days (misses move the plan)."""
        course = course or self.make_course(patient, protocol, spec.code, start_on, preferred, weekdays)
        number, last_day, home_chair, reached = first_number, None, None, 0
        phase_start = week_monday(start_on) if after is None else week_monday(after)
        for phase in protocol.phases:
            reached += phase.sessions
            if number > reached:
                continue
            taken_in_phase = None
            for day in self.pattern(phase_start, phase_weekdays(phase, weekdays), phase.every_weeks):
                if day < start_on or (after is not None and day <= after):
                    continue
                if (quit_after is not None and number > quit_after and day < self.today):
                    return self.finish_course(course, protocol, last_day), last_day
                row = self.place(patient, course, number, phase.name, kind, spec, day, preferred, home_chair)
                if row is None:
                    continue
                home_chair = self.chair_index[row["chair"]]
                taken_in_phase = last_day = day
                if row["status"] not in MISSED:
                    number += 1
                if number > reached:
                    break
            if taken_in_phase is not None:
                phase_start = week_monday(taken_in_phase) + dt.timedelta(weeks=1)
        return self.finish_course(course, protocol, last_day), last_day

    def finish_course(self, course: dict, protocol: ProtocolSpec, last_day: dt.date | None) -> dict:
        """The course's status from its sessions: completed, discontinued, planned, induction or maintenance."""
        statuses = self.course_statuses.pop(course["id"], [])
        done = statuses.count("discharged")
        started = done or any(s in IN_PROGRESS for s in statuses)
        booked = sum(1 for s in statuses if s not in MISSED)
        if done >= protocol.total_sessions:
            course["status"] = "completed"
        elif booked < protocol.total_sessions and (last_day is None or last_day < self.today):
            course["status"] = "discontinued" if started else "planned"
        elif not started:
            course["status"] = "planned"
        elif len(protocol.phases) > 1 and done >= protocol.phases[0].sessions:
            course["status"] = "maintenance"
        else:
            course["status"] = "induction"
        return course

    # --- a patient's story -----------------------------------------------------------------

    def preferred_start(self, spec: TreatmentSpec) -> int:
        hours = next(iter(self.settings.hours.values()))
        first, last = hours[0].hour * 60 + hours[0].minute, hours[1].hour * 60 + hours[1].minute
        step = self.settings.rules.slot_minutes
        return self.rng.randrange(first, last - spec.chair_minutes + 1, step)

    def esketamine_spec(self) -> TreatmentSpec:
        code = "esketamine-84" if self.rng.random() < 0.3 and "esketamine-84" in self.settings.treatments \
            else self.settings.protocol("spravato-trd").treatment
        return self.settings.treatment(code)

    def story(self, patient: _Patient) -> None:
        """A generic patient: an induction course from intake, then boosters or maintenance."""
        rng, settings = self.rng, self.settings
        if patient.family == "iv":
            protocol = settings.protocol("iv-induction")
            spec = settings.treatment(protocol.treatment)
            quit_after = rng.randint(2, 5) if rng.random() < 0.06 else None
            # Three infusions a week on one of three patterns, spreading the clinic's week.
            weekdays = rng.choice((None, None, (1, 3, 4), (0, 1, 3)))
            _, last = self.run_course(patient, protocol, spec, patient.intake, self.preferred_start(spec), weekdays,
                                      quit_after=quit_after)
            if last is None or quit_after is not None:
                return
            booster = settings.protocol("iv-booster")
            for _ in range(rng.choice((0, 1, 2, 2, 3, 3, 4, 5))):
                target = last + dt.timedelta(days=rng.randint(14, 42))
                if target > self.last_day:
                    return
                _, booked = self.run_course(patient, booster, spec, target, self.preferred_start(spec), None,
                                            kind="booster")
                if booked is None:
                    return
                last = booked
        else:
            protocol = settings.protocol("spravato-trd")
            spec = self.esketamine_spec()
            # A third each on Mon/Thu, Tue/Fri and Wed/Fri, spreading the clinic's week.
            weekdays = rng.choice((None, (1, 4), (2, 4)))
            quit_after = rng.randint(3, 12) if rng.random() < 0.12 else None
            self.run_course(patient, protocol, spec, patient.intake, self.preferred_start(spec), weekdays,
                            quit_after=quit_after)

    # --- today ---------------------------------------------------------------------------

    def today_entry(self, entry: _TodayEntry) -> None:
        """A patient whose session today is in ``entry.state`` at "now", with its course around it."""
        settings = self.settings
        if entry.family == "iv":
            protocol = settings.protocol("iv-induction" if entry.number else "iv-booster")
            spec = settings.treatment(protocol.treatment)
        else:
            protocol = settings.protocol("spravato-trd")
            spec = self.esketamine_spec()
        slot = self.today_slot(entry, spec)
        if slot is None:
            return  # this hour of the day leaves no room for that state
        start, chair = slot
        number = max(entry.number, 1)
        weekdays = self.weekdays_with_today(protocol)
        first_weekdays = phase_weekdays(protocol.phases[0], weekdays)
        earlier = self.earlier_days(first_weekdays, number - 1) if entry.number else []
        intake = earlier[0] if earlier else self.today - dt.timedelta(weeks=10 if not entry.number else 0)
        patient = self.make_patient(intake, entry.family, escort=entry.escort,
                                    consent_expires=self.today + dt.timedelta(days=entry.consent_days))
        if not entry.number:
            # A booster today, after an induction course that ended weeks ago.
            induction = settings.protocol("iv-induction")
            self.run_course(patient, induction, spec, intake, start, None)
            course = self.make_course(patient, protocol, spec.code, self.today, start, None)
            kind, phase = "booster", "booster"
        else:
            course = self.make_course(patient, protocol, spec.code, intake, start, weekdays)
            kind, phase = "course", protocol.phases[0].name
            for n, day in enumerate(earlier, start=1):
                self.attended_session(patient, course, n, phase, spec, day, start)
        row = self.session(patient, course, number, phase, kind, spec, self.today, start, chair,
                           held=CLOSED_HOLD.get(entry.state))
        self.stamp_today(row, patient, spec, entry)
        self.add_session(row)
        if kind == "course":
            self.run_course(patient, protocol, spec, intake, start, weekdays,
                            first_number=number + (row["status"] not in MISSED), after=self.today, course=course)
        else:
            self.finish_course(course, protocol, self.today)

    def weekdays_with_today(self, protocol: ProtocolSpec) -> tuple[int, ...] | None:
        """A weekday override whose first phase meets on today's weekday (None: the protocol's own)."""
        days = protocol.phases[0].weekdays
        weekday = self.today.weekday()
        if weekday in days:
            return None
        return tuple(sorted(set(days[1:]) | {weekday}))

    def earlier_days(self, weekdays, count: int) -> list[dt.date]:
        """The ``count`` open pattern days before today, oldest first."""
        found: list[dt.date] = []
        day = self.today
        while len(found) < count:
            day -= dt.timedelta(days=1)
            if day.weekday() in weekdays and self.opening(day) is not None:
                found.append(day)
        return sorted(found)

    def attended_session(self, patient: _Patient, course: dict, number: int, phase: str, spec: TreatmentSpec,
                         day: dt.date, preferred: int) -> None:
        slot = self.find_slot(day, spec, preferred, None)
        if slot is not None:
            row = self.session(patient, course, number, phase, "course", spec, day, *slot)
            self.treated(row, patient, spec)
            self.file_form(row)
            self.add_session(row)

    def today_slot(self, entry: _TodayEntry, spec: TreatmentSpec) -> tuple[int, int] | None:
        """A grid start and a free chair whose timeline puts the session in ``entry.state`` now."""
        now = self.now_minute
        hours = self.opening(self.today)
        if hours is None:
            return None
        chair_minutes, dosing_minutes = spec.chair_minutes, spec.dosing_minutes
        grace = self.settings.rules.late_grace_minutes
        # Stamps below: seated start+1, dosing start+3 (+4 when ready), so ready from start+4+chair_minutes.
        ready = (lambda start: start + 4 + chair_minutes)
        rules = {
            "discharged": lambda s: s + chair_minutes + 25 <= now,
            "turnover": lambda s: s + chair_minutes + 12 <= now - 4 < s + chair_minutes + 45,
            "ready_to_leave": (lambda s: ready(s) + 25 <= now <= ready(s) + 60) if entry.overdue
            else (lambda s: ready(s) <= now <= ready(s) + 12),
            "monitoring": lambda s: s + 3 + dosing_minutes < now < s + 3 + chair_minutes - 5,
            "dosing": lambda s: s + 3 <= now < s + 3 + dosing_minutes,
            "seated": lambda s: s - 2 <= now < s + 8,
            "arrived": lambda s: now + 5 <= s <= now + 40,
            "late": lambda s: s + grace < now < s + grace + 40,
            "no_show": lambda s: s + 30 <= now,
            "deferred": lambda s: s + 12 <= now,
        }
        fits = rules.get(entry.state, lambda s: s >= now + 20)  # late_cancel, confirmed, scheduled
        step = self.settings.rules.slot_minutes
        candidates = [s for s in range(hours[0], hours[1] - chair_minutes + 1, step) if fits(s)]
        candidates.sort(key=lambda s: (abs(s - (now + entry.offset)), s))
        held = CLOSED_HOLD.get(entry.state)
        late = entry.state == "late"
        for start in candidates:
            for chair in self.free_chairs(self.today, start, spec, self.out_of_service if late else None,
                                          minutes=held, booked_before_breakdown=late):
                present = self.presence(entry.state, start, spec)
                if present is None or self.present_map(chair).find(1, *present) == -1:
                    return start, chair
        return None

    def presence(self, state: str, start: int, spec: TreatmentSpec) -> tuple[int, int] | None:
        """Minutes a scripted patient really sits in the chair, turnover included (None: never seated)."""
        if state not in ("discharged", "turnover", "ready_to_leave", "monitoring", "dosing", "seated"):
            return None
        if state == "discharged":
            leaves = start + spec.chair_minutes + 20
        elif state == "turnover":
            leaves = self.now_minute - 4
        else:
            leaves = max(start + 4 + spec.chair_minutes, self.now_minute) + 5
        return start, leaves + spec.turnover_minutes

    def present_map(self, chair: int) -> bytearray:
        return self.presence_today.setdefault(chair, bytearray(24 * 60 + 240))

    def stamp_today(self, row: dict, patient: _Patient, spec: TreatmentSpec, entry: _TodayEntry) -> None:
        now = self.now_local
        start = row["start_at"]
        state = entry.state
        minutes = dt.timedelta(minutes=1)
        if state in ("discharged", "turnover"):
            discharged = now - 4 * minutes if state == "turnover" else None
            self.treated(row, patient, spec, seated=start + minutes, dosing=start + 3 * minutes,
                         discharged=discharged)
            row["ready_at"] = min(row["ready_at"], row["discharged_at"] - minutes)
        elif state == "ready_to_leave":
            dosing = start + 4 * minutes
            ready = max(spec.earliest_ready(dosing), now - (40 if entry.overdue else 6) * minutes)
            self.treated(row, patient, spec, until="ready_to_leave", seated=start + minutes, dosing=dosing,
                         ready=min(ready, now))
        elif state in ("monitoring", "dosing"):
            self.treated(row, patient, spec, until=state, seated=start + minutes, dosing=start + 3 * minutes)
        elif state == "seated":
            self.treated(row, patient, spec, until=state, seated=min(start + minutes, now))
        elif state in ("arrived", "late", "confirmed"):
            row["confirmed_at"] = min(start - 20 * 60 * minutes, now - self.rng.randint(30, 600) * minutes)
            row["status"], row["version"] = "confirmed", 2
            if state == "arrived":
                row["arrived_at"] = now - self.rng.randint(2, 8) * minutes
                row["status"], row["version"] = "arrived", 3
        elif state == "no_show":
            self.closed(row, patient, spec, "no_show")
        elif state == "deferred":
            self.closed(row, patient, spec, "deferred", closed_at=min(start + 8 * minutes, now))
        elif state == "late_cancel":
            self.closed(row, patient, spec, "cancelled", closed_at=now - self.rng.randint(20, 90) * minutes)
        chair = self.chair_index[row["chair"]]
        first = start.hour * 60 + start.minute
        present = self.presence(state, first, spec)
        if present is not None:
            self.present_map(chair)[present[0]:present[1]] = b"\x01" * (present[1] - present[0])
            if state != "turnover":
                # Still in the chair past the plan: nobody else is booked into those minutes.
                self.take(chair, self.today, first, spec, present[1] - first)
        if row["discharged_at"] is not None:
            self.file_form(row)

    # --- everything -------------------------------------------------------------------------

    def patients_plan(self) -> Iterator[_Patient]:
        """Generic patients, by intake date, spread over the demo's period."""
        rng = self.rng
        span = (self.last_day - self.first_day).days - 21
        intakes = sorted(self.first_day + dt.timedelta(days=rng.randrange(span)) for _ in range(self.size.patients))
        for intake in intakes:
            family = "iv" if rng.random() < 0.55 else "esketamine"
            consent = intake + dt.timedelta(days=365)
            if consent < self.today + dt.timedelta(days=60) and intake > self.today - dt.timedelta(days=300):
                consent = self.today + dt.timedelta(days=rng.randint(90, 330))
            yield self.make_patient(intake, family, consent_expires=consent)



    def build(self) -> None:
        """Plan the whole clinic; patients and courses are written between patients."""
        for entry in TODAY_SCRIPT:
            self.today_entry(entry)
        for patient in self.patients_plan():
            self.story(patient)
            if len(self.session_rows) >= 10 * CHUNK_ROWS:
                self.flush()
        self.flush()
        self.write_sessions()

    def write_sessions(self) -> None:
        """Sessions numbered and written in start order, with their status changes.

        Rows in start order append to the table and to most of its indexes (start, chair and
        start, chair and end) instead of landing all over them: half the insert's time.
        """
        fields = self.session_fields
        start_column = fields.index("start_at")
        ordered = sorted(self.session_tuples, key=lambda values: (values[start_column], values[0]))
        renumbered = {values[0]: new_id for new_id, values in enumerate(ordered, start=1)}
        self.writer.insert(Session, fields, [(new_id, *values[1:]) for new_id, values in enumerate(ordered, start=1)])
        session_column = self.status_fields.index("session") if self.status_fields else 0
        self.writer.insert(StatusChange, self.status_fields,
                           [(*values[:session_column], renumbered[values[session_column]], *values[session_column + 1:])
                            for values in self.status_tuples])

    def flush(self) -> None:
        """Write planned patients and courses; keep sessions (in UTC) for the final insert."""
        for row in self.session_rows:
            for name in _SESSION_TIMES:
                row[name] = self.utc(row[name])
        for row in self.status_rows:
            row["at"] = self.utc(row["at"])
        for model, rows in ((Patient, self.patient_rows), (Course, self.course_rows),
                            (Session, self.session_rows), (StatusChange, self.status_rows)):
            for row in rows:
                self.writer.complete(model, row)
        for model, rows in ((Patient, self.patient_rows), (Course, self.course_rows)):
            if rows:
                self.writer.insert(model, list(rows[0]), [self.writer.values(row) for row in rows])
            rows.clear()
        if self.session_rows:
            self.session_fields = self.session_fields or list(self.session_rows[0])
            self.session_tuples.extend(self.writer.values(row) for row in self.session_rows)
        if self.status_rows:
            self.status_fields = self.status_fields or list(self.status_rows[0])
            self.status_tuples.extend(self.writer.values(row) for row in self.status_rows)
        self.session_rows.clear()
        self.status_rows.clear()


class _DayGrid:
    """One open day's chairs on the booking grid: per slot, the bits of the chairs busy in it.

    Slot i holds the ``step`` minutes from opening + i * step. Sessions start on the grid, so
    a session meets a busy span exactly when their slots meet: one OR over a session's slots
    says which chairs are free for all of it, instead of a scan of minutes chair by chair.
    Each chair's own slots are kept as bits too, for the day's budget.
    """

    __slots__ = ("opens", "step", "open_slots", "slots", "chairs", "budget")

    def __init__(self, opens: int, closes: int, step: int, budget: int | None):
        self.opens, self.step = opens, step
        self.open_slots = (1 << ((closes - opens) // step)) - 1  # the slots inside opening hours
        self.slots = [0] * ((24 * 60 + 240 - opens) // step + 1)
        self.chairs: dict[int, int] = {}  # chair bit -> its busy slots as bits
        self.budget = budget  # open slots a chair may hold (None: no limit)

    def bounds(self, start: int, minutes: int) -> tuple[int, int]:
        return max(0, (start - self.opens) // self.step), -((self.opens - start - minutes) // self.step)

    def busy(self, start: int, minutes: int) -> int:
        first, last = self.bounds(start, minutes)
        busy = 0
        for chairs in self.slots[first:last]:
            busy |= chairs
        return busy

    def hold(self, chairs: int, start: int, end: int) -> None:
        """Keep the chairs free from ``start`` to ``end`` (minutes of the day) without using their budget."""
        first, last = self.bounds(start, end - start)
        for index in range(first, min(last, len(self.slots))):
            self.slots[index] |= chairs

    def take(self, bit: int, start: int, minutes: int) -> None:
        first, last = self.bounds(start, minutes)
        slots = self.slots
        for index in range(first, last):
            slots[index] |= bit
        self.chairs[bit] = self.chairs.get(bit, 0) | ((1 << (last - first)) - 1) << first

    def may_hold(self, bit: int, start: int, minutes: int, window: int) -> bool:
        """True when the chair taking the span stays within the budget and keeps ``window`` free slots in a row."""
        first, last = self.bounds(start, minutes)
        held = (self.chairs.get(bit, 0) | ((1 << (last - first)) - 1) << first) & self.open_slots
        if held.bit_count() > self.budget:
            return False
        free = ~held & self.open_slots
        for _ in range(window - 1):
            free &= free >> 1
        return free != 0


class _BulkWriter:
    """``executemany`` of plain tuples: peewee's insert_many builds SQL per value, too slow at 150,000 rows."""

    def __init__(self, database):
        self.database = database
        self.sqlite = not is_postgres(database)

    @staticmethod
    def complete(model, row: dict) -> None:
        """Give the columns the demo does not plan their model defaults, as insert_many would."""
        for field in model._meta.sorted_fields:
            if field.name not in row and not isinstance(field, peewee.AutoField) and field.default is not None:
                row[field.name] = field.default() if callable(field.default) else field.default

    def values(self, row: dict) -> tuple:
        if not self.sqlite:
            return tuple(row.values())
        # SQLite stores what peewee's fields would: text instants and dates (booleans bind as 0/1).
        return tuple([str(value) if type(value) in _TEXT_TYPES else value for value in row.values()])

    @contextlib.contextmanager
    def roomy_cache(self) -> Iterator[None]:
        """SQLite: a page cache that holds the session indexes while they load (the default is 2 MB)."""
        if not self.sqlite:
            yield
            return
        (previous,) = self.database.execute_sql("PRAGMA cache_size").fetchone()
        self.database.execute_sql(f"PRAGMA cache_size = {LOAD_CACHE_KIB}")
        try:
            yield
        finally:
            self.database.execute_sql(f"PRAGMA cache_size = {int(previous)}")

    def insert(self, model, names: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        columns = ", ".join(f'"{model._meta.fields[name].column_name}"' for name in names)
        marks = ", ".join([self.database.param] * len(names))
        sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
        cursor = self.database.cursor()
        for first in range(0, len(rows), CHUNK_ROWS):
            cursor.executemany(sql, rows[first:first + CHUNK_ROWS])


_TEXT_TYPES = frozenset((dt.datetime, dt.date))
_SESSION_TIMES = ("start_at", "end_at", "busy_until", "confirmed_at", "arrived_at", "seated_at", "dosing_at",
                  "monitoring_at", "ready_at", "discharged_at", "closed_at", "form_filed_at", "created_at",
                  "updated_at")

# Children first, so foreign keys never point at a missing row while the tables empty.
_WIPE_ORDER = (StatusChange, AuditEntry, Session, Course, Patient, Protocol, Treatment, Chair, Setting)


def _wipe() -> None:
    """Empty every table of a demo database (ids restart, so a seed gives the same rows)."""
    if is_postgres():
        tables = ", ".join(model._meta.table_name for model in _WIPE_ORDER)
        Session._meta.database.execute_sql(f"TRUNCATE TABLE {tables} RESTART IDENTITY")
        return
    Session.update(replaced_by=None).execute()
    for model in _WIPE_ORDER:
        model.delete().execute()


def _sync_sequences() -> None:
    """PostgreSQL: move each id sequence past the ids the demo wrote explicitly."""
    if not is_postgres():
        return
    database = Session._meta.database
    for model in (Patient, Course, Session, StatusChange):
        table = model._meta.table_name
        database.execute_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")


def holds_real_data() -> bool:
    """True when the open database has patients or sessions and is not marked as a demo."""
    if is_demo_database():
        return False
    return Patient.select().exists() or Session.select().exists()


def demo_moment(today: dt.date | None, clock: Clock, tz) -> tuple[dt.date, dt.datetime]:
    """(today, now) the demo is built around: the clock's, or ``today`` at the clock's time of day.

    A ``today`` other than the clock's day takes the clock's wall time when it falls in the
    working day (08:00-18:00), else 11:00, so its chairs are busy.
    """
    now = clock.now()
    local_now = now.astimezone(tz)
    if today is None or today == local_now.date():
        return local_now.date(), now
    wall = local_now.time().replace(second=0) if dt.time(8) <= local_now.time() <= dt.time(18) else dt.time(11)
    from .clock import to_utc

    return today, to_utc(dt.datetime.combine(today, wall), tz).replace(tzinfo=UTC)


def build_demo(*, size: str = "small", seed: int = DEFAULT_SEED, today: dt.date | None = None,
               clock: Clock | None = None, actor: str = DEMO_ACTOR,
               base: ClinicSettings | None = None) -> DemoSummary:
    """Rebuild the open database as the demo clinic, in ONE write transaction.

    Refuses (nothing written) a database holding patients or sessions that is not a demo.
    """
    if size not in SIZES:
        from .errors import BadInput

        raise BadInput(f"unknown demo size {size!r} (sizes: {', '.join(SIZES)})")
    demo_size = SIZES[size]
    base = base or example_settings()
    today, now = demo_moment(today, clock or Clock(), base.tz)
    settings, opened = demo_settings(base, today, demo_size)
    with writing():
        if holds_real_data():
            raise Refused("refused: this database holds clinic data that is not a demo; "
                          "use 'keta --demo demo' or another --db", reason="not_demo")
        _wipe()
        apply_settings(settings, actor)
        builder = _Builder(settings, demo_size, seed, today, now)
        out_of_service = builder.chairs[builder.out_of_service][0]
        Chair.update(out_of_service_reason=OUT_OF_SERVICE_REASON).where(Chair.id == out_of_service).execute()
        with builder.writer.roomy_cache():
            builder.build()
        _sync_sequences()
        mark_demo()
        put_setting(DEMO_TODAY_KEY, today.isoformat())
        put_setting(DEMO_SIZE_KEY, size)
        summary = DemoSummary(size=size, seed=seed, today=today, now=now, patients=builder.counts["patients"],
                              courses=builder.counts["courses"], sessions=builder.counts["sessions"],
                              opened_today=opened)
        audit(actor, "demo.generate", "settings", None,
              after={"size": size, "seed": seed, "today": today.isoformat(), "patients": summary.patients,
                     "courses": summary.courses, "sessions": summary.sessions, "opened_today": opened},
              at=now.replace(tzinfo=None))
    return summary


def ensure_demo(target: str, clock: Clock) -> None:
    """Open the demo database at ``target`` (creating it), rebuilding it when it is not today's.

    The TUI launcher calls this for ``keta --demo``. A database with real data is refused.
    """
    from keta_tui.db.connection import open_database

    open_database(target, create=True)
    stored_today = get_setting(DEMO_TODAY_KEY)
    local_today = clock.now().astimezone(example_settings().tz).date()
    if is_demo_database() and stored_today == local_today.isoformat():
        return
    build_demo(size=get_setting(DEMO_SIZE_KEY) or "small", clock=clock)
