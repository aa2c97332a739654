"""Storage faults through the real CLI: each gives one clear line and exit 4, loses nothing
committed, and never leaves a half-written row."""
from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keta_tui.clinic.patients import add_patient
from keta_tui.db.connection import close_database

from ..conftest import FROZEN_NOW, PG_URL, make_clinic_db
from .helpers import (
    NEWER_SCHEMA,
    SECRET_NAME,
    assert_one_line_error,
    execute,
    integrity,
    keta_env,
    query,
    run_keta,
)

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite file faults")
ADD = ("patient", "add", "--first", "Faulty", "--last", "Write", "--phone", "555-010-0000")


def _clinic_file(folder: Path) -> str:
    """A closed (checkpointed) SQLite clinic with one patient, in ``folder``."""
    db = make_clinic_db(folder)
    add_patient(first_name=SECRET_NAME[0], last_name=SECRET_NAME[1], actor="test-desk", now=FROZEN_NOW)
    close_database()
    return db.target


def _patients(path: str) -> list[tuple[str, str]]:
    return query(path, "SELECT first_name, last_name FROM patient ORDER BY id")


def _assert_nothing_lost(path: str, *, expected: list[tuple[str, str]]) -> None:
    assert integrity(path) == "ok"
    assert _patients(path) == expected
    # No half-written patient: every row has its audit entry, and no audit entry lacks its row.
    audited = {row[0] for row in query(path, "SELECT entity_id FROM audit_entry WHERE action = 'patient.add'")}
    assert audited == {row[0] for row in query(path, "SELECT id FROM patient")}


@contextlib.contextmanager
def small_filesystem(folder: Path, size: str):
    """A tmpfs of ``size`` mounted at ``folder`` (root only; skipped where mounting is not allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True, capture_output=True)


@sqlite_only
def test_read_only_database(tmp_path, keta):
    with small_filesystem(tmp_path / "ro", "8m") as folder:
        target = _clinic_file(folder)
        _remount(folder, "ro")
        line = assert_one_line_error(run_keta(*ADD, db=target), 4)
        assert "read-only" in line or "readonly" in line or "cannot" in line
        found = keta("patient", "find", "zyx", db=target)
        if found.code != 0:  # reading may need the WAL index, which a read-only folder cannot hold
            assert_one_line_error(found, 4)
        _remount(folder, "rw")
        _assert_nothing_lost(target, expected=[SECRET_NAME])


@sqlite_only
def test_read_only_file_for_a_non_root_user(tmp_path, keta):
    if os.geteuid() == 0:
        pytest.skip("root ignores file modes; the read-only filesystem test covers root")
    target = _clinic_file(tmp_path)
    os.chmod(target, 0o400)
    assert_one_line_error(keta(*ADD, db=target), 4)
    os.chmod(target, 0o600)
    _assert_nothing_lost(target, expected=[SECRET_NAME])


@sqlite_only
def test_missing_folder(tmp_path, keta):
    target = tmp_path / "gone" / "keta.db"
    line = assert_one_line_error(keta("patient", "find", "a", db=str(target)), 4)
    assert "no database" in line
    assert_one_line_error(keta(*ADD, db=str(target)), 4)
    assert not target.parent.exists()


@sqlite_only
@pytest.mark.parametrize("damage", ["garbage", "scribbled", "truncated"])
def test_file_replaced_or_damaged(tmp_path, damage, keta):
    target = Path(_clinic_file(tmp_path))
    data = bytearray(target.read_bytes())
    if damage == "garbage":
        data = bytearray(b"this was overwritten by something else\n" * 200)
    elif damage == "scribbled":
        for offset in range(4096, len(data), 3):
            data[offset] = 0x5A
    else:
        data = data[: len(data) // 3]
    target.write_bytes(bytes(data))
    for args in (ADD, ("patient", "find", "zyx"), ("backup", str(tmp_path / "copy.db"))):
        assert_one_line_error(keta(*args, db=str(target)), 4)
    assert target.read_bytes() == bytes(data), "keta must not touch a damaged file"


@sqlite_only
def test_newer_schema(tmp_path, keta):
    target = _clinic_file(tmp_path)
    execute(target, NEWER_SCHEMA)
    line = assert_one_line_error(keta(*ADD, db=target), 4)
    assert "newer keta" in line
    _assert_nothing_lost(target, expected=[SECRET_NAME])


def _side_files(target: str) -> list[Path]:
    return [Path(target + suffix) for suffix in ("-wal", "-shm")]


@sqlite_only
def test_wal_and_shm_removed_after_a_clean_close(tmp_path, keta):
    target = _clinic_file(tmp_path)
    for number in range(3):
        assert keta("patient", "add", "--first", "Clean", "--last", f"Close{number}", db=target).code == 0
    for side in _side_files(target):
        side.unlink(missing_ok=True)
    _assert_nothing_lost(target, expected=[SECRET_NAME] + [("Clean", f"Close{n}") for n in range(3)])
    assert keta("patient", "find", "close", db=target).stdout.count("Close") == 3


WAL_ONLY_WRITER = """
import os, sys, datetime as dt
from keta_tui.db.connection import open_database
from keta_tui.clinic.patients import add_patient
open_database(sys.argv[1])
now = dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.timezone.utc)
for number in range(5):
    add_patient(first_name="Walonly", last_name=f"Row{number}", actor="crash", now=now)
print("committed", flush=True)
os.kill(os.getpid(), 9)  # die without closing: the commits live only in the WAL
"""


@sqlite_only
def test_wal_and_shm_removed_after_a_crash(tmp_path, keta):
    target = _clinic_file(tmp_path)
    done = subprocess.run([sys.executable, "-c", WAL_ONLY_WRITER, target], capture_output=True, text=True,
                          env=keta_env(), timeout=60)
    assert done.returncode == -signal.SIGKILL and "committed" in done.stdout
    assert Path(target + "-wal").stat().st_size > 0
    for side in _side_files(target):
        side.unlink()
    # Commits that lived only in the deleted WAL are gone with it (SQLite cannot know
    # them); everything checkpointed before is intact and no row is half there.
    _assert_nothing_lost(target, expected=[SECRET_NAME])
    assert keta(*ADD, db=target).code == 0


@sqlite_only
def test_disk_full(tmp_path, keta):
    with small_filesystem(tmp_path / "full", "512k") as folder:
        target = _clinic_file(folder)
        note = "n" * 9_500
        added, failure = [], None
        for number in range(120):
            run = keta("patient", "add", "--first", "Full", "--last", f"Disk{number}", "--notes", note, db=target)
            if run.code != 0:
                failure = run
                break
            added.append(("Full", f"Disk{number}"))
        assert failure is not None, "the small filesystem never filled up"
        line = assert_one_line_error(failure, 4)
        assert "full" in line
        # The same in a real process, as a desk meets it.
        assert "full" in assert_one_line_error(run_keta(*ADD, db=target), 4)
        assert added, "some writes should fit before the disk is full"
        _remount(folder, "size=8m")
        _assert_nothing_lost(target, expected=[SECRET_NAME] + added)
        assert keta(*ADD, db=target).code == 0


@sqlite_only
def test_locked_past_the_busy_timeout(tmp_path, keta):
    target = _clinic_file(tmp_path)
    holder = sqlite3.connect(target, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        line = assert_one_line_error(run_keta(*ADD, db=target, KETA_BUSY_TIMEOUT="0.2"), 4)
        assert "busy" in line and "try again" in line
        assert time.monotonic() - started < 20
        # Readers are not blocked by a writer in WAL mode.
        assert keta("patient", "find", "zyx", db=target, KETA_BUSY_TIMEOUT="0.2").code == 0
    finally:
        holder.rollback()
        holder.close()
    _assert_nothing_lost(target, expected=[SECRET_NAME])


@pytest.mark.skipif(not PG_URL, reason="needs the PostgreSQL server")
def test_postgres_locked_past_the_busy_timeout(clinic_db):
    import psycopg

    from keta_tui.db.connection import PG_WRITE_LOCK_KEY

    add_patient(first_name=SECRET_NAME[0], last_name=SECRET_NAME[1], actor="test-desk", now=FROZEN_NOW)
    close_database()
    with psycopg.connect(PG_URL) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (PG_WRITE_LOCK_KEY,))
        started = time.monotonic()
        line = assert_one_line_error(run_keta(*ADD, db=PG_URL, KETA_BUSY_TIMEOUT="0.2", timeout=30), 4)
        assert "busy" in line
        assert time.monotonic() - started < 20
        holder.rollback()
    with psycopg.connect(PG_URL) as check:
        assert check.execute("SELECT first_name, last_name FROM patient").fetchall() == [SECRET_NAME]


def test_server_unreachable(tmp_path, keta):
    line = assert_one_line_error(keta(*ADD, db="postgresql://keta:secret-pw@127.0.0.1:1/keta"), 4)
    assert "secret-pw" not in line
