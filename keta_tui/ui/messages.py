"""Messages the workers post back to the event loop (past tense: something happened).

Each carries plain clinic dataclasses, never live rows.
"""
from __future__ import annotations

from typing import Any

from textual.message import Message


class BoardLoaded(Message):
    def __init__(self, board) -> None:
        super().__init__()
        self.board = board


class MarkerChecked(Message):
    def __init__(self, marker: int) -> None:
        super().__init__()
        self.marker = marker


class DeskActionDone(Message):
    """A write went through; ``verb`` says what, ``result`` is the service's answer."""

    def __init__(self, verb: str, result: Any, session_id: int | None = None) -> None:
        super().__init__()
        self.verb = verb
        self.result = result
        self.session_id = session_id


class DeskActionFailed(Message):
    """A service refused or the database failed; ``text`` is the one line to show."""

    def __init__(self, verb: str, text: str, error: BaseException, severity: str) -> None:
        super().__init__()
        self.verb = verb
        self.text = text
        self.error = error
        self.severity = severity


class DataLoaded(Message):
    """A read for a screen finished; ``what`` names it ("patients", "slots", "courses"...)."""

    def __init__(self, what: str, result: Any) -> None:
        super().__init__()
        self.what = what
        self.result = result
