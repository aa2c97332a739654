"""The demo clinic: invariants, today in every state, determinism, refusal of real data."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from keta_tui.clinic import board, demo
from keta_tui.clinic.availability import free_slots
from keta_tui.clinic.clock import Clock, to_local
from keta_tui.clinic.errors import Refused
from keta_tui.clinic.settings import example_settings
from keta_tui.clinic.setup import is_demo_database, load_settings
from keta_tui.clinic.store import get_setting, writing
from keta_tui.db.connection import close_database, open_database
from keta_tui.db.models import ACTIVE_STATUSES, AuditEntry, Chair, Course, Patient, Session, Treatment

from .conftest import FROZEN_NOW, PG_URL, reset_postgres

STAMPS = ("confirmed_at", "arrived_at", "seated_at", "dosing_at", "monitoring_at", "ready_at", "discharged_at")


def _fresh_target(tmp_path, name="demo.db") -> str:
    close_database()
    if PG_URL:
        reset_postgres(PG_URL)
        return PG_URL
    return str(tmp_path / name)


def _dump() -> dict:
    """Everything the demo generates, comparable between builds."""
    return {
        "patients": list(Patient.select().order_by(Patient.id).tuples()),
        "courses": list(Course.select().order_by(Course.id).tuples()),
        "sessions": [row[:-2] for row in Session.select().order_by(Session.id).tuples()],  # updated_at/_by
    }


def _free_starts(settings, summary) -> dict:
    """Each open day after the demo's today: treatment code -> the free starts (clinic wall clock)."""
    free = {}
    for offset in range(1, demo.SIZES["tiny"].future_days + 1):
        day = summary.today + dt.timedelta(days=offset)
        if settings.is_open(day):
            free[day] = {code: [slot.start.time() for slot in free_slots(settings, code, now=summary.now, count=100,
                                                                         start=day, until=day)]
                         for code in settings.treatments}
    return free


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):
    """One tiny demo at the frozen Tuesday 10:00, read into memory for the invariant tests."""
    target = _fresh_target(tmp_path_factory.mktemp("demo"))
    open_database(target, create=True)
    summary = demo.build_demo(size="tiny", clock=Clock(FROZEN_NOW))
    settings = load_settings()
    data = {
        "summary": summary,
        "settings": settings,
        "sessions": list(Session.select().dicts()),
        "courses": {c["id"]: c for c in Course.select().dicts()},
        "patients": {p["id"]: p for p in Patient.select().dicts()},
        "treatments": {t.id: t.code for t in Treatment.select()},
        "chair_routes": {c.id: c.routes.split(",") for c in Chair.select()},
        "board": board.load_day(settings, FROZEN_NOW.astimezone(settings.tz).date(), now=FROZEN_NOW),
        "dump": _dump(),
        "free_starts": _free_starts(settings, summary),
        "is_demo": is_demo_database(),
        "audit": [(a.action, a.actor) for a in AuditEntry.select()],
    }
    close_database()
    return data


def test_demo_is_marked_and_audited(tiny_demo):
    summary = tiny_demo["summary"]
    assert tiny_demo["is_demo"] and summary.today == dt.date(2026, 11, 17)
    assert summary.patients == len(tiny_demo["patients"]) and summary.sessions == len(tiny_demo["sessions"])
    assert ("demo.generate", "demo") in tiny_demo["audit"]


def test_no_chair_or_patient_overlap(tiny_demo):
    by_chair, by_patient = defaultdict(list), defaultdict(list)
    for s in tiny_demo["sessions"]:
        if s["status"] in ACTIVE_STATUSES:
            by_patient[s["patient"]].append((s["start_at"], s["end_at"]))
            if s["chair"] is not None:
                by_chair[s["chair"]].append((s["start_at"], s["busy_until"]))
    for spans in list(by_chair.values()) + list(by_patient.values()):
        spans.sort()
        for (_, first_end), (second_start, _) in zip(spans, spans[1:]):
            assert second_start >= first_end


def test_sessions_fit_open_days_hours_and_chair_routes(tiny_demo):
    settings = tiny_demo["settings"]
    tz = settings.tz
    for s in tiny_demo["sessions"]:
        start, end = to_local(s["start_at"], tz), to_local(s["end_at"], tz)
        hours = settings.opening(start.date())
        assert hours is not None, f"session {s['id']} on a closure {start.date()}"
        assert hours[0] <= start.time() and end.time() <= hours[1]
        route = settings.treatment(tiny_demo["treatments"][s["treatment"]]).route
        assert s["chair"] is not None and route in tiny_demo["chair_routes"][s["chair"]]


def test_courses_are_numbered_one_to_n(tiny_demo):
    by_course = defaultdict(list)
    for s in tiny_demo["sessions"]:
        if s["course"] is not None:
            by_course[s["course"]].append(s)
    assert by_course
    for course_id, sessions in by_course.items():
        course = tiny_demo["courses"][course_id]
        kept = sorted(s["number"] for s in sessions if s["status"] not in demo.MISSED)
        assert kept == list(range(1, len(kept) + 1)) and len(kept) <= course["planned_sessions"]
        assert all(1 <= s["number"] <= course["planned_sessions"] for s in sessions)
        # Numbers follow the calendar.
        ordered = sorted((s for s in sessions if s["status"] not in demo.MISSED), key=lambda s: s["start_at"])
        assert [s["number"] for s in ordered] == kept


def test_timestamps_are_in_order_and_never_in_the_future(tiny_demo):
    settings = tiny_demo["settings"]
    now = FROZEN_NOW.replace(tzinfo=None)
    for s in tiny_demo["sessions"]:
        stamps = [s[name] for name in STAMPS if s[name] is not None]
        assert stamps == sorted(stamps), s["id"]
        assert all(stamp <= now for stamp in stamps + [s["closed_at"]] if stamp is not None)
        if s["dosing_at"] and s["ready_at"]:
            spec = settings.treatment(tiny_demo["treatments"][s["treatment"]])
            assert s["ready_at"] >= spec.earliest_ready(s["dosing_at"])
        if s["status"] == "discharged":
            assert all(s[name] for name in STAMPS)
        if s["status"] == "cancelled":
            assert s["late_cancel"] == (s["start_at"] - s["closed_at"] < dt.timedelta(hours=24))


def test_the_coming_days_leave_room_to_book(tiny_demo):
    """From tomorrow: chairs within their share of the day, free starts for every treatment, late morning too."""
    settings, today = tiny_demo["settings"], tiny_demo["summary"].today
    free = tiny_demo["free_starts"]
    assert len(free) >= 15
    for day, starts in free.items():
        assert all(starts.values()), f"{day}: no free start for {[c for c, s in starts.items() if not s]}"
        assert all(dt.time(10) in times for times in starts.values()), day
    held = defaultdict(float)
    for s in tiny_demo["sessions"]:
        start, until = to_local(s["start_at"], settings.tz), to_local(s["busy_until"], settings.tz)
        if start.date() > today and s["status"] in ACTIVE_STATUSES:
            closes = dt.datetime.combine(start.date(), settings.opening(start.date())[1], tzinfo=settings.tz)
            held[(s["chair"], start.date())] += (min(until, closes) - start).total_seconds() / 60
    open_minutes = 10 * 60  # the example's hours
    assert held and max(held.values()) <= demo.FUTURE_CHAIR_SHARE * open_minutes
    busy_days = [sum(m for (_, d), m in held.items() if d == day) for day in free]
    in_service = len(tiny_demo["chair_routes"]) - 1
    assert max(busy_days) >= 0.45 * in_service * open_minutes  # room, not an empty diary


def test_only_the_last_days_owe_their_rems_form(tiny_demo):
    today, days = tiny_demo["summary"].today, tiny_demo["settings"].rules.rems_form_days
    owed = [s for s in tiny_demo["sessions"] if s["form_due_on"] and not s["form_filed_at"]]
    assert owed and all(s["form_due_on"] >= today - dt.timedelta(days=2) for s in owed)
    filed = [s for s in tiny_demo["sessions"] if s["form_filed_at"]]
    assert all(s["discharged_at"] < s["form_filed_at"] and s["form_filed_at"].date() <= s["form_due_on"] for s in filed)
    assert any(s["form_due_on"] < today + dt.timedelta(days=days) for s in filed)


def test_history_has_outcomes_forms_and_improving_scores(tiny_demo):
    sessions = tiny_demo["sessions"]
    today = dt.date(2026, 11, 17)
    statuses = {s["status"] for s in sessions}
    assert {"discharged", "cancelled", "no_show", "deferred", "scheduled", "confirmed"} <= statuses
    owed = [s for s in sessions if s["form_due_on"] and not s["form_filed_at"]]
    assert owed and any(s["form_filed_at"] for s in sessions)
    assert all(s["form_due_on"] for s in sessions if s["dosing_at"] and s["treatment"] !=
               next(k for k, v in tiny_demo["treatments"].items() if v == "iv-ketamine"))
    scores = defaultdict(list)
    for s in sorted(sessions, key=lambda s: s["start_at"]):
        if s["phq9"] is not None:
            scores[s["patient"]].append(s["phq9"])
    improving = [p for p, trend in scores.items() if len(trend) >= 3 and trend[-1] < tiny_demo["patients"][p]["phq9_baseline"]]
    assert len(improving) > len([p for p, t in scores.items() if len(t) >= 3]) / 2
    assert all(p["mrn"].startswith("D") and "555-01" in p["phone"] for p in tiny_demo["patients"].values())
    # Phone-suffix search reads phone_reversed: filled exactly as the patients service does.
    assert all(p["phone_reversed"] == p["phone_digits"][::-1] != "" for p in tiny_demo["patients"].values())
    assert any(c["status"] == "completed" for c in tiny_demo["courses"].values())
    assert {s["start_at"].date() for s in sessions} and max(s["start_at"] for s in sessions).date() > today


def test_today_sits_in_every_state(tiny_demo):
    day = tiny_demo["board"]
    chair_states = {c.state for c in day.chairs}
    assert {"seated", "dosing", "monitoring", "ready_to_leave", "turnover", "out_of_service"} <= chair_states
    assert any(c.reason for c in day.chairs if c.state == "out_of_service")
    statuses = {r.status for r in day.sessions}
    assert {"discharged", "arrived", "confirmed", "scheduled", "no_show", "cancelled", "deferred"} <= statuses
    flags = {flag for r in day.sessions for flag in r.flags}
    assert {"late", "no_escort", "consent_expiring", "late_cancel", "gate_failed", "rems_form_due"} <= flags
    assert len(day.sessions) >= 15


def test_same_seed_same_clinic_other_seed_other_clinic(tiny_demo, tmp_path):
    target = _fresh_target(tmp_path, "again.db")
    open_database(target, create=True)
    demo.build_demo(size="tiny", clock=Clock(FROZEN_NOW))
    assert _dump() == tiny_demo["dump"]
    # Rebuilding a demo database starts from scratch, with another seed here.
    demo.build_demo(size="tiny", seed=7, clock=Clock(FROZEN_NOW))
    other = _dump()
    assert other != tiny_demo["dump"] and len(other["patients"]) < 2 * len(tiny_demo["dump"]["patients"])
    close_database()


def test_refuses_a_database_with_real_data_and_writes_nothing(clinic_db):
    with writing():
        Patient.create(mrn="K1", first_name="Ann", last_name="Stone", search_name="stone ann")
    audit_before = AuditEntry.select().count()
    with pytest.raises(Refused) as refused:
        demo.build_demo(size="tiny", clock=Clock(FROZEN_NOW))
    assert refused.value.exit_code == 3 and "not a demo" in str(refused.value)
    assert Patient.select().count() == 1 and Session.select().count() == 0
    assert AuditEntry.select().count() == audit_before and not is_demo_database()
    assert Chair.select().count() == len(clinic_db.settings.chairs)


def test_a_closed_today_is_opened_for_the_demo(tmp_path):
    """Thanksgiving 2026: the demo adds the day to closures.open_dates and fills it."""
    target = _fresh_target(tmp_path)
    open_database(target, create=True)
    thanksgiving = dt.datetime(2026, 11, 26, 16, 30, tzinfo=dt.timezone.utc)
    summary = demo.build_demo(size="tiny", clock=Clock(thanksgiving))
    settings = load_settings()
    assert summary.opened_today and dt.date(2026, 11, 26) in settings.open_dates
    assert example_settings().closure_reason(dt.date(2026, 11, 26)) == "Thanksgiving Day"
    day = board.load_day(settings, dt.date(2026, 11, 26), now=thanksgiving)
    assert day.closure is None and len(day.sessions) >= 10
    assert {"monitoring", "dosing"} <= {c.state for c in day.chairs}
    close_database()


def test_ensure_demo_builds_once_a_day(tmp_path):
    target = _fresh_target(tmp_path)
    clock = Clock(FROZEN_NOW)
    demo.ensure_demo(target, clock)
    assert is_demo_database() and get_setting(demo.DEMO_TODAY_KEY) == "2026-11-17"
    first = Session.select().count()
    AuditEntry.create(actor="x", action="marker", entity="settings")
    demo.ensure_demo(target, clock)  # same day: kept as is
    assert AuditEntry.select().where(AuditEntry.action == "marker").count() == 1
    demo.ensure_demo(target, Clock(FROZEN_NOW + dt.timedelta(days=1)))  # next day: rebuilt
    assert get_setting(demo.DEMO_TODAY_KEY) == "2026-11-18"
    assert AuditEntry.select().where(AuditEntry.action == "marker").count() == 0
    assert Session.select().count() > first / 2
    close_database()


def test_ensure_demo_refuses_real_data(clinic_db):
    with writing():
        Patient.create(mrn="K1", first_name="Ann", last_name="Stone", search_name="stone ann")
    with pytest.raises(Refused):
        demo.ensure_demo(clinic_db.target, Clock(FROZEN_NOW))
    assert Session.select().count() == 0
