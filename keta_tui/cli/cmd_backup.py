"""`keta backup FILE` and `keta restore FILE`: a consistent copy of the clinic database,
and putting one back after checking it (SQLite; PostgreSQL uses pg_dump/pg_restore)."""
from __future__ import annotations

import dataclasses

from keta_tui.cli.output import print_json, safe


def register(subparsers) -> None:
    backup = subparsers.add_parser(
        "backup", help="write a consistent copy of the database (0600), even while desks are writing")
    backup.add_argument("file", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    backup.add_argument("--json", action="store_true", help="print what was written as JSON")
    backup.set_defaults(func=run_backup)

    restore = subparsers.add_parser(
        "restore", help="check a backup, keep the current database aside, then put the backup in its place")
    restore.add_argument("file", help="a backup written by 'keta backup'")
    restore.add_argument("--check", action="store_true", help="only check FILE; change nothing")
    restore.add_argument("--json", action="store_true", help="print the result as JSON")
    restore.set_defaults(func=run_restore)


def _summary(info) -> str:
    size_kib = max(1, round(info.size_bytes / 1024))
    upgrade = f", will be upgraded to {info.pending[-1]}" if info.pending else ""
    return (f"{info.patients} patients, {info.sessions} sessions, {size_kib} KiB, "
            f"schema {info.schema}{upgrade}, integrity ok")


def run_backup(ctx, args) -> int:
    from keta_tui.clinic.backup import PG_BACKUP_HINT, backup_database
    from keta_tui.clinic.errors import BadInput
    from keta_tui.db.connection import is_url

    if is_url(ctx.db_target):
        raise BadInput(PG_BACKUP_HINT)
    ctx.open()
    info = backup_database(args.file, force=args.force)
    if args.json:
        print_json(dataclasses.asdict(info))
    else:
        print(f"backup written to {safe(info.path)} ({_summary(info)})")
    return 0


def run_restore(ctx, args) -> int:
    from keta_tui.clinic.backup import check_backup, restore_database

    if args.check:
        info = check_backup(args.file)
        if args.json:
            print_json(dataclasses.asdict(info))
        else:
            print(f"{safe(info.path)} can be restored ({_summary(info)})")
        return 0
    result = restore_database(args.file, ctx.db_target, actor=ctx.actor, now=ctx.clock.now())
    if args.json:
        print_json(dataclasses.asdict(result))
    else:
        print(f"restored {safe(result.target)} from {safe(result.source.path)} ({_summary(result.source)})")
        if result.kept_aside:
            print(f"the database as it was is kept at {safe(result.kept_aside)}")
    return 0
