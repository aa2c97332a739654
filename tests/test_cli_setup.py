"""`keta init` and `keta demo` through the CLI: what they print, write, refuse and exit with."""
from __future__ import annotations

import os
import sqlite3

import pytest

from keta_tui.cli.main import main
from keta_tui.clinic.settings import EXAMPLE_PATH
from keta_tui.db.connection import close_database, open_database

from .conftest import PG_URL, reset_postgres

NOW = "2026-11-17T15:00:00Z"
sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite file cases")


@pytest.fixture
def target(tmp_path, monkeypatch):
    """An empty place for a database (a fresh file path, or the emptied PostgreSQL test database)."""
    close_database()
    monkeypatch.setenv("KETA_NOW", NOW)
    if PG_URL:
        reset_postgres(PG_URL)
        yield PG_URL
    else:
        yield str(tmp_path / "keta.db")
    close_database()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    close_database()
    return code, out, err


def _counts(target):
    from keta_tui.db.models import AuditEntry, Patient, Session

    open_database(target)
    try:
        return Patient.select().count(), Session.select().count(), AuditEntry.select().count()
    finally:
        close_database()


def test_init_creates_a_private_database_with_the_example(target, capsys):
    code, out, err = run(capsys, "--db", target, "init")
    assert code == 0 and err == ""
    assert "no settings yet: loaded the bundled example" in out
    if not PG_URL:
        assert "created" in out and oct(os.stat(target).st_mode & 0o777) == "0o600"
    code, out, _ = run(capsys, "--db", target, "init")
    assert code == 0 and "settings unchanged" in out
    code, out, _ = run(capsys, "--db", target, "today", "--json")
    assert code == 0 and '"clinic": "Riverside Ketamine Clinic"' in out


def test_init_loads_a_settings_file(target, tmp_path, capsys):
    config = tmp_path / "mine.toml"
    config.write_text(EXAMPLE_PATH.read_text(encoding="utf-8").replace("Riverside Ketamine Clinic", "Hillside Clinic"))
    code, out, _ = run(capsys, "--db", target, "init", "--config", str(config))
    assert code == 0 and "Hillside Clinic, 6 chairs, 3 treatments, 3 protocols" in out


def test_init_with_an_invalid_file_changes_nothing(target, tmp_path, capsys):
    assert run(capsys, "--db", target, "init")[0] == 0
    before = _counts(target)
    config = tmp_path / "bad.toml"
    config.write_text(EXAMPLE_PATH.read_text(encoding="utf-8").replace('timezone = "America/New_York"',
                                                                       'timezone = "Mars/Base"'))
    code, out, err = run(capsys, "--db", target, "init", "--config", str(config))
    assert code == 2 and out == "" and f"{config}: clinic.timezone: unknown time zone" in err
    assert _counts(target) == before


@sqlite_only
def test_init_with_an_invalid_file_creates_no_database(tmp_path, capsys):
    path = tmp_path / "never.db"
    code, _, err = run(capsys, "--db", str(path), "init", "--config", str(tmp_path / "missing.toml"))
    assert code == 2 and "no such settings file" in err and not path.exists()


def test_demo_writes_and_rebuilds_a_demo(target, capsys):
    code, out, err = run(capsys, "--db", target, "demo", "--size", "tiny", "--seed", "3")
    assert code == 0 and err == "" and "demo clinic (tiny, seed 3)" in out
    assert "today is Tue 2026-11-17, built around 10:00 clinic time" in out
    first = _counts(target)
    code, out, _ = run(capsys, "--db", target, "demo", "--size", "tiny", "--seed", "3")
    assert code == 0 and _counts(target)[:2] == first[:2]  # rebuilt, not added to


def test_demo_for_another_day_and_a_closed_one(target, capsys):
    code, out, _ = run(capsys, "--db", target, "demo", "--size", "tiny", "--today", "2026-11-26")
    assert code == 0 and "today is Thu 2026-11-26, built around 10:00" in out
    assert "normally closed (Thanksgiving Day)" in out and "closures.open_dates" in out


def test_demo_refuses_real_data_and_writes_nothing(target, capsys):
    assert run(capsys, "--db", target, "init")[0] == 0
    from keta_tui.clinic.store import writing
    from keta_tui.db.models import Patient

    open_database(target)
    with writing():
        Patient.create(mrn="K1", first_name="Ann", last_name="Stone", search_name="stone ann")
    close_database()
    before = _counts(target)
    code, out, err = run(capsys, "--db", target, "demo", "--size", "tiny")
    assert code == 3 and out == "" and "not a demo" in err and len(err.splitlines()) == 1
    assert _counts(target) == before


@pytest.mark.parametrize("argv,words", [
    (("demo", "--today", "someday"), "not a date"),
    (("demo", "--seed", "abc"), "invalid int"),
    (("demo", "--size", "huge"), "invalid choice"),
    (("init", "--bogus"), "unrecognized arguments"),
])
def test_bad_input_exits_2(target, capsys, argv, words):
    code, out, err = run(capsys, "--db", target, *argv)
    assert code == 2 and out == "" and words in err and "Traceback" not in err


@sqlite_only
def test_demo_and_init_on_a_locked_database_exit_4_and_write_nothing(target, capsys, monkeypatch):
    assert run(capsys, "--db", target, "init")[0] == 0
    before = _counts(target)
    monkeypatch.setenv("KETA_BUSY_TIMEOUT", "0.2")
    holder = sqlite3.connect(target, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        demo = run(capsys, "--db", target, "demo", "--size", "tiny")
        init = run(capsys, "--db", target, "init", "--config", str(EXAMPLE_PATH))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for code, out, err in (demo, init):
        assert code == 4 and "busy" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert _counts(target) == before


@sqlite_only
@pytest.mark.parametrize("content,words", [
    (b"garbage" * 200, "not a keta database"),
    (None, "newer keta"),
])
def test_demo_on_a_corrupt_or_newer_database_exits_4(target, capsys, content, words):
    if content is None:
        assert run(capsys, "--db", target, "init")[0] == 0
        con = sqlite3.connect(target)
        con.execute("insert into schema_migration (name, applied) values ('9999_future', '2030-01-01')")
        con.commit()
        con.close()
    else:
        with open(target, "wb") as fh:
            fh.write(content)
    before = open(target, "rb").read()
    code, out, err = run(capsys, "--db", target, "demo", "--size", "tiny")
    assert code == 4 and words in err and out == ""
    assert open(target, "rb").read() == before
