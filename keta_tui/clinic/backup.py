"""Backing up and restoring a SQLite clinic database.

Backup is SQLite's online backup: a consistent copy while other desks keep writing.
Restore checks a copy of the backup (integrity, a keta schema this code knows)
before anything is replaced, keeps the current database aside (0600), and then
swaps in one step: a healthy database is overwritten through the backup API in one
write transaction (other desks see the old data or the new, never a mix, and keep
their connections); a missing or unreadable one is replaced with an atomic rename.

PostgreSQL has its own tools (``pg_dump`` / ``pg_restore``); keta says so rather
than pretending to copy a server.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import peewee

from keta_tui.db.base import database_proxy
from keta_tui.db.connection import (
    SQLITE_HEADER,
    backup_sqlite,
    busy_timeout_s,
    close_database,
    is_url,
    migrate_database,
    open_database,
    schema_status,
    sqlite_database,
    translate_operational,
)
from keta_tui.db.errors import DatabaseError, DatabaseLocked, DatabaseUnavailable
from keta_tui.db.models import ChangeMarker

from .errors import BadInput
from .store import audit, writing

PG_BACKUP_HINT = ("this database is PostgreSQL: back it up with pg_dump "
                  "(pg_dump -Fc 'URL' > keta.dump) and restore with pg_restore")
# Side files SQLite keeps next to a database in WAL mode.
SIDE_SUFFIXES = ("-wal", "-shm")


@dataclass(frozen=True)
class BackupInfo:
    """What a checked backup file holds (counts only: no patient data)."""

    path: str
    schema: str  # the last migration applied in the copy
    pending: tuple[str, ...]  # migrations this keta will apply to it
    patients: int
    sessions: int
    size_bytes: int


@dataclass(frozen=True)
class RestoreResult:
    target: str
    source: BackupInfo
    kept_aside: str | None  # the database as it was before, or None if there was none


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")


def _private_dir(folder: Path) -> None:
    if not folder.exists():
        try:
            folder.mkdir(parents=True, mode=0o700)
        except OSError as exc:
            raise BadInput(f"cannot create folder {folder}: {exc.strerror}") from None


def _integrity(path: Path) -> str:
    """SQLite's own verdict on a file: "ok" or its first complaint, on one line."""
    connection = sqlite3.connect(str(path), timeout=busy_timeout_s())
    try:
        verdict = connection.execute("PRAGMA integrity_check(1)").fetchone()[0]
    finally:
        connection.close()
    # SQLite's complaint spans lines ("*** in database main ***\nPage 5: ..."): keep one.
    return " ".join(verdict.replace("*** in database main ***", "").split())[:160]


def _inspect(path: Path, shown_as: Path) -> tuple[list[str], list[str], int, int]:
    """(applied, pending migrations, patients, sessions) of a file restore would accept.

    Raises :class:`BadInput` naming ``shown_as`` for a damaged or foreign file, or a
    schema newer than this keta.
    """
    try:
        verdict = _integrity(path)
    except sqlite3.Error as exc:
        raise _not_restorable(shown_as, str(exc)) from None
    if verdict != "ok":
        raise _not_restorable(shown_as, f"damaged ({verdict})")
    database = sqlite_database(path)
    try:
        applied, pending = schema_status(database, str(shown_as))
        if not applied:
            raise _not_restorable(shown_as, "not a keta backup (no keta schema)")
        patients = database.execute_sql("SELECT count(*) FROM patient").fetchone()[0]
        sessions = database.execute_sql("SELECT count(*) FROM session").fetchone()[0]
    except DatabaseUnavailable as exc:
        raise _not_restorable(shown_as, str(exc)) from None
    except peewee.DatabaseError as exc:
        raise _not_restorable(shown_as, str(exc).splitlines()[0]) from None
    finally:
        database.close()
    return applied, pending, patients, sessions


def backup_database(dest: str | os.PathLike, *, force: bool = False) -> BackupInfo:
    """A consistent copy of the open SQLite database at ``dest`` (0600), checked after."""
    database = database_proxy.obj
    if database is None:
        raise DatabaseUnavailable("no database is open")
    if not isinstance(database, peewee.SqliteDatabase):
        raise BadInput(PG_BACKUP_HINT)
    dest = Path(dest).expanduser()
    source = Path(database.database)
    if dest.is_dir():
        raise BadInput(f"{dest} is a folder; give a file name for the backup")
    if dest.exists():
        if dest.resolve() == source.resolve():
            raise BadInput(f"{dest} is the database itself; choose another file for the backup")
        if not force:
            raise BadInput(f"{dest} already exists; choose a new file name or pass --force")
    _private_dir(dest.parent)
    try:
        backup_sqlite(database, dest)
    except peewee.OperationalError as exc:
        raise translate_operational(exc, str(dest)) from None
    except sqlite3.Error as exc:
        raise _backup_failed(dest, exc) from None
    except OSError as exc:
        raise BadInput(f"cannot write backup {dest}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            dest.with_name(dest.name + ".partial").unlink()
    return check_backup(dest)


def _backup_failed(dest: Path, exc: Exception) -> DatabaseError:
    text = str(exc)
    if "full" in text:
        return DatabaseUnavailable(f"cannot write backup {dest}: the disk is full; no backup was made")
    return DatabaseUnavailable(f"cannot write backup {dest}: {text}")


def check_backup(path: str | os.PathLike) -> BackupInfo:
    """Check a backup file in place: refuses what restore would refuse."""
    path = Path(path).expanduser()
    _check_header(path)
    applied, pending, patients, sessions = _inspect(path, path)
    return BackupInfo(str(path), applied[-1], tuple(pending), patients, sessions, path.stat().st_size)


def _not_restorable(path: Path, why: str) -> BadInput:
    return BadInput(f"cannot restore from {path}: {why}; nothing was replaced")


def _check_header(path: Path) -> None:
    if path.is_dir():
        raise BadInput(f"{path} is a folder, not a backup file")
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        raise BadInput(f"no backup file at {path}") from None
    except OSError as exc:
        raise BadInput(f"cannot read backup {path}: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        raise _not_restorable(path, "not a keta backup (not a SQLite file)")


def restore_database(source: str | os.PathLike, target: str | os.PathLike, *, actor: str,
                     now: dt.datetime) -> RestoreResult:
    """Replace the SQLite database at ``target`` with the backup at ``source``.

    The backup is copied next to the target and checked there first; any problem
    raises :class:`BadInput` with nothing replaced. The previous database is kept
    as ``<target>.before-restore-<UTC stamp>.bak`` (0600). The restore is recorded
    in the restored database's audit trail.
    """
    if is_url(str(target)):
        raise BadInput(PG_BACKUP_HINT)
    source, target = Path(source).expanduser(), Path(target).expanduser()
    _check_header(source)
    if target.exists() and source.resolve() == target.resolve():
        raise BadInput(f"{source} is the database itself; give a backup file to restore from")
    if target.is_dir():
        raise BadInput(f"{target} is a folder, not a database file")
    _private_dir(target.parent)
    staging = target.with_name(f".{target.name}.restore-{os.getpid()}.partial")
    try:
        info = _stage(source, staging)
        aside = target.with_name(f"{target.name}.before-restore-{_stamp(now)}.bak")
        if _is_healthy_sqlite(target):
            kept = _restore_in_place(staging, target, aside)
        else:
            kept = _restore_by_rename(staging, target, aside)
        _record_restore(target, info, kept, actor=actor, now=now)
        return RestoreResult(str(target), info, str(kept) if kept else None)
    finally:
        for path in (staging, *(staging.with_name(staging.name + s) for s in SIDE_SUFFIXES)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _stage(source: Path, staging: Path) -> BackupInfo:
    """Copy the backup beside the target (0600), check it, bring its schema up to date."""
    for path in (staging, *(staging.with_name(staging.name + s) for s in SIDE_SUFFIXES)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    try:
        fd = os.open(staging, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise BadInput(f"cannot restore from {source}: copying it failed ({exc.strerror}); "
                       "nothing was replaced") from None
    applied, pending, patients, sessions = _inspect(staging, source)
    database = sqlite_database(staging)
    try:
        # An older backup is upgraded here, so the live file never holds an old schema.
        migrate_database(database, "")
    except peewee.DatabaseError as exc:
        raise _not_restorable(source, f"upgrading it failed ({exc})") from None
    finally:
        database.close()
    return BackupInfo(str(source), applied[-1], tuple(pending), patients, sessions,
                      source.stat().st_size)


def _is_healthy_sqlite(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                return False
        return _integrity(path) == "ok"
    except (OSError, sqlite3.Error):
        return False


def _restore_in_place(staging: Path, target: Path, aside: Path) -> Path:
    """Overwrite a live database in one write transaction, copying it aside first.

    The backup API holds the target's write lock from its first step to the end, so
    the aside copy taken after that first step is exactly what is being replaced. An
    exception raised from the step callback aborts the copy and rolls the target back.
    """
    timeout = busy_timeout_s()
    started = time.monotonic()
    kept: list[Path] = []

    def after_step(status: int, remaining: int, total: int) -> None:
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            # Python retries a busy step forever; keta gives up after its busy timeout.
            if time.monotonic() - started > timeout:
                raise DatabaseLocked(f"database {target} is busy: another desk held it past "
                                     f"{timeout:g} s; nothing was replaced, try again")
            return
        if kept:
            return
        if status != sqlite3.SQLITE_OK:
            raise DatabaseUnavailable(f"cannot restore into {target}: the backup is too small "
                                      "to be a keta database; nothing was replaced")
        reader = sqlite_database(target)
        try:
            backup_sqlite(reader, aside)
        finally:
            reader.close()
        kept.append(aside)

    source = sqlite3.connect(str(staging))
    destination = sqlite3.connect(str(target), timeout=timeout)
    try:
        # One page in the first step, so the lock is held before the copy aside.
        source.backup(destination, pages=1, progress=after_step, sleep=0.05)
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"cannot restore into {target}: {exc}; nothing was replaced") from None
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot keep the current database aside at {aside}: "
                                  f"{exc.strerror}; nothing was replaced") from None
    finally:
        source.close()
        destination.close()
    return aside


def _restore_by_rename(staging: Path, target: Path, aside: Path) -> Path | None:
    """Replace a missing or unreadable database file with the checked copy (atomic rename)."""
    kept = None
    try:
        if target.exists():
            os.replace(target, aside)
            os.chmod(aside, 0o600)
            kept = aside
        # Stale WAL/SHM beside the old file would be replayed onto the new one.
        for suffix in SIDE_SUFFIXES:
            side = target.with_name(target.name + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
        os.replace(staging, target)
        os.chmod(target, 0o600)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot restore into {target}: {exc.strerror}") from None
    return kept


def _record_restore(target: Path, info: BackupInfo, kept: Path | None, *, actor: str,
                    now: dt.datetime) -> None:
    """Audit the restore in the restored database and move its change marker past the old one.

    Open boards compare the marker with what they last saw; the restored file's marker
    is older, so it is set beyond both. Leaves the restored database open and bound.
    """
    previous = 0
    if kept is not None and _is_healthy_sqlite(kept):
        connection = sqlite3.connect(str(kept))
        try:
            row = connection.execute("SELECT counter FROM change_marker WHERE id = 1").fetchone()
            previous = row[0] if row else 0
        except sqlite3.Error:
            previous = 0
        finally:
            connection.close()
    close_database()
    open_database(target)
    with writing():
        counter = ChangeMarker.get_by_id(1).counter
        ChangeMarker.update(counter=max(counter, previous) + 1).where(ChangeMarker.id == 1).execute()
        audit(actor, "database.restore", "database", None,
              after={"from": Path(info.path).name, "kept_aside": kept.name if kept else None,
                     "schema": info.schema, "patients": info.patients, "sessions": info.sessions},
              at=now.astimezone(dt.timezone.utc).replace(tzinfo=None, microsecond=0))
