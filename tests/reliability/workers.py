"""The desk-operation driver the soak, crash and backup tests run as separate OS processes.

    python -m tests.reliability.workers MODE --db TARGET --log FILE [--seconds S] [--seed N]

Modes:
  settings  writes numbered settings keys through the store (backup/restore tests);
  desk      random front-desk operations through the clinic services (soak);
  board     keeps loading today's board (soak's reader);
  courses   plans and books whole courses, one after another (crash tests).

Every operation is logged to FILE as one JSON line *after* it returned (ok or
refused), flushed at once, so a killed worker's log is still true: a success in the
log is committed; a failure in the log left nothing behind.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
import traceback
from pathlib import Path

SOAK_DAY = dt.date(2026, 11, 17)  # the conftest's frozen Tuesday
FROZEN_NOW = dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.timezone.utc)


class OpLog:
    """One JSON line per finished operation, flushed so a kill -9 loses nothing logged."""

    def __init__(self, path: Path):
        self._fh = open(path, "a", encoding="utf-8", buffering=1)

    def write(self, **entry) -> None:
        self._fh.write(json.dumps(entry, default=str) + "\n")
        self._fh.flush()


def _open(target: str):
    from keta_tui.db.connection import open_database

    open_database(target)


def _outcome(exc: BaseException) -> dict:
    """A refusal or a storage error as a log entry; anything else is a bug and re-raised."""
    from keta_tui.clinic.errors import KetaError
    from keta_tui.db.errors import DatabaseError

    if isinstance(exc, KetaError):
        return {"ok": False, "kind": type(exc).__name__, "reason": getattr(exc, "reason", "bad_input"),
                "exit": exc.exit_code}
    if isinstance(exc, DatabaseError):
        return {"ok": False, "kind": type(exc).__name__, "reason": "database", "exit": 4}
    raise exc


def run_settings(args, log: OpLog) -> None:
    """Numbered writes, each with its audit entry: a consistent copy holds a prefix of them."""
    from keta_tui.clinic.store import audit, put_setting, writing

    _open(args.db)
    deadline = time.monotonic() + args.seconds
    number = 0
    while time.monotonic() < deadline and not _stopped(args):
        key = f"{args.prefix}-{number:06d}"
        try:
            with writing():
                put_setting(key, str(number))
                audit("worker", "test.write", "settings", number, after={"key": key})
        except Exception as exc:  # noqa: BLE001 - _outcome re-raises anything unexpected
            log.write(op="setting", key=key, **_outcome(exc))
        else:
            log.write(op="setting", key=key, ok=True)
            number += 1
        if args.pause:
            time.sleep(args.pause)


def _stopped(args) -> bool:
    return bool(args.stop_file) and Path(args.stop_file).exists()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workers")
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("--db", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prefix", default="w")
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--stop-file", default="")
    args = parser.parse_args(argv)
    os.environ.setdefault("KETA_ACTOR", f"worker-{args.seed}")
    log = OpLog(Path(args.log))
    try:
        MODES[args.mode](args, log)
    except Exception:  # a crash is what the tests look for: say so loudly
        traceback.print_exc()
        return 1
    return 0


MODES = {"settings": run_settings}

if __name__ == "__main__":
    sys.exit(main())
