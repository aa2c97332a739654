"""Every desk verb once: its key, where it lives, and the words for the footer, help and palette.

Bindings carry ids (``keta.<verb>``) so a desk can rebind them in
``<user config>/keta/keys.toml``::

    [keys]
    "keta.find" = "f"
    "keta.book" = "b,ctrl+b"
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding


@dataclass(frozen=True)
class DeskVerb:
    id: str  # binding id, "keta.find"
    key: str  # default key(s)
    action: str  # action name on the screen (or app) that owns it
    title: str  # short footer / palette title
    help: str  # one line for the help screen and the palette
    scope: str  # "app" (anywhere), "board" (needs the board's selected session) or "upcoming" (its Forms tab)
    show: bool = True  # shown in the footer


DESK_VERBS: tuple[DeskVerb, ...] = (
    DeskVerb("keta.help", "question_mark", "help", "Help", "Every key, on one screen", "app"),
    DeskVerb("keta.find", "slash", "find_patient", "Find", "Find a patient by name, date of birth, phone or MRN", "app"),
    DeskVerb("keta.open", "enter", "open_session", "Menu", "Open the selected session's menu (all actions for it)", "board"),
    DeskVerb("keta.check_in", "c", "check_in", "Check in", "Check the selected patient in through the treatment's gate", "board"),
    DeskVerb("keta.advance", "a", "advance", "Advance", "Advance the selected session to its next step", "board"),
    DeskVerb("keta.book", "b", "book", "Book", "Book a session (the selected patient's next one, or a walk-in)", "board"),
    DeskVerb("keta.cancel", "x", "cancel_session", "Cancel", "Cancel the selected session, with a reason", "board", show=False),
    DeskVerb("keta.no_show", "n", "no_show", "No-show", "Mark the selected session as a no-show", "board", show=False),
    DeskVerb("keta.undo", "u", "undo", "Undo", "Undo the selected session's last step", "board", show=False),
    DeskVerb("keta.patient", "o", "open_patient", "Patient", "Open the selected session's patient", "board", show=False),
    DeskVerb("keta.reschedule", "r", "reschedule", "Reschedule", "Move the selected session to another slot", "board", show=False),
    DeskVerb("keta.previous_day", "left_square_bracket", "previous_day", "Prev day", "Show the previous day", "board", show=False),
    DeskVerb("keta.next_day", "right_square_bracket", "next_day", "Next day", "Show the next day", "board", show=False),
    DeskVerb("keta.today", "t", "today", "Today", "Back to today", "board", show=False),
    DeskVerb("keta.go_to_date", "g", "go_to_date", "Go to date", "Show another date (YYYY-MM-DD, tomorrow, +3)", "board", show=False),
    DeskVerb("keta.upcoming", "w", "upcoming", "Upcoming", "The next 14 days, call lists, forms owed, courses behind", "app"),
    DeskVerb("keta.file_form", "f", "file_form", "File form", "Mark the highlighted REMS monitoring form filed (Upcoming, Forms tab)", "upcoming",
             show=False),
    DeskVerb("keta.chair_service", "s", "chair_service", "Chairs", "Take a chair out of service (with a reason) or put it back", "app", show=False),
    DeskVerb("keta.privacy", "p", "toggle_privacy", "Privacy", "Privacy mode: initials only, for a screen the waiting room sees", "app"),
    DeskVerb("keta.quit", "q", "quit_desk", "Quit", "Quit keta (asks only if a form holds unsaved input)", "app"),
)

KEY_NAMES = {
    "slash": "/",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "question_mark": "?",
    "enter": "enter",
}


def key_label(key: str) -> str:
    return ", ".join(KEY_NAMES.get(part.strip(), part.strip()) for part in key.split(","))


def bindings(scope: str) -> list[Binding]:
    """The Textual bindings of one scope, with ids for rebinding."""
    return [Binding(verb.key, verb.action, verb.title, show=verb.show, id=verb.id,
                    key_display=key_label(verb.key))
            for verb in DESK_VERBS if verb.scope == scope]


def keymap_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("keta", appauthor=False) / "keys.toml"


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """A desk's rebindings ({binding id: keys}); unknown ids and unreadable files are ignored."""
    path = path or keymap_path()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    known = {verb.id for verb in DESK_VERBS}
    keys = document.get("keys", {})
    if not isinstance(keys, dict):
        return {}
    return {name: value for name, value in keys.items() if name in known and isinstance(value, str) and value}


def effective_key(verb: DeskVerb, keymap: dict[str, str]) -> str:
    return keymap.get(verb.id, verb.key)
