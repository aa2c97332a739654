"""`keta today` / `keta upcoming`: output, JSON, and every error path with its exit code."""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from keta_tui.cli.main import main
from keta_tui.clinic.clock import to_utc
from keta_tui.clinic.store import writing
from keta_tui.db.connection import close_database
from keta_tui.db.models import Chair, Patient, Session, Treatment

from .conftest import PG_URL

NOW = "2026-11-17T15:00:00Z"  # Tue 10:00 in New York
sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite file cases")


@pytest.fixture
def desk(clinic_db, monkeypatch):
    """The clinic database as the CLI sees it, with a frozen clock."""
    close_database()
    monkeypatch.setenv("KETA_DB", clinic_db.target)
    monkeypatch.setenv("KETA_NOW", NOW)
    return clinic_db


def _book(settings, first, last, local, status="confirmed", chair="Chair 1", **extra):
    from keta_tui.db.connection import open_database

    open_database(os.environ["KETA_DB"])
    spec = settings.treatment("iv-ketamine")
    start, end, busy = spec.span(to_utc(local, settings.tz))
    with writing():
        patient = Patient.create(mrn=f"T{Patient.select().count() + 1}", first_name=first, last_name=last,
                                 search_name=f"{last} {first}".lower(), escort_name="Bo", escort_phone="1",
                                 consent_expires_on=dt.date(2027, 6, 1))
        Session.create(patient=patient, treatment=Treatment.get(code="iv-ketamine"), chair=Chair.get(name=chair),
                       start_at=start, end_at=end, busy_until=busy, status=status, **extra)
    close_database()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_today_prints_a_board_within_80_columns(desk, capsys):
    _book(desk.settings, "Ann", "Stone" * 10, dt.datetime(2026, 11, 17, 9, 30), status="monitoring",
          dosing_at=to_utc(dt.datetime(2026, 11, 17, 9, 35), desk.settings.tz))
    _book(desk.settings, "Cy", "Reed", dt.datetime(2026, 11, 17, 11, 0), chair="Chair 2")
    code, out, err = run(capsys, "today")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "Riverside Ketamine Clinic"
    assert lines[1].startswith("Tue 2026-11-17  open 08:00-18:00  2 sessions")
    assert all(len(line) <= 80 for line in lines)
    assert any(line.startswith("Chair 1") and "monitoring" in line and "may leave 11:00" in line for line in lines)
    assert any(line.startswith("09:30  StoneStone") and "…" in line and "monitoring" in line for line in lines)
    assert any(line.startswith("11:00  Reed, Cy") for line in lines)


def test_today_json_contract(desk, capsys):
    _book(desk.settings, "Cy", "Reed", dt.datetime(2026, 11, 17, 9, 0))
    code, out, _ = run(capsys, "today", "--json")
    data = json.loads(out)
    assert code == 0 and data["date"] == "2026-11-17" and data["clinic"] == "Riverside Ketamine Clinic"
    assert [c["name"] for c in data["chairs"]] == [f"Chair {n}" for n in range(1, 7)]
    (session,) = data["sessions"]
    assert session["start"] == "2026-11-17T09:00:00-05:00" and session["flags"] == ["late"]
    assert session["patient"]["name"] == "Reed, Cy" and session["course"] is None


def test_hostile_text_is_shown_literally(desk, capsys):
    _book(desk.settings, "[b]x", "\x1b[1mR\x07", dt.datetime(2026, 11, 17, 11, 0))
    code, out, _ = run(capsys, "today")
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    assert "\\x1b[1mR\\x07, [b]x" in out


def test_today_on_a_holiday_and_another_date(desk, capsys):
    code, out, _ = run(capsys, "today", "--date", "2026-11-26")
    assert code == 0 and "Thu 2026-11-26  closed: Thanksgiving Day  0 sessions" in out
    code, out, _ = run(capsys, "today", "--date", "+1")
    assert code == 0 and "Wed 2026-11-18  open 08:00-18:00" in out and "no sessions booked" in out


def test_upcoming_by_day(desk, capsys):
    _book(desk.settings, "Cy", "Reed", dt.datetime(2026, 11, 18, 9, 0))
    code, out, _ = run(capsys, "upcoming", "--days", "3")
    assert code == 0
    assert [line[:14] for line in out.splitlines() if line[:3] in ("Tue", "Wed", "Thu")] == \
        ["Tue 2026-11-17", "Wed 2026-11-18", "Thu 2026-11-19"]
    code, out, _ = run(capsys, "upcoming", "--days", "2", "--json")
    days = json.loads(out)["days"]
    assert [len(d["sessions"]) for d in days] == [0, 1]


@pytest.mark.parametrize("argv,code,words", [
    (("today", "--date", "2026-13-45"), 2, "not a date"),
    (("today", "--colour"), 2, "unrecognized arguments"),
    (("upcoming", "--days", "0"), 2, "--days"),
    (("upcoming", "--days", "many"), 2, "invalid int"),
])
def test_bad_input_exits_2_in_one_line(desk, capsys, argv, code, words):
    result, out, err = run(capsys, *argv)
    assert result == code and out == "" and words in err and len(err.strip().splitlines()) == 1


@sqlite_only
def test_missing_database_exits_4_and_creates_nothing(tmp_path, capsys):
    path = tmp_path / "none.db"
    code, out, err = run(capsys, "--db", str(path), "today")
    assert code == 4 and "no database" in err and not path.exists()


@sqlite_only
def test_corrupt_file_exits_4(tmp_path, capsys):
    path = tmp_path / "junk.db"
    path.write_bytes(b"not a database at all" * 100)
    code, out, err = run(capsys, "--db", str(path), "today")
    assert code == 4 and "not a keta database" in err and "Traceback" not in err
    assert path.read_bytes() == b"not a database at all" * 100


@sqlite_only
def test_newer_schema_exits_4_and_writes_nothing(desk, capsys):
    con = sqlite3.connect(desk.target)
    con.execute("insert into schema_migration (name, applied) values ('9999_from_the_future', '2030-01-01')")
    con.commit()
    con.close()
    before = open(desk.target, "rb").read()
    code, out, err = run(capsys, "today")
    assert code == 4 and "newer keta" in err and out == ""
    assert open(desk.target, "rb").read() == before


@sqlite_only
def test_today_reads_while_another_desk_holds_the_write_lock(desk, capsys, monkeypatch):
    """WAL: a reader is never blocked by a writer; the print command still answers."""
    monkeypatch.setenv("KETA_BUSY_TIMEOUT", "0.2")
    holder = sqlite3.connect(desk.target, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        code, out, err = run(capsys, "today", "--json")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 0 and json.loads(out)["date"] == "2026-11-17"


def test_demo_then_today_json_in_subprocesses(tmp_path):
    """The issue's check: `keta demo --db X && KETA_DB=X keta today --json`, file 0600."""
    target = PG_URL or str(tmp_path / "x.db")
    env = {**os.environ, "KETA_NOW": NOW, "KETA_ACTOR": "test-desk"}
    env.pop("KETA_DB", None)
    if PG_URL:
        from .conftest import reset_postgres

        close_database()
        reset_postgres(PG_URL)
    keta = [sys.executable, "-m", "keta_tui"]
    made = subprocess.run(keta + ["--db", target, "demo", "--size", "tiny"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert "demo clinic (tiny, seed" in made.stdout
    shown = subprocess.run(keta + ["today", "--json"], env={**env, "KETA_DB": target}, capture_output=True,
                           text=True, timeout=60)
    assert shown.returncode == 0 and shown.stderr == ""
    data = json.loads(shown.stdout)
    assert len({c["state"] for c in data["chairs"]}) >= 5
    assert len({s["status"] for s in data["sessions"]}) >= 6
    if not PG_URL:
        assert oct(os.stat(target).st_mode & 0o777) == "0o600"
