"""Privacy: the database, its side files and backups are private to their owner; errors
never carry names, phones or notes; keta writes no log files with patient data."""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pytest

from keta_tui.clinic.booking import book_session
from keta_tui.clinic.patients import add_patient
from keta_tui.db.connection import close_database

from ..conftest import FROZEN_NOW, PG_URL
from .helpers import SECRET_NAME, SECRET_NOTE, SECRET_PHONE, assert_one_line_error, mode, run_keta

NOW = {"KETA_NOW": "2026-11-17T15:00:00Z"}
OTHER_NAME = ("Otherzz", "Hiddenname")
SECRETS = (*SECRET_NAME, *OTHER_NAME, SECRET_PHONE, SECRET_PHONE.replace("-", ""), "Qwertnote", "Escortina")


def _clinic_with_secrets(clinic_db) -> dict:
    secret = add_patient(first_name=SECRET_NAME[0], last_name=SECRET_NAME[1], phone=SECRET_PHONE,
                         notes=SECRET_NOTE, escort_name="Escortina Private", escort_phone="555-013-1111",
                         consent_expires_on="2028-01-01", actor="test-desk", now=FROZEN_NOW)
    other = add_patient(first_name=OTHER_NAME[0], last_name=OTHER_NAME[1], phone="555-013-2222",
                        notes="Qwertnote too", actor="test-desk", now=FROZEN_NOW)
    settings = clinic_db.settings
    mine = book_session(settings, patient_id=secret.id, treatment_code="iv-ketamine",
                        start_local=dt.datetime(2026, 11, 18, 10, 0), chair_name="Chair 1",
                        actor="test-desk", now=FROZEN_NOW)
    theirs = book_session(settings, patient_id=other.id, treatment_code="iv-ketamine",
                          start_local=dt.datetime(2026, 11, 18, 13, 0), chair_name="Chair 2",
                          actor="test-desk", now=FROZEN_NOW)
    close_database()
    return {"secret": secret, "other": other, "mine": mine.id, "theirs": theirs.id}


def test_errors_never_show_patient_data(clinic_db, keta):
    ids = _clinic_with_secrets(clinic_db)
    secret, other, mine = str(ids["secret"].id), str(ids["other"].id), str(ids["mine"])
    provoked = [
        ("book", "--patient", secret, "--treatment", "iv-ketamine", "--at", "2026-11-18 10:30"),
        ("book", "--patient", other, "--treatment", "iv-ketamine", "--at", "2026-11-18 10:00", "--chair", "Chair 1"),
        ("book", "--patient", secret, "--treatment", "iv-ketamine", "--at", "2026-11-21 10:00"),
        ("reschedule", mine, "--at", "2026-11-18 13:00", "--chair", "Chair 2"),
        ("advance", mine, "discharged"),
        ("noshow", mine),
        ("undo", mine),
        ("cancel", mine, "--reason", ""),
        ("patient", "edit", secret, "--version", "99", "--notes", "changed"),
        ("patient", "add", "--first", "Zyxwv", "--last", "Secretname", "--mrn", ids["secret"].mrn),
        ("patient", "add", "--first", "Zyxwv", "--last", "Secretname", "--dob", "notadate"),
        ("patient", "add", "--first", "Zyxwv", "--last", "Secretname", "--phone", SECRET_PHONE, "--dob", "2999-01-01"),
        ("course", "plan", "--patient", secret, "--protocol", "iv-induction", "--start", "2026-11-18",
         "--at", "13:00", "--book"),
        ("history", "999999"),
        ("patient", "show", "999999"),
        ("checkin", mine, "--bp", "999/1"),
    ]
    for args in provoked:
        run = keta(*args, db=clinic_db.target, **NOW)
        assert run.code in (2, 3, 4), (args, run.code, run.stdout)
        line = assert_one_line_error(run, run.code)
        leaked = [secret_text for secret_text in SECRETS if secret_text.lower() in line.lower()]
        assert not leaked, f"{args}: {line}"


@pytest.mark.skipif(bool(PG_URL), reason="SQLite file locking")
def test_locked_database_error_is_anonymous(clinic_db, keta):
    ids = _clinic_with_secrets(clinic_db)
    holder = sqlite3.connect(clinic_db.target, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        run = keta("patient", "edit", str(ids["secret"].id), "--version", "1", "--notes", SECRET_NOTE,
                       db=clinic_db.target, KETA_BUSY_TIMEOUT="0.2", **NOW)
    finally:
        holder.rollback()
        holder.close()
    line = assert_one_line_error(run, 4)
    assert not [s for s in SECRETS if s.lower() in line.lower()], line


@pytest.mark.skipif(bool(PG_URL), reason="SQLite file modes")
def test_new_database_side_files_and_backups_are_private(tmp_path, keta):
    old_umask = os.umask(0)  # even a careless umask must not widen them
    try:
        home = tmp_path / "home"
        env = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share")}
        assert keta("init", **env).code == 0
        default = home / ".local" / "share" / "keta" / "keta.db"
        assert mode(default) == 0o600 and mode(default.parent) == 0o700
        target = tmp_path / "clinic" / "keta.db"
        assert keta("init", db=str(target), **env).code == 0
        assert keta("patient", "add", "--first", "Priv", "--last", "Ate", db=str(target), **env).code == 0
        # Side files appear while a connection is open; SQLite gives them the database's mode.
        holder = sqlite3.connect(target)
        holder.execute("SELECT count(*) FROM patient").fetchone()
        assert keta("backup", str(tmp_path / "copies" / "b.db"), db=str(target), **env).code == 0
        for side in (Path(str(target) + "-wal"), Path(str(target) + "-shm")):
            if side.exists():
                assert mode(side) == 0o600, side
        holder.close()
    finally:
        os.umask(old_umask)
    assert mode(target) == 0o600 and mode(target.parent) == 0o700
    assert mode(tmp_path / "copies" / "b.db") == 0o600 and mode(tmp_path / "copies") == 0o700


@pytest.mark.skipif(bool(PG_URL), reason="looks at the files next to a SQLite database")
def test_no_log_files_with_patient_data(clinic_db, tmp_path, keta):
    ids = _clinic_with_secrets(clinic_db)
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "XDG_CACHE_HOME": str(home / "cache"),
           "XDG_STATE_HOME": str(home / "state"), "XDG_CONFIG_HOME": str(home / "config"), **NOW}
    for args in (("today", "--date", "2026-11-18"), ("patient", "find", "zyx"),
                 ("patient", "show", str(ids["secret"].id)), ("history", str(ids["mine"])),
                 ("book", "--patient", str(ids["secret"].id), "--treatment", "iv-ketamine",
                  "--at", "2026-11-18 10:30"),
                 ("backup", str(tmp_path / "b.db"))):
        keta(*args, db=clinic_db.target, **env)
    database_files = {Path(clinic_db.target).name, "b.db"}
    for path in tmp_path.rglob("*"):
        if not path.is_file() or path.name.split("-")[0] in database_files:
            continue
        assert path.suffix != ".log", path
        data = path.read_bytes()
        assert not any(s.encode() in data for s in SECRETS), f"{path} holds patient data"
