"""A tiny deterministic clinic for the pilot and snapshot tests, built through the services.

Frozen "now": Tue 2026-11-17 10:00 New York (tests/conftest.py FROZEN_NOW). The day holds
a session in each interesting state; tomorrow holds two to confirm. All names are made up.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field

import pytest

from keta_tui.clinic import lifecycle
from keta_tui.clinic.booking import book_session
from keta_tui.clinic.clock import Clock
from keta_tui.clinic.gate import GateAnswers, check_in
from keta_tui.clinic.course_plan import plan_course
from keta_tui.clinic.courses import book_course
from keta_tui.clinic.patients import add_patient
from keta_tui.clinic.settings import example_settings
from tests.conftest import FROZEN_NOW, PG_URL, ClinicDB, make_clinic_db

TZ_NAME = "America/New_York"
ACTOR = "test-desk"
DAY = dt.date(2026, 11, 17)
PASSING = dict(fasting=True, consent_ok=True, rems_enrolled=True, bp_systolic=122, bp_diastolic=78)


def local(day: dt.date, hhmm: str, tz) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


@dataclass
class FixtureClinic:
    """Ids of what the tests act on, by the role each plays."""

    db: object
    patients: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    courses: dict[str, int] = field(default_factory=dict)

    @property
    def settings(self):
        return self.db.settings


PATIENTS = (
    # key, first, last, phone, escort, REMS
    ("avery", "Avery", "Quill", "(555) 010-1001", ("Sam Quill", "555-010-2001"), False),
    ("blake", "Blake", "Rowan", "(555) 010-1002", ("Lee Rowan", "555-010-2002"), True),
    ("casey", "Casey", "Thorne", "(555) 010-1003", ("", ""), False),
    ("devon", "Devon", "Marsh", "(555) 010-1004", ("Kit Marsh", "555-010-2004"), True),
    ("emery", "Emery", "Lark", "(555) 010-1005", ("Jo Lark", "555-010-2005"), False),
    ("finley", "Finley", "Stone", "(555) 010-1006", ("Ari Stone", "555-010-2006"), True),
    ("gray", "Gray", "Holt", "(555) 010-1007", ("Max Holt", "555-010-2007"), False),
)


def build_clinic(db) -> FixtureClinic:
    settings = db.settings
    tz = settings.tz
    clinic = FixtureClinic(db=db)
    booked_at = dt.datetime(2026, 11, 10, 14, 0, tzinfo=dt.timezone.utc)
    for key, first, last, phone, (escort, escort_phone), rems in PATIENTS:
        patient = add_patient(first_name=first, last_name=last, dob=dt.date(1980, 1, 1 + len(clinic.patients)),
                              phone=phone, escort_name=escort, escort_phone=escort_phone,
                              consent_expires_on=dt.date(2027, 6, 30), rems_enrolled=rems,
                              actor=ACTOR, now=booked_at)
        clinic.patients[key] = patient.id

    def book(role, patient, treatment, day, hhmm, chair):
        start = local(day, hhmm, tz).replace(tzinfo=None)
        booked = book_session(settings, patient_id=clinic.patients[patient], treatment_code=treatment,
                              start_local=start, chair_name=chair, actor=ACTOR, now=booked_at)
        clinic.sessions[role] = booked.id
        return booked.id

    def at(hhmm):
        return local(DAY, hhmm, tz).astimezone(dt.timezone.utc)

    def step(role, hhmm, to=None):
        lifecycle.advance(settings, clinic.sessions[role], to=to, actor=ACTOR, now=at(hhmm))

    def arrive(role, patient, hhmm):
        escort_name, escort_phone = PATIENTS_BY_KEY[patient][4]
        check_in(settings, clinic.sessions[role],
                 GateAnswers(escort_name=escort_name, escort_phone=escort_phone, **PASSING),
                 actor=ACTOR, now=at(hhmm))

    tomorrow = DAY + dt.timedelta(days=1)
    # Avery's induction started last week: the sessions before today done, PHQ-9 falling.
    earlier = dt.datetime(2026, 11, 1, 14, 0, tzinfo=dt.timezone.utc)
    avery_plan = plan_course(settings, patient_id=clinic.patients["avery"], protocol_code="iv-induction",
                             start_on=dt.date(2026, 11, 9), at=dt.time(8, 0), weekdays=(0, 2, 4), now=earlier)
    clinic.courses["avery"] = book_course(settings, avery_plan, actor=ACTOR, now=earlier)
    past = [s for s in avery_plan.sessions if s.start.date() < DAY]
    for planned, score in zip(past, (21, 15, 9)):
        walk_to_discharge(settings, session_on(clinic.courses["avery"], planned.number), planned.start, score)
    # Discharged early this morning; Chair 1 turned over since.
    book("discharged", "avery", "iv-ketamine", DAY, "08:00", "Chair 1")
    arrive("discharged", "avery", "07:50")
    step("discharged", "08:00")
    step("discharged", "08:02")
    step("discharged", "08:42")
    step("discharged", "09:27")
    step("discharged", "09:30")
    # Esketamine in monitoring since 08:45 on Chair 5.
    book("monitoring", "blake", "esketamine-56", DAY, "08:30", "Chair 5")
    arrive("monitoring", "blake", "08:20")
    step("monitoring", "08:30")
    step("monitoring", "08:32")
    step("monitoring", "08:45")
    # IV infusion running on Chair 2.
    book("dosing", "devon", "iv-ketamine", DAY, "09:30", "Chair 2")
    arrive("dosing", "devon", "09:20")
    step("dosing", "09:30")
    step("dosing", "09:35")
    # Due at 10:15 on Chair 6, confirmed by phone: the chair shows reserved.
    book("reserved", "finley", "esketamine-84", DAY, "10:15", "Chair 6")
    lifecycle.advance(settings, clinic.sessions["reserved"], actor=ACTOR, now=booked_at)
    # Due at 09:30 and not here: late.
    book("late", "gray", "iv-ketamine", DAY, "09:30", "Chair 4")
    # The check-in flow's patient: no escort on file, due 11:00 on Chair 3.
    book("check_in", "casey", "iv-ketamine", DAY, "11:00", "Chair 3")
    # This afternoon: the first of Emery's induction course (Tue/Thu).
    emery_plan = plan_course(settings, patient_id=clinic.patients["emery"], protocol_code="iv-induction",
                             start_on=DAY, at=dt.time(13, 0), weekdays=(1, 3), now=booked_at)
    clinic.courses["emery"] = book_course(settings, emery_plan, actor=ACTOR, now=booked_at)
    clinic.sessions["afternoon"] = session_on(clinic.courses["emery"], 1)
    # Tomorrow's confirmation calls.
    book("tomorrow_1", "gray", "iv-ketamine", tomorrow, "09:00", "Chair 3")
    book("tomorrow_2", "emery", "iv-ketamine", tomorrow, "10:00", "Chair 2")
    return clinic


PATIENTS_BY_KEY = {row[0]: row for row in PATIENTS}


def session_on(course_id: int, number: int) -> int:
    from keta_tui.clinic.courses import course_summary

    summary = course_summary(example_settings(), course_id, now=FROZEN_NOW)
    return next(row.id for row in summary.sessions if row.number == number)


IV_STEP_MINUTES = (0, 2, 42, 87, 90)  # seated, dosing, monitoring, ready to leave, discharged
ESKETAMINE_STEP_MINUTES = (0, 2, 17, 122, 125)  # monitoring runs 2 hours from the first device


def walk_to_discharge(settings, session_id: int, start: dt.datetime, phq9: int, *, patient: str = "avery",
                      step_minutes: tuple[int, ...] = IV_STEP_MINUTES) -> None:
    """A past session checked in (with a PHQ-9) and taken through every step to discharged."""
    utc = start.astimezone(dt.timezone.utc)
    escort_name, escort_phone = PATIENTS_BY_KEY[patient][4]
    check_in(settings, session_id, GateAnswers(escort_name=escort_name, escort_phone=escort_phone,
                                               phq9=phq9, **PASSING),
             actor=ACTOR, now=utc - dt.timedelta(minutes=10))
    for minutes in step_minutes:
        lifecycle.advance(settings, session_id, actor=ACTOR, now=utc + dt.timedelta(minutes=minutes))


@pytest.fixture(scope="session")
def clinic_template(tmp_path_factory):
    """The fixture clinic built once per run and kept as a SQLite file (copied per test)."""
    from keta_tui.db.base import database_proxy
    from keta_tui.db.connection import backup_sqlite, close_database

    folder = tmp_path_factory.mktemp("ui-clinic")
    built = build_clinic(make_clinic_db(folder))
    template = folder / "template.db"
    backup_sqlite(database_proxy.obj, template)
    close_database()
    return template, built


@pytest.fixture
def clinic(tmp_path, request) -> FixtureClinic:
    """A fresh copy of the fixture clinic (built through the services) for one test."""
    from keta_tui.db.connection import close_database, open_database

    if PG_URL:  # one server database: build it again for each test
        built = build_clinic(make_clinic_db(tmp_path))
        yield built
        close_database()
        return
    template, built = request.getfixturevalue("clinic_template")
    close_database()
    target = tmp_path / "clinic.db"
    shutil.copyfile(template, target)
    os.chmod(target, 0o600)
    open_database(str(target))
    db = ClinicDB(target=str(target), settings=built.settings, clock=Clock(FROZEN_NOW))
    yield FixtureClinic(db=db, patients=dict(built.patients), sessions=dict(built.sessions),
                        courses=dict(built.courses))
    close_database()


def make_app(clinic: FixtureClinic, **kwargs):
    from keta_tui.ui.app import KetaApp

    kwargs.setdefault("keys", {})
    return KetaApp(clinic.settings, clock=Clock(FROZEN_NOW), actor=ACTOR, cursor_blink=False,
                   refresh_seconds=0.2, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def quick_idle_checks():
    """Pilot waits for a quiet CPU window after every key and pause: 5 ms windows instead of
    Textual's 20 ms (same 1/20 CPU ratio) cut a third off the UI run; messages and workers
    are still waited for in full (``press`` drains the screen, ``settle`` the workers)."""
    from textual import _wait

    saved = _wait.SLEEP_GRANULARITY, _wait.SLEEP_IDLE
    _wait.SLEEP_GRANULARITY = 1 / 200
    _wait.SLEEP_IDLE = _wait.SLEEP_GRANULARITY / 20
    yield
    _wait.SLEEP_GRANULARITY, _wait.SLEEP_IDLE = saved


async def settle(pilot) -> None:
    """Wait for every worker and the messages they posted (no sleeps).

    A round's messages may start more work (a write's reply reloads the day), so it goes
    round again until a round ends with no worker running (three rounds at most).
    """
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if all(worker.is_finished for worker in pilot.app.workers):
            return


def screen_text(app) -> str:
    """The screen as plain text, for assertions on what the desk reads."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=False,
                      color_system=None, record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def select(pilot, session_id: int) -> None:
    """Put the board's cursor on a session (what arrow keys do, without counting rows)."""
    pilot.app.screen.select_session(session_id)
    await pilot.pause()


async def type_text(pilot, text: str) -> None:
    """Type into the focused field: short text key by key, longer text as one paste (faster)."""
    if len(text) <= 3:
        await pilot.press(*text)
        return
    from textual import events

    await pilot.pause()  # a focus() just asked for takes effect first
    pilot.app.focused.post_message(events.Paste(text))
    await pilot.pause()


def run_flow(clinic, snap_compare, flow, *, size=(80, 24), **app_kwargs):
    """Run ``flow(pilot)`` on a fresh app, settle, and compare the final screen's snapshot.

    Notifications are checked by the flow itself and cleared before the snapshot, so a
    toast's timeout can never make a snapshot flaky. Returns (app, snapshot matched).
    """
    app = make_app(clinic, **app_kwargs)

    async def run_before(pilot):
        await settle(pilot)
        await flow(pilot)
        await settle(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()
        pilot.app.final_text = screen_text(pilot.app)
        if os.environ.get("KETA_UI_DUMP"):  # inspect what a snapshot shows, as text
            print(pilot.app.final_text)

    matched = snap_compare(app, terminal_size=size, run_before=run_before)
    return app, matched


def notices(app) -> str:
    """Every notification shown so far, one per line."""
    return "\n".join(str(n.message) for n in app._notifications)
