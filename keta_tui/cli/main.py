"""`keta`: the command line. Parses global options, opens the database, dispatches.

Each command lives in a ``cmd_*.py`` module with ``register(subparsers)`` that sets
``func(ctx, args) -> int`` on its parser. Errors become one line on stderr and the
exit code of DESIGN.md: 0 done, 2 bad input, 3 refused by a clinic rule, 4 database
unavailable. Nothing here imports textual: only the bare ``keta`` opens the TUI.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

COMMAND_MODULES = (
    "cmd_setup",      # init, demo
    "cmd_day",        # today, upcoming
    "cmd_patients",   # patient add/find/show/edit
    "cmd_booking",    # book, slots, reschedule, history
    "cmd_lifecycle",  # checkin, advance, cancel, noshow, defer, undo
    "cmd_courses",    # course plan/show
    "cmd_forms",      # forms list/file
    "cmd_chairs",     # chair list/out/in
    "cmd_backup",     # backup, restore
)

EXIT_OK, EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNAVAILABLE = 0, 2, 3, 4


class UsageError(Exception):
    pass


class KetaArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting with 2 itself."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


@dataclass
class Context:
    """What every command gets: where the database is, who acts, what time it is."""

    db_target: str
    actor: str
    demo: bool
    clock: object = None
    _opened: bool = field(default=False, repr=False)

    def open(self, *, create: bool = False):
        """Open (and migrate) the database; returns the clinic settings."""
        from keta_tui.db.connection import open_database

        if not self._opened:
            open_database(self.db_target, create=create)
            self._opened = True

    def settings(self):
        from keta_tui.clinic.setup import load_settings

        self.open()
        return load_settings()


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("keta", appauthor=False) / "keta.db"


def demo_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("keta", appauthor=False) / "demo.db"


def resolve_db_target(option: str | None, demo: bool) -> str:
    if demo:
        # The demo never touches the real database, whatever --db or KETA_DB say.
        return os.environ.get("KETA_DEMO_DB") or str(demo_db_path())
    return option or os.environ.get("KETA_DB") or str(default_db_path())


def build_parser() -> KetaArgumentParser:
    parser = KetaArgumentParser(
        prog="keta",
        description="The front desk of a ketamine / esketamine clinic. Without a command, opens the board.",
    )
    parser.add_argument("--db", metavar="PATH_OR_URL",
                        help="database file or postgresql:// URL (env KETA_DB; default: your user data folder)")
    parser.add_argument("--as", dest="actor", metavar="NAME", help="who is acting, for the audit trail (default: OS user)")
    parser.add_argument("--demo", action="store_true", help="use the separate synthetic demo database")
    from keta_tui import __version__

    parser.add_argument("--version", action="version", version=f"keta {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=KetaArgumentParser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"keta_tui.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"keta_tui.cli.{name}":
                raise
            continue  # a command group not built yet
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from keta_tui.clinic.errors import KetaError
    from keta_tui.db.errors import DatabaseError

    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        from keta_tui.clinic.clock import Clock
        from keta_tui.clinic.store import default_actor

        actor = (args.actor or "").strip() or default_actor()
        ctx = Context(db_target=resolve_db_target(args.db, args.demo), actor=actor[:100],
                      demo=args.demo, clock=Clock.from_env())
        if args.command is None:
            from keta_tui.cli.cmd_tui import run_tui

            return run_tui(ctx)
        return int(args.func(ctx, args) or 0)
    except UsageError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except KetaError as exc:
        return _fail(f"keta: {exc.message}", exc.exit_code)
    except DatabaseError as exc:
        return _fail(f"keta: {exc}", EXIT_UNAVAILABLE)
    except KeyboardInterrupt:
        return _fail("keta: interrupted", 130)
    except BrokenPipeError:
        # Output piped into head and closed early: not an error worth a message.
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:  # last resort: one line, never a traceback
        import peewee

        if isinstance(exc, peewee.OperationalError):
            from keta_tui.db.connection import translate_operational

            return _fail(f"keta: {translate_operational(exc)}", EXIT_UNAVAILABLE)
        if isinstance(exc, peewee.DatabaseError):
            return _fail(f"keta: database error: {str(exc).splitlines()[0][:200]}", EXIT_UNAVAILABLE)
        if os.environ.get("KETA_DEBUG"):
            raise
        return _fail(f"keta: unexpected error ({type(exc).__name__}); set KETA_DEBUG=1 for details", 1)
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()


def _fail(message: str, code: int) -> int:
    # One line, no control characters from user input reaching the terminal. A message
    # that spans lines (a settings key with a newline in it) is joined, not cut short.
    flat = " ".join(part.strip() for part in (message or "").splitlines() if part.strip())
    clean = "".join(ch if ch.isprintable() else "?" for ch in flat)
    print(clean, file=sys.stderr)
    return code


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
