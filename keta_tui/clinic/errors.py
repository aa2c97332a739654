"""The errors a desk can meet, each with the exit code DESIGN.md gives it.

Messages are one line, say what to do, and never dump a row.
"""
from __future__ import annotations

from keta_tui.db.errors import DatabaseError


class KetaError(Exception):
    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(KetaError):
    """Usage errors, unknown patients, unparsable dates (exit 2)."""

    exit_code = 2


class NotFound(BadInput):
    """A patient, session, course, chair or treatment that does not exist."""


class Refused(KetaError):
    """A clinic rule said no: conflict, closure, transition, gate, stale edit (exit 3)."""

    exit_code = 3

    def __init__(self, message: str, *, reason: str = "refused", allowed: tuple[str, ...] = (),
                 suggestions: tuple = ()):
        super().__init__(message)
        # A short machine-readable reason ("chair_taken", "closed", "stale", ...).
        self.reason = reason
        # For transitions: the steps that are allowed from here.
        self.allowed = allowed
        # For bookings: nearby free slots, when the caller asked for them.
        self.suggestions = suggestions


class StaleEdit(Refused):
    def __init__(self, message: str):
        super().__init__(message, reason="stale")


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, KetaError):
        return exc.exit_code
    if isinstance(exc, DatabaseError):
        return 4
    return 1
