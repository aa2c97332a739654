"""The board's top line: clinic, the day shown, opening hours or closure, and the clock."""
from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.containers import Horizontal

from ..formatting import day_title, hhmm
from .cell import Cell


class DayHeader(Horizontal):
    """One line; each half redraws only when its text changes (the clock: once a minute)."""

    DEFAULT_CSS = """
    DayHeader { height: 1; background: $primary; color: $text; padding: 0 1; }
    DayHeader #header-day { width: 1fr; }
    DayHeader #header-clock { width: auto; padding-left: 2; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield Cell(id="header-day")
        yield Cell(id="header-clock")

    def show(self, *, clinic: str, day: dt.date, today: dt.date, opening, closure: str | None,
             now_local: dt.datetime, privacy: bool) -> None:
        if closure:
            hours = f"closed: {closure}"
        elif opening:
            hours = f"{opening[0]:%H:%M}-{opening[1]:%H:%M}"
        else:
            hours = ""
        self.query_one("#header-day", Cell).show(" · ".join(p for p in (clinic, day_title(day, today), hours) if p))
        self.query_one("#header-clock", Cell).show(("PRIVACY  " if privacy else "") + hhmm(now_local))
