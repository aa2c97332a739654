"""The desk-operation driver the soak, crash and backup tests run as separate OS processes.

    python -m tests.reliability.workers MODE --db TARGET --log FILE [--seconds S] [--seed N]

Modes:
  settings  writes numbered settings keys through the store (backup/restore tests);
  desk      random front-desk operations through the clinic services (soak);
  board     keeps loading today's board (soak's reader);
  courses   plans and books whole courses, one after another (crash tests).

Every operation is logged to FILE as one JSON line *after* it returned (ok or
refused), flushed at once, so a killed worker's log is still true: a success in the
log is committed; a failure in the log left nothing behind.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

SOAK_DAY = dt.date(2026, 11, 17)  # the conftest's frozen Tuesday
FROZEN_NOW = dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.timezone.utc)


class OpLog:
    """One JSON line per finished operation, flushed so a kill -9 loses nothing logged."""

    def __init__(self, path: Path):
        self._fh = open(path, "a", encoding="utf-8", buffering=1)

    def write(self, **entry) -> None:
        self._fh.write(json.dumps(entry, default=str) + "\n")
        self._fh.flush()


def _open(target: str):
    from keta_tui.db.connection import open_database

    open_database(target)


def _outcome(exc: BaseException) -> dict:
    """A refusal or a storage error as a log entry; anything else is a bug and re-raised."""
    from keta_tui.clinic.errors import KetaError
    from keta_tui.db.errors import DatabaseError

    if isinstance(exc, KetaError):
        return {"ok": False, "kind": type(exc).__name__, "reason": getattr(exc, "reason", "bad_input"),
                "exit": exc.exit_code}
    if isinstance(exc, DatabaseError):
        return {"ok": False, "kind": type(exc).__name__, "reason": "database", "exit": 4}
    raise exc


def run_settings(args, log: OpLog) -> None:
    """Numbered writes, each with its audit entry: a consistent copy holds a prefix of them."""
    from keta_tui.clinic.store import audit, put_setting, writing

    _open(args.db)
    deadline = time.monotonic() + args.seconds
    number = 0
    while time.monotonic() < deadline and not _stopped(args):
        key = f"{args.prefix}-{number:06d}"
        try:
            with writing():
                put_setting(key, str(number))
                audit("worker", "test.write", "settings", number, after={"key": key})
        except Exception as exc:  # noqa: BLE001 - _outcome re-raises anything unexpected
            log.write(op="setting", key=key, **_outcome(exc))
        else:
            log.write(op="setting", key=key, ok=True)
            number += 1
        if args.pause:
            time.sleep(args.pause)


def _stopped(args) -> bool:
    return bool(args.stop_file) and Path(args.stop_file).exists()


class SimClock:
    """Clinic time shared by every worker of a run: FROZEN_NOW plus scaled real seconds.

    All workers get the same ``--epoch``, so their "now" agrees; time runs faster than
    real so sessions can reach the end of monitoring within a short soak.
    """

    def __init__(self, epoch: float, minutes_per_second: float):
        self.epoch, self.scale = epoch, minutes_per_second

    def now(self) -> dt.datetime:
        elapsed = dt.timedelta(minutes=(time.time() - self.epoch) * self.scale)
        return (FROZEN_NOW + elapsed).replace(microsecond=0)


class Desk:
    """Random front-desk operations through the clinic services, each logged with its ids.

    Each operation acts under its own actor name ("w3-op17"), so the test can find
    exactly what it wrote in the audit trail and in the rows' created_by/updated_by.
    """

    def __init__(self, args, log: OpLog):
        from keta_tui.clinic.setup import load_settings

        self.args, self.log = args, log
        self.rng = random.Random(args.seed)
        self.clock = SimClock(args.epoch, args.minutes_per_second)
        self.settings = load_settings()
        self.number = 0

    def actor(self) -> str:
        return f"w{self.args.seed}-op{self.number}"

    def run(self) -> None:
        operations = [(self.add_patient, 2), (self.edit_patient, 2), (self.book, 6), (self.book_course, 2),
                      (self.check_in, 4), (self.advance, 6), (self.cancel, 2), (self.no_show, 1),
                      (self.undo, 2)]
        actions, weights = zip(*operations)
        deadline = time.monotonic() + self.args.seconds
        while time.monotonic() < deadline and not _stopped(self.args):
            self.number += 1
            action = self.rng.choices(actions, weights)[0]
            name = action.__name__
            started = time.perf_counter()
            try:
                ids = action()
            except Exception as exc:  # noqa: BLE001 - _outcome re-raises anything unexpected
                self.log.write(op=name, n=self.number, actor=self.actor(), **_outcome(exc))
            else:
                if ids is not None:
                    self.log.write(op=name, n=self.number, actor=self.actor(), ok=True,
                                   ms=round((time.perf_counter() - started) * 1000, 1), **ids)

    # --- picking targets: plain reads, outside any write transaction ---------------

    def _random_id(self, query):
        from peewee import fn

        return query.order_by(fn.Random()).limit(1).scalar()

    def _session(self, statuses, *, today_only: bool):
        from keta_tui.clinic.clock import day_bounds_utc
        from keta_tui.db.models import Session

        query = Session.select(Session.id).where(Session.status.in_(statuses))
        if today_only:
            start, end = day_bounds_utc(self.clock.now().astimezone(self.settings.tz).date(), self.settings.tz)
            query = query.where(Session.start_at >= start, Session.start_at < end)
        return self._random_id(query)

    def _start(self, days_ahead: int) -> dt.datetime:
        today = self.clock.now().astimezone(self.settings.tz).date()
        minutes = self.rng.randrange(8 * 60, 17 * 60, 15)
        return dt.datetime.combine(today + dt.timedelta(days=self.rng.randrange(days_ahead)),
                                   dt.time(minutes // 60, minutes % 60))

    # --- operations: each returns the ids it touched, or raises a refusal ------------

    def add_patient(self):
        from keta_tui.clinic.patients import add_patient

        detail = add_patient(first_name="Soak", last_name=f"Desk{self.args.seed}x{self.number}",
                             phone=f"555-01{self.rng.randrange(10)}-{self.rng.randrange(10000):04d}",
                             consent_expires_on=dt.date(2028, 1, 1), rems_enrolled=True,
                             actor=self.actor(), now=self.clock.now())
        return {"patient": detail.id, "creates": "patient"}

    def edit_patient(self):
        from keta_tui.clinic.patients import get_patient, update_patient
        from keta_tui.db.models import Patient

        patient_id = self._random_id(Patient.select(Patient.id))
        version = get_patient(patient_id).version
        if self.rng.random() < 0.2:
            version -= 1  # an edit made from a stale screen: must be refused
        update_patient(patient_id, version=version, actor=self.actor(), now=self.clock.now(),
                       changes={"notes": f"edited by {self.actor()}"})
        return {"patient": patient_id, "updates": "patient"}

    def _patient_id(self):
        from keta_tui.db.models import Patient

        return self._random_id(Patient.select(Patient.id))

    def book(self):
        from keta_tui.clinic.booking import book_session

        chair = self.rng.choice([None, None] + [c.name for c in self.settings.chairs])
        booked = book_session(self.settings, patient_id=self._patient_id(),
                              treatment_code=self.rng.choice(list(self.settings.treatments)),
                              start_local=self._start(5), chair_name=chair, actor=self.actor(),
                              now=self.clock.now(), suggest=0)
        return {"session": booked.id, "creates": "session"}

    def book_course(self):
        from keta_tui.clinic.course_plan import plan_course
        from keta_tui.clinic.courses import book_course

        start = self._start(10)
        plan = plan_course(self.settings, patient_id=self._patient_id(),
                           protocol_code=self.rng.choice(list(self.settings.protocols)),
                           start_on=start.date(), at=start.time(), now=self.clock.now())
        course_id = book_course(self.settings, plan, actor=self.actor(), now=self.clock.now())
        return {"course": course_id, "sessions": len(plan.sessions), "creates": "course"}

    def check_in(self):
        from keta_tui.clinic.gate import GateAnswers, check_in

        session_id = self._session(("scheduled", "confirmed"), today_only=True)
        if session_id is None:
            return None
        answers = GateAnswers(escort_name="Soak Escort", escort_phone="555-010-2000", fasting=True,
                              consent_ok=True, rems_enrolled=True, bp_systolic=120, bp_diastolic=80, phq9=9)
        check_in(self.settings, session_id, answers, actor=self.actor(), now=self.clock.now())
        return {"session": session_id, "updates": "session"}

    def advance(self):
        from keta_tui.clinic.lifecycle import advance

        session_id = self._session(("scheduled", "arrived", "seated", "dosing", "monitoring", "ready_to_leave"),
                                   today_only=self.rng.random() < 0.8)
        if session_id is None:
            return None
        advance(self.settings, session_id, actor=self.actor(), now=self.clock.now())
        return {"session": session_id, "updates": "session"}

    def cancel(self):
        from keta_tui.clinic.lifecycle import cancel

        session_id = self._session(("scheduled", "confirmed"), today_only=False)
        if session_id is None:
            return None
        cancel(self.settings, session_id, reason="soak: patient called", actor=self.actor(), now=self.clock.now())
        return {"session": session_id, "updates": "session"}

    def no_show(self):
        from keta_tui.clinic.lifecycle import no_show

        session_id = self._session(("scheduled", "confirmed"), today_only=True)
        if session_id is None:
            return None
        no_show(self.settings, session_id, actor=self.actor(), now=self.clock.now())
        return {"session": session_id, "updates": "session"}

    def undo(self):
        from keta_tui.clinic.lifecycle import undo
        from keta_tui.db.models import StatusChange

        session_id = self._random_id(StatusChange.select(StatusChange.session).where(StatusChange.undone == False))  # noqa: E712
        if session_id is None:
            return None
        undo(self.settings, session_id, actor=self.actor(), now=self.clock.now())
        return {"session": session_id, "updates": "session"}


def run_desk(args, log: OpLog) -> None:
    _open(args.db)
    Desk(args, log).run()


def run_board(args, log: OpLog) -> None:
    """Today's board, over and over, as an open terminal would load it."""
    from keta_tui.clinic.board import load_day
    from keta_tui.clinic.setup import load_settings

    _open(args.db)
    settings = load_settings()
    clock = SimClock(args.epoch, args.minutes_per_second)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline and not _stopped(args):
        now = clock.now()
        started = time.perf_counter()
        board = load_day(settings, now.astimezone(settings.tz).date(), now=now)
        log.write(op="board", ok=True, sessions=len(board.sessions), marker=board.marker,
                  ms=round((time.perf_counter() - started) * 1000, 1))
        time.sleep(0.02)


def run_courses(args, log: OpLog) -> None:
    """Whole courses for fresh patients, one after another: the crash test's victim.

    "begin" is logged before a course is planned, "planned" before it is booked, and
    the outcome after: a kill after "planned" and before the outcome landed in booking.
    """
    from keta_tui.clinic.course_plan import plan_course
    from keta_tui.clinic.courses import book_course
    from keta_tui.clinic.patients import add_patient
    from keta_tui.clinic.setup import load_settings

    _open(args.db)
    settings = load_settings()
    rng = random.Random(args.seed)
    log.write(op="ready", ok=True)
    number, armed = 0, False
    while not _stopped(args):
        number += 1
        actor = f"c{args.seed}-op{number}"
        patient = add_patient(first_name="Crash", last_name=f"Course{args.seed}x{number}",
                              actor=f"c{args.seed}-patient{number}",
                              now=FROZEN_NOW, consent_expires_on=dt.date(2028, 1, 1), rems_enrolled=True)
        # Spread over two years: every course books mondays and thursdays, which would soon fill.
        start = SOAK_DAY + dt.timedelta(days=rng.randrange(1, 730))
        log.write(op="begin", n=number, actor=actor, patient=patient.id)
        try:
            plan = plan_course(settings, patient_id=patient.id, protocol_code=args.protocol, start_on=start,
                               at=dt.time(rng.randrange(8, 14), rng.choice((0, 15, 30, 45))), now=FROZEN_NOW)
            log.write(op="planned", n=number, sessions=len(plan.sessions))
            if args.kill_during_booking_ms and not armed and (not plan.conflicts or number >= 3):
                armed = True
                # SIGKILL from a timer thread lands anywhere inside book_course (sqlite3 and
                # psycopg release the GIL mid-statement), where a kill from outside rarely does.
                delay = rng.uniform(0, args.kill_during_booking_ms) / 1000
                threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL)).start()
            booking_started = time.perf_counter()
            course_id = book_course(settings, plan, actor=actor, now=FROZEN_NOW)
        except Exception as exc:  # noqa: BLE001 - _outcome re-raises anything unexpected
            log.write(op="course", n=number, actor=actor, **_outcome(exc))
        else:
            log.write(op="course", n=number, actor=actor, ok=True, course=course_id, sessions=len(plan.sessions),
                      ms=round((time.perf_counter() - booking_started) * 1000, 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workers")
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--db", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prefix", default="w")
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--stop-file", default="")
    parser.add_argument("--epoch", type=float, default=0.0, help="shared start of simulated time (time.time())")
    parser.add_argument("--minutes-per-second", type=float, default=10.0)
    parser.add_argument("--protocol", default="spravato-trd")
    parser.add_argument("--kill-during-booking-ms", type=float, default=0.0,
                        help="courses: SIGKILL itself this many ms at most into booking the first course")
    args = parser.parse_args(argv)
    args.epoch = args.epoch or time.time()
    os.environ.setdefault("KETA_ACTOR", f"worker-{args.seed}")
    log = OpLog(Path(args.log))
    try:
        MODES[args.mode](args, log)
    except Exception:  # a crash is what the tests look for: say so loudly
        traceback.print_exc()
        return 1
    return 0


MODES = {"settings": run_settings, "desk": run_desk, "board": run_board, "courses": run_courses}

if __name__ == "__main__":
    sys.exit(main())
