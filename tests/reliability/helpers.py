"""What the reliability tests share: running `keta` as a real process and judging its output."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_NAME = ("Zyxwv", "Secretname")
SECRET_PHONE = "555-013-9876"
SECRET_NOTE = "Qwertnote confidential remark"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def keta_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KETA_DB", None)
    env.update({"KETA_ACTOR": "test-desk", "PYTHONPATH": str(REPO_ROOT), "NO_COLOR": "1"})
    env.update(extra)
    return env


def run_keta(*args: str, db: str | None = None, timeout: float = 60, **env: str) -> Run:
    """`python -m keta_tui [--db DB] ARGS...` in a fresh process."""
    argv = [sys.executable, "-m", "keta_tui"]
    if db is not None:
        argv += ["--db", db]
    done = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout,
                          env=keta_env(**env), cwd=REPO_ROOT, stdin=subprocess.DEVNULL)
    return Run(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(run: Run, code: int) -> str:
    """The documented exit code, exactly one line on stderr, and no traceback."""
    assert run.code == code, (run.code, run.stderr)
    assert "Traceback" not in run.stderr + run.stdout
    lines = run.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("keta"), run.stderr
    return lines[0]


def integrity(path: str | Path) -> str:
    connection = sqlite3.connect(str(path))
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def query(path: str | Path, sql: str, params: tuple = ()) -> list[tuple]:
    connection = sqlite3.connect(str(path))
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def execute(path: str | Path, *statements: str) -> None:
    """Change a SQLite file behind keta's back (a newer schema, a foreign table...)."""
    connection = sqlite3.connect(str(path))
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


NEWER_SCHEMA = "INSERT INTO schema_migration (name, applied) VALUES ('9999_from_the_future', '2031-01-01')"


def mode(path: str | Path) -> int:
    return Path(path).stat().st_mode & 0o777


def start_worker(mode: str, db: str, log: Path, *args: str, **env: str) -> subprocess.Popen:
    """A `tests.reliability.workers` process; its stderr is kept for the traceback check."""
    argv = [sys.executable, "-m", "tests.reliability.workers", mode, "--db", db, "--log", str(log), *args]
    return subprocess.Popen(argv, cwd=REPO_ROOT, env=keta_env(**env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_worker(process: subprocess.Popen, timeout: float = 60) -> str:
    """Wait for a worker; it must exit 0 without a traceback. Returns its stderr."""
    _out, err = process.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    assert process.returncode == 0, err
    return err


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.endswith("}"):  # a kill -9 can cut the last line short
            entries.append(json.loads(line))
    return entries


def wait_for_log(path: Path, entries: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(read_log(path)) < entries:
        assert time.monotonic() < deadline, f"worker logged fewer than {entries} operations"
        time.sleep(0.02)


def _forked_worker(argv: list[str], stderr_path: str) -> None:
    # The child's stderr goes to a file the test reads for tracebacks.
    fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    from . import workers

    os._exit(workers.main(argv))


def fork_worker(mode: str, db: str, log: Path, *args: str):
    """A worker forked from this already-warm process: a real OS process that starts in
    milliseconds, for tests that kill many of them. Close the database before forking."""
    import multiprocessing

    argv = [mode, "--db", db, "--log", str(log), *args]
    process = multiprocessing.get_context("fork").Process(target=_forked_worker,
                                                         args=(argv, str(log) + ".stderr"), daemon=True)
    process.start()
    return process


def run_main(capsys, *args: str, db: str | None) -> Run:
    """`keta [--db DB] ARGS...` in this process (fast); the database is closed after."""
    from keta_tui.cli.main import main
    from keta_tui.db.connection import close_database

    try:
        code = main((["--db", db] if db is not None else []) + list(args))
    except SystemExit as exc:  # --help and --version leave through argparse
        code = exc.code
    finally:
        close_database()
    out, err = capsys.readouterr()
    return Run(code, out, err)
