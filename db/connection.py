"""Opening keta's database from a path or URL, migrating it, and write transactions.

``open_database`` is the one factory: it builds a SQLite or PostgreSQL database,
binds :data:`database_proxy` to it, and brings the schema up to date (copying a
SQLite file aside first). Nothing happens at import time.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sqlite3
from pathlib import Path

import peewee
from peewee import PostgresqlDatabase, SqliteDatabase
from playhouse.migrations import Runner

from .base import database_proxy
from .errors import (
    DatabaseLocked,
    DatabaseNotFound,
    DatabaseUnavailable,
    NotAKetaDatabase,
    SchemaTooNew,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_HEADER = b"SQLite format 3\x00"
DEFAULT_BUSY_TIMEOUT_S = 5.0
MIGRATION_TABLE = "schema_migration"
# Any constant works; it only has to be the same for every keta process.
PG_WRITE_LOCK_KEY = 0x6B657461


def busy_timeout_s() -> float:
    """Seconds a writer waits for the lock before keta reports the database busy."""
    try:
        return max(0.0, float(os.environ.get("KETA_BUSY_TIMEOUT", DEFAULT_BUSY_TIMEOUT_S)))
    except ValueError:
        return DEFAULT_BUSY_TIMEOUT_S


def is_url(target: str) -> bool:
    return "://" in str(target)


def is_postgres(database: peewee.Database | None = None) -> bool:
    database = database or database_proxy.obj
    # A DatabaseProxy (what models hold) answers for the database it stands for.
    database = getattr(database, "obj", database)
    return isinstance(database, PostgresqlDatabase)


def describe(target: str | os.PathLike) -> str:
    """The database's location for messages, with any password removed."""
    text = str(target)
    if is_url(text) and "@" in text:
        scheme, rest = text.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return text


def _make_private_dir(folder: Path) -> None:
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        os.chmod(folder, 0o700)


def _create_private_file(path: Path) -> None:
    # Created 0600 before SQLite touches it; SQLite gives -wal/-shm the same mode.
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def _check_sqlite_file(path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            header = fh.read(16)
    except PermissionError:
        raise DatabaseUnavailable(f"cannot read database {path}: permission denied") from None
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot read database {path}: {exc.strerror}") from None
    if header and header != SQLITE_HEADER:
        raise NotAKetaDatabase(f"{path} is not a keta database (not a SQLite file)")


def sqlite_database(path: Path) -> SqliteDatabase:
    timeout = busy_timeout_s()
    return SqliteDatabase(
        str(path),
        timeout=timeout,
        pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": int(timeout * 1000),
            "synchronous": 1,  # NORMAL: safe with WAL, no fsync per commit
        },
    )


def postgres_database(url: str) -> PostgresqlDatabase:
    from playhouse.db_url import connect

    try:
        database = connect(url)
    except Exception as exc:  # bad URL or missing driver
        raise DatabaseUnavailable(f"cannot use {describe(url)}: {exc}") from None
    if not isinstance(database, PostgresqlDatabase):
        raise DatabaseUnavailable(f"unsupported database URL {describe(url)}")
    return database


def open_database(
    target: str | os.PathLike,
    *,
    create: bool = False,
    migrate: bool = True,
) -> peewee.Database:
    """Open (and with ``create`` make) the database at a path or URL, migrate, bind.

    Raises a :class:`DatabaseUnavailable` subclass with a one-line message.
    """
    text = str(target)
    if is_url(text):
        if not text.startswith(("postgres://", "postgresql://", "postgresql+pool://", "postgres+pool://")):
            raise DatabaseUnavailable(f"unsupported database URL {describe(text)}")
        database = postgres_database(text)
    else:
        path = Path(text).expanduser()
        if path.is_dir():
            raise DatabaseUnavailable(f"{path} is a folder, not a database file")
        if not path.exists():
            if not create:
                raise DatabaseNotFound(
                    f"no database at {path} (create one with 'keta init' or 'keta demo')"
                )
            try:
                _make_private_dir(path.parent)
                _create_private_file(path)
            except FileNotFoundError:
                raise DatabaseUnavailable(f"cannot create database {path}: folder missing") from None
            except PermissionError:
                raise DatabaseUnavailable(f"cannot create database {path}: permission denied") from None
            except FileExistsError:
                pass  # another process created it a moment ago
            except OSError as exc:
                raise DatabaseUnavailable(f"cannot create database {path}: {exc.strerror}") from None
        _check_sqlite_file(path)
        database = sqlite_database(path)

    try:
        database.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot open database {describe(text)}: {exc}") from None
    except peewee.DatabaseError as exc:
        raise NotAKetaDatabase(f"cannot open database {describe(text)}: {exc}") from None
    database_proxy.initialize(database)
    try:
        if migrate:
            migrate_database(database, text)
        else:
            check_schema(database, text)
    except DatabaseUnavailable:
        close_database()
        raise
    except peewee.OperationalError as exc:
        close_database()
        raise translate_operational(exc, text) from None
    except peewee.DatabaseError as exc:
        close_database()
        raise NotAKetaDatabase(f"{describe(text)} is damaged or not a keta database: {exc}") from None
    return database


def close_database() -> None:
    database = database_proxy.obj
    if database is not None and not database.is_closed():
        database.close()


def is_lock_error(exc: Exception) -> bool:
    """SQLite's "database is locked/busy" or PostgreSQL's lock_timeout."""
    text = str(exc)
    return "locked" in text or "busy" in text or "lock timeout" in text


def translate_operational(exc: Exception, where: str = "") -> DatabaseUnavailable:
    """Map a driver error to keta's one-line storage error."""
    text = str(exc)
    place = f" {describe(where)}" if where else ""
    if is_lock_error(exc):
        return DatabaseLocked(f"database{place} is busy: another desk held it past {busy_timeout_s():g} s; try again")
    if "readonly" in text or "read-only" in text:
        return DatabaseUnavailable(f"database{place} is read-only: {text}")
    if "disk" in text and "full" in text:
        return DatabaseUnavailable(f"database{place}: the disk is full; nothing was saved")
    if "malformed" in text or "not a database" in text:
        return NotAKetaDatabase(f"database{place} is damaged: {text}")
    return DatabaseUnavailable(f"database{place} unavailable: {text}")


def _runner(database: peewee.Database) -> Runner:
    return Runner(database, directory=str(MIGRATIONS_DIR), table_name=MIGRATION_TABLE)


def _known_tables(database: peewee.Database) -> set[str]:
    return set(database.get_tables())


def schema_status(database: peewee.Database, where: str = "") -> tuple[list[str], list[str]]:
    """(applied names, pending names); raises if the schema is foreign or newer."""
    runner = _runner(database)
    tables = _known_tables(database)
    if MIGRATION_TABLE not in tables:
        if tables:
            raise NotAKetaDatabase(f"{describe(where) or 'database'} is not a keta database")
        return [], [m.name for m in runner.migrations()]
    status = runner.status()
    unknown = [m.name for m in status if m.applied and m.path is None]
    if unknown:
        raise SchemaTooNew(
            f"{describe(where) or 'database'} was upgraded by a newer keta "
            f"(schema {unknown[-1]}); install the newer keta to use it"
        )
    applied = [m.name for m in status if m.applied]
    pending = [m.name for m in status if not m.applied]
    return applied, pending


def check_schema(database: peewee.Database, where: str = "") -> None:
    applied, pending = schema_status(database, where)
    if pending:
        raise DatabaseUnavailable(
            f"{describe(where) or 'database'} needs upgrading ({pending[0]}); run 'keta init'"
        )


def migrate_database(database: peewee.Database, where: str = "") -> list[str]:
    """Apply pending migrations; a SQLite file with data is copied aside first."""
    applied, pending = schema_status(database, where)
    if not pending:
        return []
    if applied and isinstance(database, SqliteDatabase) and where:
        backup_sqlite(database, _pre_migration_path(Path(where), pending[0]))
    with write_lock(database):
        # Re-check under the lock: another process may have migrated meanwhile.
        applied, pending = schema_status(database, where)
        if not pending:
            return []
        return _runner(database).up()


def _pre_migration_path(path: Path, migration: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d%H%M%S")
    return path.with_name(f"{path.name}.before-{migration}-{stamp}.bak")


def backup_sqlite(database: SqliteDatabase, dest: Path) -> Path:
    """A consistent copy through SQLite's online backup, created 0600."""
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    _create_private_file(tmp)
    target = sqlite3.connect(str(tmp))
    try:
        database.connection().backup(target)
    finally:
        target.close()
    os.replace(tmp, dest)
    os.chmod(dest, 0o600)
    return dest


@contextlib.contextmanager
def write_lock(database: peewee.Database | None = None):
    """One transaction that holds the database's write lock from its first statement.

    SQLite: ``BEGIN IMMEDIATE`` (waits up to the busy timeout). PostgreSQL: a
    transaction-scoped advisory lock, so writers are serialised like on SQLite.
    Nested use becomes a savepoint inside the outer transaction.
    A lock not obtained in time raises :class:`DatabaseLocked`.
    """
    database = database or database_proxy.obj
    if database is None:
        raise DatabaseUnavailable("no database is open")
    nested = database.in_transaction()
    try:
        if isinstance(database, SqliteDatabase) and not nested:
            ctx = database.atomic("IMMEDIATE")
        else:
            ctx = database.atomic()
        with ctx as txn:
            if isinstance(database, PostgresqlDatabase) and not nested:
                # Without a lock_timeout PostgreSQL waits for the lock forever.
                database.execute_sql(f"SET LOCAL lock_timeout = '{max(1, int(busy_timeout_s() * 1000))}ms'")
                database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (PG_WRITE_LOCK_KEY,))
            yield txn
    except peewee.OperationalError as exc:
        exc = _unmasked(exc)
        if is_lock_error(exc):
            raise DatabaseLocked(
                f"the database is busy: another desk held it past {busy_timeout_s():g} s; try again"
            ) from None
        raise exc from None


def _unmasked(exc: BaseException) -> BaseException:
    """The error that failed a transaction, not the failed rollback after it.

    SQLite rolls back by itself on SQLITE_FULL (and some I/O errors); peewee's own
    rollback then fails with "no transaction is active", hiding "disk is full".
    """
    while "no transaction is active" in str(exc) and exc.__context__ is not None:
        exc = exc.__context__
    return exc

