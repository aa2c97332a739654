"""Hostile text (markup, escapes, control characters, RTL, emoji, 10,000 characters, SQL):
stored exactly as typed, printed literally, never interpreted, never a crash."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from keta_tui.clinic.booking import book_session
from keta_tui.clinic.errors import KetaError
from keta_tui.clinic.lifecycle import cancel
from keta_tui.clinic.patients import add_patient, get_patient
from keta_tui.db.connection import close_database, open_database
from keta_tui.db.models import Session

from ..conftest import FROZEN_NOW
from .helpers import run_keta, run_main
from .invariants import record_results

HOSTILE = (
    "[bold]Bold[/bold]",
    "[/]",
    "[link=http://x]click me[/link]",
    "[red]unclosed",
    "[@click=app.quit]quit[/]",
    "\x1b[2J\x1b[31mRed\x1b[0m",
    "\x1b]0;title\x07",
    "bell\x07back\x08del\x7fesc\x1b",
    "nul\x00byte",
    "\u202eevil txt.exe\u202c",
    "\u200b\u200d\ufeffzero width",
    "🧪💉 Emoji 👩‍⚕️",
    "Ñandú Ünïcødé Łódź",
    "مرحبا שלום",
    "line\nbreak\r\nand\ttab",
    "'); DROP TABLE patient;--",
    "Robert'); DROP TABLE students;--",
    "%s %(name)s {0} {name} $(rm -rf /) ${HOME}",
    "<script>alert(1)</script>",
    "\\x1b is not an escape",
    "x" * 10_000,
)
# Anything a terminal would act on: C0/C1 controls (but newline), bidi overrides.
TERMINAL_ACTIVE = {chr(c) for c in range(32) if c != 10} | {chr(c) for c in range(0x7F, 0xA0)} | {"\u202e", "\u202c"}
TOMORROW = dt.date(2026, 11, 18)
NOW = {"KETA_NOW": "2026-11-17T15:00:00Z"}


def _assert_literal(output: str, where) -> None:
    active = sorted(repr(ch) for ch in TERMINAL_ACTIVE if ch in output)
    assert not active, f"{where}: raw {active} reached the terminal"


def _store_hostile(clinic_db) -> tuple[list[tuple[int, str]], int]:
    """Patients named, noted and cancelled with hostile text; (patient id, text) kept, refusals counted."""
    stored, refused = [], 0
    chairs = [c.name for c in clinic_db.settings.chairs if "iv" in c.routes]
    for index, text in enumerate(HOSTILE):
        detail, text_in_name = None, True
        for first_name in (text, "Plain"):
            try:
                detail = add_patient(first_name=first_name, last_name=f"Hostile{index}", notes=text,
                                     escort_name=text[:200], actor="test-desk", now=FROZEN_NOW)
                break
            except KetaError as exc:
                # Refusing is fine (a name too long; NUL on PostgreSQL): one clear line, nothing stored.
                assert exc.exit_code == 2 and str(exc) and "\n" not in str(exc), text[:40]
                refused += 1
                text_in_name = False
        if detail is None:
            continue
        back = get_patient(detail.id)
        assert back.notes == text, f"notes changed: {text[:40]!r}"
        if text_in_name:
            assert back.first_name == text.strip(), f"name changed: {text[:40]!r}"
        stored.append((detail.id, text))
        # Four IV sessions a day per chair, over tomorrow and the day after.
        slot = index // len(chairs)
        start = (dt.datetime.combine(TOMORROW + dt.timedelta(days=slot // 4), dt.time(8, 0))
                 + dt.timedelta(minutes=105 * (slot % 4)))
        booked = book_session(clinic_db.settings, patient_id=detail.id, treatment_code="iv-ketamine",
                              start_local=start, chair_name=chairs[index % len(chairs)], actor="test-desk",
                              now=FROZEN_NOW)
        if index % 2:
            cancel(clinic_db.settings, booked.id, reason=text if text.strip() else "blank", actor="test-desk",
                   now=FROZEN_NOW)
            reason = Session.get_by_id(booked.id).close_reason
            assert reason == (text.strip() or "blank"), f"reason changed: {text[:40]!r}"
    return stored, refused


@pytest.fixture
def frozen_cli(monkeypatch):
    monkeypatch.setenv("KETA_NOW", NOW["KETA_NOW"])


def test_hostile_text_is_stored_as_typed_and_printed_literally(clinic_db, capsys, frozen_cli):
    stored, refused = _store_hostile(clinic_db)
    close_database()
    # One real process, as a desk's terminal runs it.
    day = run_keta("today", "--date", "2026-11-18", db=clinic_db.target, **NOW)
    assert day.code == 0 and "Traceback" not in day.stderr, day.stderr
    _assert_literal(day.stdout, "today in a process")
    tried = 1
    for args in (("today", "--date", "2026-11-18"), ("today", "--date", "2026-11-19"), ("upcoming", "--days", "3"),
                 *[("patient", "show", str(pid)) for pid, _ in stored],
                 *[("history", "--patient", str(pid)) for pid, _ in stored[:6]],
                 *[("patient", "find", text[:50]) for _, text in stored if "\x00" not in text]):
        run = run_main(capsys, *args, db=clinic_db.target)
        tried += 1
        assert run.code in (0, 2), (args, run.stderr)
        assert "Traceback" not in run.stderr
        _assert_literal(run.stdout, args)
        _assert_literal(run.stderr.rstrip("\n"), args)

    # JSON carries the exact text, escaped, for scripts.
    names = {}
    for day in ("2026-11-18", "2026-11-19"):
        board = json.loads(run_main(capsys, "today", "--date", day, "--json", db=clinic_db.target).stdout)
        names.update({row["patient"]["id"]: row["patient"]["name"] for row in board["sessions"]})
    for patient_id, text in stored:
        if len(text) <= 200:
            assert text.strip() in names[patient_id]

    open_database(clinic_db.target)
    # The SQL fragments were data, not statements: every table and row is still there.
    assert get_patient(stored[-1][0]).notes == HOSTILE[-1]
    record_results("hostile_input", {"strings": len(HOSTILE), "fields_per_string": 4,
                                     "cli_runs": tried, "refusals": refused})


@pytest.mark.parametrize("text", [t for t in HOSTILE if "\x00" not in t], ids=range(len(HOSTILE) - 1))
def test_hostile_text_through_the_cli(clinic_db, capsys, frozen_cli, text):
    close_database()
    run = run_main(capsys, "patient", "add", "--first", text, "--last", "Typed", "--notes", text, "--json",
                   db=clinic_db.target)
    assert "Traceback" not in run.stderr
    _assert_literal(run.stderr.rstrip("\n"), text[:30])
    if run.code == 2:  # refused as bad input (a 10,000-character name)
        return
    assert run.code == 0, run.stderr
    patient = json.loads(run.stdout)
    open_database(clinic_db.target)
    back = get_patient(patient["id"])
    assert back.first_name == text.strip() and back.notes == text
