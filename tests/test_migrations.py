"""Migrations build exactly the models' schema, and upgrade without losing rows."""
import sqlite3

import pytest
from playhouse.schema_diff import diff_models

from keta_tui.db import models
from keta_tui.db.connection import MIGRATIONS_DIR, close_database, open_database, schema_status
from keta_tui.db.errors import DatabaseNotFound, NotAKetaDatabase, SchemaTooNew

from .conftest import PG_URL, reset_postgres


def _fresh_target(tmp_path):
    if PG_URL:
        reset_postgres(PG_URL)
        return PG_URL
    return str(tmp_path / "m.db")


def test_migrated_schema_equals_models(tmp_path):
    database = open_database(_fresh_target(tmp_path), create=True)
    try:
        diff = diff_models(database, models.ALL_MODELS)
        assert not diff, str(diff)
        applied, pending = schema_status(database)
        assert pending == [] and applied == sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))
    finally:
        close_database()


def test_every_migration_has_up_and_down():
    from playhouse.migrations import Migration

    for migration in Migration.load_directory(str(MIGRATIONS_DIR)):
        module = migration.load()
        assert callable(getattr(module, "up", None)), migration.name
        assert callable(getattr(module, "down", None)), migration.name


@pytest.mark.skipif(bool(PG_URL), reason="SQLite file handling")
def test_missing_file_is_not_created_without_create(tmp_path):
    with pytest.raises(DatabaseNotFound):
        open_database(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


@pytest.mark.skipif(bool(PG_URL), reason="SQLite file handling")
def test_garbage_file_is_refused_untouched(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(NotAKetaDatabase):
        open_database(path)
    assert path.read_bytes() == b"this is not sqlite" * 100


@pytest.mark.skipif(bool(PG_URL), reason="SQLite file handling")
def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("create table notes (x)")
    con.commit()
    con.close()
    with pytest.raises(NotAKetaDatabase):
        open_database(path)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite file handling")
def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.db"
    open_database(path, create=True)
    close_database()
    con = sqlite3.connect(path)
    con.execute("insert into schema_migration (name, applied) values ('9999_from_the_future', '2030-01-01')")
    con.commit()
    con.close()
    with pytest.raises(SchemaTooNew):
        open_database(path)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite file handling")
def test_new_file_is_private(tmp_path):
    path = tmp_path / "sub" / "private.db"
    open_database(path, create=True)
    close_database()
    assert (path.stat().st_mode & 0o777) == 0o600
    assert (path.parent.stat().st_mode & 0o777) == 0o700


def _sample_rows(database):
    """Insert one row per core table using only the columns this schema version has."""
    import datetime as dt

    from peewee import AutoField

    from keta_tui.db.models import Chair, Patient, Session, Treatment

    def insert(model, values):
        # Columns this version has, with the models' defaults for the ones not given.
        table = model._meta.table_name
        cols = {c.name for c in database.get_columns(table)}
        row = {}
        for field in model._meta.sorted_fields:
            if field.column_name not in cols or isinstance(field, AutoField):
                continue
            if field.name in values:
                row[field.column_name] = field.db_value(values[field.name])
            elif field.default is not None:
                default = field.default() if callable(field.default) else field.default
                row[field.column_name] = field.db_value(default)
        names = ", ".join(row)
        marks = ", ".join([database.param] * len(row))
        return database.execute_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values())).lastrowid

    with database.bind_ctx([Chair, Patient, Session, Treatment]):
        chair = insert(Chair, {"name": "Chair A"})
        treatment = insert(Treatment, {"code": "t", "name": "T", "route": "iv", "dosing_minutes": 40,
                                       "monitoring_minutes": 45, "turnover_minutes": 15})
        patient = insert(Patient, {"mrn": "M1", "first_name": "Ada", "last_name": "Testperson",
                                   "search_name": "testperson ada", "phone_digits": "6465550143"})
        start = dt.datetime(2026, 1, 5, 15, 0)
        insert(Session, {"patient": patient, "treatment": treatment, "chair": chair, "start_at": start,
                         "end_at": start + dt.timedelta(minutes=85),
                         "busy_until": start + dt.timedelta(minutes=100)})


@pytest.mark.skipif(bool(PG_URL), reason="SQLite file handling")
def test_upgrade_from_every_earlier_version_keeps_rows(tmp_path):
    from peewee import SqliteDatabase
    from playhouse.migrations import Migration, Runner

    names = [m.name for m in Migration.load_directory(str(MIGRATIONS_DIR))]
    for name in names:
        path = tmp_path / f"at-{name}.db"
        database = SqliteDatabase(str(path), pragmas={"foreign_keys": 1})
        Runner(database, directory=str(MIGRATIONS_DIR), table_name="schema_migration").up(target=name)
        _sample_rows(database)
        had_reversed = "phone_reversed" in {c.name for c in database.get_columns("patient")}
        database.close()
        upgraded = open_database(path)
        try:
            assert not diff_models(upgraded, models.ALL_MODELS)
            assert models.Session.select().count() == 1
            patient = models.Patient.get()
            assert patient.last_name == "Testperson" and patient.phone_digits == "6465550143"
            if not had_reversed:
                # 0002 fills the new column from the rows that were there.
                assert patient.phone_reversed == "3410555646"
        finally:
            close_database()


@pytest.mark.skipif(bool(PG_URL), reason="SQLite file handling")
def test_pending_migration_copies_the_file_aside_first(tmp_path, monkeypatch):
    import shutil

    from keta_tui.db import connection

    path = tmp_path / "old.db"
    open_database(path, create=True)
    close_database()
    con = sqlite3.connect(path)
    con.execute("insert into chair (name, routes, position, retired, version, updated_at, updated_by) "
                "values ('Chair A', 'iv', 0, 0, 1, '2026-01-01 00:00:00', 'x')")
    con.commit()
    con.close()
    # A newer keta: the real migrations plus one that adds a column.
    newer = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, newer, ignore=shutil.ignore_patterns("__pycache__"))
    (newer / "9001_add_colour.py").write_text(
        "from peewee import *\n"
        "def up(migrator, db):\n"
        "    migrator.migrate(migrator.add_column('chair', 'colour', CharField(default='')))\n"
        "def down(migrator, db):\n"
        "    migrator.migrate(migrator.drop_column('chair', 'colour'))\n")
    monkeypatch.setattr(connection, "MIGRATIONS_DIR", newer)
    open_database(path)
    close_database()
    copies = list(tmp_path.glob("old.db.before-9001_add_colour-*.bak"))
    assert len(copies) == 1 and (copies[0].stat().st_mode & 0o777) == 0o600
    old = sqlite3.connect(copies[0])
    assert old.execute("select name from chair").fetchall() == [("Chair A",)]
    assert "colour" not in [r[1] for r in old.execute("pragma table_info(chair)")]
    old.close()
    new = sqlite3.connect(path)
    assert new.execute("select name, colour from chair").fetchall() == [("Chair A", "")]
    new.close()
