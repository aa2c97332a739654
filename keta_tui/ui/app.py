"""The keta front-desk app: the board at home, one app clock, privacy mode, desk-wide keys.

All database work happens in thread workers on the screens (see ``workers.py``); the
app only owns what every screen shares: settings, who is acting, "now" and privacy.
"""
from __future__ import annotations

import datetime as dt

from textual.app import App
from textual.reactive import var

from keta_tui.clinic.clock import Clock

from . import keymap
from .commands import DeskCommands
from .screens.board import BoardScreen
from .screens.confirm_dialog import ConfirmDialog


class KetaApp(App):
    """``KetaApp(settings, clock=Clock(...), actor="desk-1")``; tests pass ``cursor_blink=False``."""

    CSS_PATH = "app.tcss"
    TITLE = "keta"
    COMMANDS = App.COMMANDS | {DeskCommands}
    BINDINGS = keymap.bindings("app")

    # The one app clock: set every second, watched by whatever shows time.
    now: var[dt.datetime | None] = var(None)
    privacy: var[bool] = var(False)

    def __init__(self, settings, *, clock: Clock | None = None, actor: str = "desk",
                 day: dt.date | None = None, privacy: bool = False, cursor_blink: bool = True,
                 refresh_seconds: float = 1.0, keys: dict[str, str] | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock or Clock()
        self.actor = actor
        self.start_day = day
        self.cursor_blink = cursor_blink
        self.refresh_seconds = refresh_seconds
        self._keys = keymap.load_keymap() if keys is None else keys
        self.set_reactive(KetaApp.now, self.clock.now())
        self.set_reactive(KetaApp.privacy, privacy)

    @property
    def tz(self):
        return self.settings.tz

    def today(self) -> dt.date:
        return self.clock.now().astimezone(self.tz).date()

    def get_default_screen(self) -> BoardScreen:
        return BoardScreen(day=self.start_day)

    def on_mount(self) -> None:
        if self._keys:
            self.set_keymap(self._keys)
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        self.now = self.clock.now()

    # --- desk-wide actions ------------------------------------------------------------

    def action_toggle_privacy(self) -> None:
        self.privacy = not self.privacy
        self.notify("privacy mode on: initials only" if self.privacy else "privacy mode off",
                    timeout=3)

    def action_find_patient(self) -> None:
        from .screens.find_patient import FindPatientScreen
        from .screens.patient import PatientScreen

        def opened(patient) -> None:
            if patient is not None:
                self.push_screen(PatientScreen(patient.id))

        self.push_screen(FindPatientScreen(), opened)

    def book_walk_in(self) -> None:
        """Find the patient, then the booking screen (a walk-in or a phone booking)."""
        from .screens.book import BookScreen
        from .screens.find_patient import FindPatientScreen

        def found(patient) -> None:
            if patient is not None:
                self.push_screen(BookScreen(patient_id=patient.id, patient_name=patient.name,
                                            patient_initials=patient.initials))

        self.push_screen(FindPatientScreen(title="Book for which patient?"), found)

    @property
    def board(self) -> BoardScreen:
        return self.screen_stack[0]

    def run_desk_verb(self, verb: keymap.DeskVerb) -> None:
        """A verb from the palette: on the screen in front if it has it, else the board's."""
        name = f"action_{verb.action}"
        if hasattr(self.screen, name):
            getattr(self.screen, name)()
        elif verb.scope == "app":
            getattr(self, name)()
        elif verb.scope == "upcoming":
            self.action_upcoming(tab="forms")
        elif self.screen is self.board:
            getattr(self.board, name)()
        else:
            self.notify(f"{verb.title} works on the board's selected session: esc back to the board first",
                        severity="warning")

    def action_upcoming(self, tab: str | None = None) -> None:
        from .screens.upcoming import UpcomingScreen

        if isinstance(self.screen, UpcomingScreen):
            if tab:
                self.screen.show_tab(tab)
        else:
            self.push_screen(UpcomingScreen(tab=tab))

    def action_chair_service(self) -> None:
        from .screens.chair_service import ChairServiceDialog

        if not isinstance(self.screen, ChairServiceDialog):
            self.push_screen(ChairServiceDialog())

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def has_unsaved_input(self) -> bool:
        return any(getattr(screen, "has_unsaved_input", lambda: False)() for screen in self.screen_stack)

    def action_quit_desk(self) -> None:
        """Quit at once, unless a form holds input that quitting would lose."""
        if not self.has_unsaved_input():
            self.exit()
            return

        def answered(quit_anyway: bool | None) -> None:
            if quit_anyway:
                self.exit()

        self.push_screen(ConfirmDialog("A form holds unsaved input. Quit and lose it?",
                                       yes="Quit", no="Stay"), answered)
