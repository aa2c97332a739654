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
