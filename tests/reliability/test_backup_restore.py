"""`keta backup` / `keta restore`: consistent copies under concurrent writes, and a restore
that checks the copy before it replaces anything and keeps the old database aside."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from keta_tui.db.connection import close_database

from ..conftest import PG_URL
from .helpers import (
    NEWER_SCHEMA,
    assert_one_line_error,
    execute,
    finish_worker,
    integrity,
    mode,
    query,
    read_log,
    run_keta,
    start_worker,
    wait_for_log,
)

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite file backup; PostgreSQL uses pg_dump")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _keys(path: Path, prefix: str) -> list[int]:
    rows = query(path, "SELECT key FROM setting WHERE key LIKE ? ORDER BY key", (f"{prefix}-%",))
    return [int(key.split("-")[1]) for (key,) in rows]


def _audited(path: Path) -> list[int]:
    rows = query(path, "SELECT entity_id FROM audit_entry WHERE action = 'test.write' ORDER BY entity_id")
    return [entity_id for (entity_id,) in rows]


def _committed(log: Path) -> list[int]:
    return [int(e["key"].split("-")[1]) for e in read_log(log) if e["ok"]]


def _backed_up(keta, clinic_db, backup: Path) -> Path:
    """A fresh `keta backup` of the test clinic (the test's own connection closed first)."""
    close_database()
    assert keta("backup", str(backup), db=clinic_db.target).code == 0
    return backup


def _write_keys(db: str, prefix: str, count: int, tmp_path: Path) -> None:
    worker = start_worker("settings", db, tmp_path / f"{prefix}.jsonl", "--prefix", prefix, "--seconds", "30",
                          "--stop-file", str(tmp_path / f"{prefix}.never"))
    wait_for_log(tmp_path / f"{prefix}.jsonl", count)
    worker.terminate()
    worker.communicate(timeout=30)


@sqlite_only
def test_backup_while_another_process_writes_holds_a_prefix_of_the_writes(clinic_db, tmp_path, keta):
    close_database()
    log, stop = tmp_path / "writer.jsonl", tmp_path / "stop"
    writer = start_worker("settings", clinic_db.target, log, "--prefix", "w", "--seconds", "60",
                          "--stop-file", str(stop))
    try:
        wait_for_log(log, 20)
        copies = []
        for number in range(3):
            copy = tmp_path / "backups" / f"copy-{number}.db"
            run = keta("backup", str(copy), db=clinic_db.target)
            assert run.code == 0, run.stderr
            assert "integrity ok" in run.stdout
            copies.append(copy)
    finally:
        stop.touch()
    finish_worker(writer)
    committed = _committed(log)
    assert committed == list(range(len(committed)))
    for copy in copies:
        assert integrity(copy) == "ok"
        assert mode(copy) == 0o600
        held = _keys(copy, "w")
        # A prefix of the committed writes, each with its audit entry: never a torn copy.
        assert held == list(range(len(held)))
        assert _audited(copy) == held
    assert mode(tmp_path / "backups") == 0o700
    # The writer kept going during and after the backups: they were taken under load.
    assert 20 <= len(_keys(copies[0], "w")) < len(committed)


@sqlite_only
def test_restore_under_concurrent_writes_loses_nothing_committed(clinic_db, tmp_path, keta):
    backup = _backed_up(keta, clinic_db, tmp_path / "before.db")
    log, stop = tmp_path / "writer.jsonl", tmp_path / "stop"
    writer = start_worker("settings", clinic_db.target, log, "--prefix", "r", "--seconds", "60",
                          "--stop-file", str(stop), "--pause", "0.002")
    try:
        wait_for_log(log, 30)
        run = run_keta("restore", str(backup), db=clinic_db.target)
        assert run.code == 0, run.stderr
        wait_for_log(log, len(read_log(log)) + 20)
    finally:
        stop.touch()
    finish_worker(writer)
    aside = sorted(tmp_path.glob("clinic.db.before-restore-*.bak"))
    assert len(aside) == 1 and mode(aside[0]) == 0o600
    assert integrity(clinic_db.target) == "ok" and integrity(aside[0]) == "ok"
    before_restore, after_restore = _keys(aside[0], "r"), _keys(Path(clinic_db.target), "r")
    # Every committed write is either in the copy kept aside (it came before the
    # restore) or in the restored database (it came after): the two split the sequence.
    assert before_restore == list(range(len(before_restore)))
    assert after_restore == list(range(len(before_restore), len(before_restore) + len(after_restore)))
    assert before_restore + after_restore == _committed(log)
    assert after_restore, "the writer went on writing into the restored database"
    actions = query(clinic_db.target, "SELECT action, actor FROM audit_entry WHERE action = 'database.restore'")
    assert actions == [("database.restore", "test-desk")]


@sqlite_only
def test_restore_round_trip_keeps_the_replaced_database_aside(clinic_db, tmp_path, keta):
    close_database()
    _write_keys(clinic_db.target, "a", 5, tmp_path)
    backup = tmp_path / "saved" / "keta-backup.db"
    assert keta("backup", str(backup), db=clinic_db.target).code == 0
    _write_keys(clinic_db.target, "b", 3, tmp_path)
    marker_before = query(clinic_db.target, "SELECT counter FROM change_marker")[0][0]

    check = keta("restore", "--check", str(backup), db=clinic_db.target)
    assert check.code == 0 and "can be restored" in check.stdout
    run = keta("restore", str(backup), db=clinic_db.target)
    assert run.code == 0, run.stderr
    assert "kept at" in run.stdout

    target = Path(clinic_db.target)
    assert _keys(target, "a") == list(range(len(_keys(target, "a")))) and _keys(target, "b") == []
    aside = next(tmp_path.glob("clinic.db.before-restore-*.bak"))
    assert len(_keys(aside, "b")) >= 3
    assert mode(target) == 0o600 and mode(aside) == 0o600
    # Open boards compare the marker with what they saw: it must move past the old one.
    assert query(clinic_db.target, "SELECT counter FROM change_marker")[0][0] > marker_before
    assert not list(tmp_path.glob(".clinic.db.restore-*"))


def _refused_restore(keta, clinic_db, tmp_path, backup: Path, expect: str):
    close_database()
    target = Path(clinic_db.target)
    before = _digest(target)
    run = keta("restore", str(backup), db=clinic_db.target)
    line = assert_one_line_error(run, 2)
    assert expect in line and "nothing was replaced" in line
    assert _digest(target) == before
    assert not list(tmp_path.glob("clinic.db.before-restore-*"))
    assert not list(tmp_path.glob(".clinic.db.restore-*"))
    return line


@sqlite_only
def test_restore_refuses_garbage(clinic_db, tmp_path, keta):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00garbage, not a database\n" * 500)
    _refused_restore(keta, clinic_db, tmp_path, junk, "not a keta backup")


@sqlite_only
def test_restore_refuses_a_newer_schema(clinic_db, tmp_path, keta):
    backup = _backed_up(keta, clinic_db, tmp_path / "future.db")
    execute(backup, NEWER_SCHEMA)
    _refused_restore(keta, clinic_db, tmp_path, backup, "newer keta")


@sqlite_only
def test_restore_refuses_a_damaged_copy(clinic_db, tmp_path, keta):
    backup = _backed_up(keta, clinic_db, tmp_path / "damaged.db")
    data = bytearray(backup.read_bytes())
    # Scribble over the middle of the file (table b-tree pages), keeping the header.
    for offset in range(len(data) // 3, len(data) // 3 + 20000, 7):
        data[offset] = 0xA5
    backup.write_bytes(bytes(data))
    _refused_restore(keta, clinic_db, tmp_path, backup, "cannot restore")


@sqlite_only
def test_restore_refuses_a_foreign_sqlite_file(clinic_db, tmp_path, keta):
    other = tmp_path / "other.db"
    execute(other, "CREATE TABLE notes (body TEXT)")
    _refused_restore(keta, clinic_db, tmp_path, other, "not a keta database")


@sqlite_only
def test_restore_replaces_a_garbage_database_and_keeps_it_aside(clinic_db, tmp_path, keta):
    backup = _backed_up(keta, clinic_db, tmp_path / "good.db")
    target = Path(clinic_db.target)
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    target.write_bytes(b"overwritten by accident" * 100)
    assert keta("backup", str(tmp_path / "x.db"), db=clinic_db.target).code == 4
    run = keta("restore", str(backup), db=clinic_db.target)
    assert run.code == 0, run.stderr
    assert integrity(target) == "ok"
    aside = next(tmp_path.glob("clinic.db.before-restore-*.bak"))
    assert aside.read_bytes() == b"overwritten by accident" * 100 and mode(aside) == 0o600


@sqlite_only
def test_restore_into_a_missing_database_creates_it_private(clinic_db, tmp_path, keta):
    backup = _backed_up(keta, clinic_db, tmp_path / "good.db")
    target = tmp_path / "new-home" / "keta.db"
    run = keta("restore", str(backup), db=str(target))
    assert run.code == 0, run.stderr
    assert integrity(target) == "ok" and mode(target) == 0o600 and mode(target.parent) == 0o700
    assert keta("backup", str(tmp_path / "again.db"), db=str(target)).code == 0


@sqlite_only
@pytest.mark.parametrize("case", ["exists", "itself", "folder"])
def test_backup_refuses_to_overwrite(clinic_db, tmp_path, case, keta):
    close_database()
    dest = {"exists": tmp_path / "taken.db", "itself": Path(clinic_db.target), "folder": tmp_path}[case]
    if case == "exists":
        dest.write_bytes(b"keep me")
    before = _digest(dest) if dest.is_file() else None
    line = assert_one_line_error(keta("backup", str(dest), db=clinic_db.target), 2)
    assert str(dest) in line
    if before:
        assert _digest(dest) == before


@sqlite_only
def test_restore_with_a_missing_backup_file_says_so(clinic_db, tmp_path, keta):
    close_database()
    line = assert_one_line_error(keta("restore", str(tmp_path / "nope.db"), db=clinic_db.target), 2)
    assert "no backup file" in line


def test_postgres_points_at_pg_dump(tmp_path, keta):
    url = PG_URL or "postgresql://keta@127.0.0.1:1/keta"
    for args in (("backup", str(tmp_path / "b.db")), ("restore", str(tmp_path / "b.db"))):
        if args[0] == "restore":
            (tmp_path / "b.db").write_bytes(b"SQLite format 3\x00")
        line = assert_one_line_error(keta(*args, db=url), 2)
        assert "pg_dump" in line
    assert not (tmp_path / "b.db").stat().st_size > 16
