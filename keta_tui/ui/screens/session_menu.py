"""Everything the desk can do with one session, as a short menu (enter on a session)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from keta_tui.clinic.states import NEXT_STEP, TRANSITIONS

from ..formatting import hhmm, literal, person, status_word

# (action on the board, words, key shown, shown when the status allows)
MENU = (
    ("check_in", "Check in (gate)", "c", lambda s: s in ("scheduled", "confirmed", "arrived")),
    ("advance", "Advance to next step", "a", lambda s: s in NEXT_STEP),
    ("undo", "Undo the last step", "u", lambda s: s != "scheduled"),
    ("book", "Book next session", "b", lambda s: True),
    ("reschedule", "Reschedule or move chair", "r", lambda s: "rescheduled" in TRANSITIONS.get(s, ())),
    ("cancel_session", "Cancel (with reason)", "x", lambda s: "cancelled" in TRANSITIONS.get(s, ())),
    ("no_show", "No-show", "n", lambda s: "no_show" in TRANSITIONS.get(s, ())),
    ("open_patient", "Open patient", "o", lambda s: True),
)


class SessionMenu(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "back", "Back", show=False)] + [
        Binding(key, f"choose('{action}')", words, show=False) for action, words, key, _ in MENU]

    def __init__(self, row, *, privacy: bool) -> None:
        super().__init__()
        self.row = row
        self.privacy = privacy
        self.allowed = [(action, words, key) for action, words, key, shown in MENU if shown(row.status)]

    def compose(self) -> ComposeResult:
        row = self.row
        who = person(row.patient_name, row.patient_initials, self.privacy)
        title = f"{hhmm(row.start)} {who} · {row.treatment_code} · {status_word(row.status)}"
        with Vertical(classes="dialog"):
            yield Static(literal(title), classes="dialog-title")
            yield OptionList(*[Option(f"{key}  {words}", id=action) for action, words, key in self.allowed],
                             id="session-actions")
            yield Static("enter or the letter chooses; esc goes back", classes="dialog-detail")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_choose(self, action: str) -> None:
        if any(action == allowed for allowed, _, _ in self.allowed):
            self.dismiss(action)

    def action_back(self) -> None:
        self.dismiss(None)
