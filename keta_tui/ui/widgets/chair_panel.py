"""The chairs: one line each with state (symbol + word), patient, treatment and a live timer.

Each part is its own small Static and is only redrawn when its text changes, so the
timers ticking cost a few bytes a minute, not a redrawn panel every second.
"""
from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from ..formatting import chair_state_text, chair_timer_text, person, treatment_short
from .cell import Cell


class ChairLine(Horizontal):
    DEFAULT_CSS = """
    ChairLine { height: 1; }
    ChairLine .chair-name { width: 9; text-style: bold; }
    ChairLine .chair-state { width: 17; }
    ChairLine .chair-patient { width: 1fr; min-width: 8; max-width: 26; }
    ChairLine .chair-treatment { width: 7; }
    ChairLine .chair-timer { width: 1fr; min-width: 12; }
    ChairLine.-overdue .chair-state { text-style: bold reverse; }
    ChairLine.-overdue .chair-timer { text-style: bold; }
    ChairLine.-state-dosing .chair-state, ChairLine.-state-monitoring .chair-state { color: $accent; }
    ChairLine.-state-ready_to_leave .chair-state { color: $success; }
    ChairLine.-state-turnover .chair-state, ChairLine.-state-out_of_service .chair-state { color: $warning; }
    """

    def __init__(self, chair_id: int) -> None:
        super().__init__()
        self.chair_id = chair_id
        self._state_class = ""
        # Made here, not in compose, so a new line can be filled before it is mounted.
        self.cells = tuple(Cell(classes=f"chair-{part}")
                           for part in ("name", "state", "patient", "treatment", "timer"))

    def compose(self) -> ComposeResult:
        yield from self.cells

    def show(self, chair, now: dt.datetime, tz, privacy: bool) -> None:
        name, state, patient, treatment, timer = self.cells
        name.show(chair.name)
        state.show(chair_state_text(chair.state, chair.overdue))
        patient.show(person(chair.patient_name, chair.patient_initials, privacy))
        treatment.show(treatment_short(chair.treatment_code))
        timer.show(chair_timer_text(chair, now, tz))
        state_class = f"-state-{chair.state}"
        if state_class != self._state_class:
            if self._state_class:
                self.remove_class(self._state_class)
            self.add_class(state_class)
            self._state_class = state_class
        self.set_class(chair.overdue, "-overdue")


class ChairPanel(VerticalScroll):
    """All chairs, in the clinic's order; lines are added or removed only when chairs change."""

    DEFAULT_CSS = """
    ChairPanel { height: auto; max-height: 12; padding: 0 1; scrollbar-size-vertical: 1; }
    """

    can_focus = False

    def show(self, chairs, now: dt.datetime, tz, privacy: bool) -> None:
        lines = {line.chair_id: line for line in self.query(ChairLine)}
        wanted = [chair.id for chair in chairs]
        if list(lines) != wanted:
            self.remove_children()
            lines = {chair_id: ChairLine(chair_id) for chair_id in wanted}
            self.mount_all(lines.values())
        for chair in chairs:
            lines[chair.id].show(chair, now, tz, privacy)
