"""Ask which date to show: YYYY-MM-DD, today, tomorrow, +3, -2."""
from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from keta_tui.clinic.clock import parse_date
from keta_tui.clinic.errors import BadInput

from ..widgets.text_field import TextField


class GoToDateDialog(ModalScreen[dt.date | None]):
    BINDINGS = [Binding("escape", "back", "Back", show=False)]

    def __init__(self, today: dt.date) -> None:
        super().__init__()
        self.today = today

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Go to date", classes="dialog-title")
            yield Static("YYYY-MM-DD, today, tomorrow, +3 or -2 (days); enter to go, esc to stay",
                         classes="dialog-detail")
            yield TextField(placeholder="2026-11-20", id="date", max_length=20)

    def on_input_submitted(self, event: TextField.Submitted) -> None:
        event.stop()
        try:
            day = parse_date(event.value, self.today)
        except BadInput as error:
            self.notify(error.message, severity="warning")
            return
        self.dismiss(day)

    def action_back(self) -> None:
        self.dismiss(None)
