"""Every key on one screen, from the same table the bindings and the palette are built from."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..keymap import DESK_VERBS, effective_key, key_label

SCREEN_KEYS = (
    ("Check-in", "enter", "check in with the answers shown (a failed item offers deferral)"),
    ("Check-in", "d", "defer the session, with a reason"),
    ("Book", "enter", "on a date field: find free slots; on a slot: book it"),
    ("Patient", "enter / F2", "save the changed fields (a stale edit says who changed it)"),
    ("Patient", "b / P", "book a session / plan a course from a protocol"),
    ("Course plan", "enter / F2", "propose the sessions / book the whole plan"),
    ("Upcoming", "enter", "on the Calls tab: mark the patient confirmed"),
    ("Upcoming", "enter", "on the Forms tab: mark the REMS form filed (asks first)"),
    ("Chair service", "enter", "take the chosen chair out (asks why) or put it back"),
    ("Anywhere", "esc", "back"),
    ("Anywhere", "ctrl+p", "command palette: every desk verb by name"),
)


WHERE = {"app": "anywhere", "board": "board", "upcoming": "upcoming"}


def keys_table(keymap: dict[str, str]) -> Table:
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold", expand=False)
    table.add_column("Key", no_wrap=True)
    table.add_column("Where", no_wrap=True)
    table.add_column("Does")
    for verb in DESK_VERBS:
        where = WHERE.get(verb.scope, verb.scope)
        table.add_row(Text(key_label(effective_key(verb, keymap))), where, Text(verb.help))
    for where, key, does in SCREEN_KEYS:
        table.add_row(Text(key), where.lower(), Text(does))
    return table


class HelpScreen(Screen):
    BINDINGS = [Binding("escape,question_mark", "back", "Back")]

    def compose(self) -> ComposeResult:
        yield Static("Keys (rebind them in keys.toml, see the README)", classes="screen-title")
        with VerticalScroll(id="help-keys"):
            yield Static(keys_table(getattr(self.app, "_keys", {})))
            yield Static("Board: chair states read as words with a symbol (○ available, ◔ reserved, "
                         "● dosing, ◕ monitoring, ✓ ready to leave, ~ turnover, ✗ out of service); "
                         "! marks something overdue. p hides names (initials only).", classes="hint")
        yield Footer()

    def action_back(self) -> None:
        self.dismiss()
