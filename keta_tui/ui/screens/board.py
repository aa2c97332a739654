"""The day board (home screen): header, chairs with live timers, the day's sessions.

Refresh: every ``refresh_seconds`` a worker reads the change marker (one tiny query);
the day is reloaded only when it moved (another desk, the CLI) or the day changed.
The next check is armed when the previous one has finished, so checks never overlap,
and none runs while another screen or a dialog is in front. Between reloads, the app
clock re-derives chair states and flags from the loaded rows (no query).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from keta_tui.clinic import lifecycle
from keta_tui.clinic.board import FINISHED, load_day
from keta_tui.clinic.gate import CHECK_IN_FROM
from keta_tui.clinic.states import NEXT_STEP
from keta_tui.clinic.store import change_marker

from .. import keymap
from ..formatting import flags_text, hhmm, person, status_word
from ..messages import BoardLoaded, DeskActionDone, DeskActionFailed, MarkerChecked
from ..widgets.cell import Cell
from ..widgets.chair_panel import ChairPanel
from ..widgets.day_header import DayHeader
from ..widgets.sessions_table import SessionsTable
from ..workers import ClinicCalls, run_in_worker
from .confirm_dialog import ConfirmDialog
from .reason_dialog import ReasonDialog

# What the desk reads after each kind of write.
DONE_WORDS = {
    "advance": "now {status}",
    "undo": "step undone: back to {status}",
    "cancel": "cancelled",
    "no_show": "marked no-show",
    "confirm": "confirmed",
}
CANCEL_REASONS = ("patient unwell", "transport fell through", "clinic request")


class BoardScreen(ClinicCalls, Screen):
    BINDINGS = keymap.bindings("board")

    def __init__(self, day: dt.date | None = None) -> None:
        super().__init__()
        self.requested_day = day
        self.day: dt.date | None = None
        self.follow_today = day is None
        self.board = None  # the last DayBoard loaded, re-timed on every tick
        self.loading = False

    def compose(self) -> ComposeResult:
        yield DayHeader(id="day-header")
        yield ChairPanel(id="chairs")
        yield SessionsTable(id="sessions")
        yield Cell(id="session-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.day = self.requested_day or self.app.today()
        self.watch(self.app, "now", self._clock_ticked, init=False)
        self.watch(self.app, "privacy", self._privacy_changed, init=False)
        self.load()
        self._arm_marker_check()

    # --- loading and live refresh ------------------------------------------------------

    def load(self) -> None:
        settings, day, now = self.app.settings, self.day, self.app.clock.now()
        self.loading = True
        self.run_worker(lambda: run_in_worker(self, "load", lambda: load_day(settings, day, now=now), BoardLoaded),
                        thread=True, exclusive=True, group="board-load", name="load_day")

    def on_board_loaded(self, message: BoardLoaded) -> None:
        self.loading = False
        if message.board.day != self.day:
            return  # the desk moved to another day meanwhile; its own load follows
        first_load = self.board is None or self.board.day != message.board.day
        self.board = message.board.retimed(self.app.settings, self.app.now)
        self.show_board()
        if first_load:
            self._cursor_to_now()

    def _arm_marker_check(self) -> None:
        self.set_timer(self.app.refresh_seconds, self._check_marker, name="marker-check")

    def _check_marker(self) -> None:
        if self.app.screen is not self or self.loading or self.board is None:
            self._arm_marker_check()
            return
        self.run_worker(lambda: run_in_worker(self, "refresh", change_marker, MarkerChecked),
                        thread=True, exclusive=True, group="marker", name="change_marker")

    def on_marker_checked(self, message: MarkerChecked) -> None:
        if self.follow_today and self.app.today() != self.day:
            self.day = self.app.today()
            self.load()
        elif self.board is not None and message.marker != self.board.marker:
            self.load()
        self._arm_marker_check()

    def on_screen_resume(self) -> None:
        # Back from a dialog or another screen: catch up at once rather than in a second.
        if self.board is not None and not self.loading:
            self.load()

    def on_desk_action_failed(self, message: DeskActionFailed) -> None:
        if message.verb == "refresh":
            self._arm_marker_check()
            return  # the next check will try again; a load failure below says why
        if message.verb == "load":
            self.loading = False
        self.notify(message.text, severity=message.severity, timeout=8)

    # --- drawing -----------------------------------------------------------------------

    def _clock_ticked(self, now: dt.datetime) -> None:
        if self.board is not None:
            self.board = self.board.retimed(self.app.settings, now)
            self.show_board()

    def _privacy_changed(self, privacy: bool) -> None:
        self.show_board()

    def on_resize(self) -> None:
        table = self.query_one(SessionsTable)
        if table.fit_flags(self.size.width):
            self.show_board()

    def show_board(self) -> None:
        board = self.board
        if board is None:
            return
        app = self.app
        tz = app.tz
        now = app.now or app.clock.now()
        with app.batch_update():
            self.query_one(DayHeader).show(
                clinic=board.clinic_name, day=board.day, today=app.today(), opening=board.opening,
                closure=board.closure, now_local=now.astimezone(tz), privacy=app.privacy)
            self.query_one(ChairPanel).show(board.chairs, now, tz, app.privacy)
            table = self.query_one(SessionsTable)
            table.show(board.sessions, tz, app.privacy)
            self._show_detail()

    def _cursor_to_now(self) -> None:
        """On a new day, start at the first session still needing the desk (not the 08:00 row)."""
        waiting = [row for row in self.board.sessions
                   if row.status not in FINISHED and row.end >= (self.app.now or self.app.clock.now())]
        if waiting:
            self.select_session(waiting[0].id)
            self._show_detail()

    def _show_detail(self) -> None:
        detail = self.query_one("#session-detail", Cell)
        row = self.selected_row()
        if row is None:
            board = self.board
            if board is not None and not board.sessions:
                closed = f" (closed: {board.closure})" if board.closure else ""
                text = f"No sessions on this day{closed}. b books one; [ ] change day."
            else:
                text = ""
            detail.show(text)
            return
        privacy = self.app.privacy
        parts = [f"{hhmm(row.start, self.app.tz)} {person(row.patient_name, row.patient_initials, privacy)}",
                 row.treatment_name]
        if row.number is not None:
            parts.append(f"session {row.number} of {row.of or '?'}")
        parts.append(status_word(row.status))
        if row.escort_name and not privacy:
            parts.append(f"escort {row.escort_name} {row.escort_phone}".strip())
        if row.flags:
            parts.append("flags: " + flags_text(row.flag_words))
        detail.show(" · ".join(parts))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_session()

    # --- the selected session ---------------------------------------------------------

    def selected_row(self):
        if self.board is None:
            return None
        session_id = self.query_one(SessionsTable).selected_session_id
        return next((row for row in self.board.sessions if row.id == session_id), None)

    def _need_row(self):
        row = self.selected_row()
        if row is None:
            self.notify("select a session first (arrow keys on the sessions list)", severity="warning")
        return row

    def select_session(self, session_id: int) -> None:
        table = self.query_one(SessionsTable)
        try:
            table.move_cursor(row=table.get_row_index(str(session_id)), animate=False)
        except Exception:  # not on this day's board
            return

    # --- desk verbs ----------------------------------------------------------------------

    def action_open_session(self) -> None:
        from .session_menu import SessionMenu

        row = self._need_row()
        if row is None:
            return

        def chosen(action: str | None) -> None:
            if action:
                self.run_action(action)

        self.app.push_screen(SessionMenu(row, privacy=self.app.privacy), chosen)

    def action_check_in(self) -> None:
        from .check_in import CheckInScreen

        row = self._need_row()
        if row is None:
            return
        if row.status not in CHECK_IN_FROM:
            self.notify(f"this session is {status_word(row.status)}; check-in is for a booked or arrived "
                        "patient", severity="warning")
            return
        self.app.push_screen(CheckInScreen(row), self._after_form)

    def _after_form(self, result) -> None:
        if result is not None:
            self.load()

    def action_advance(self) -> None:
        row = self._need_row()
        if row is None:
            return
        if row.status in ("scheduled", "confirmed") and row.start.date() == self.app.today():
            # Arrival goes through the check-in gate, never around it.
            self.action_check_in()
            return
        if row.status not in NEXT_STEP:
            self.notify(f"{status_word(row.status)} is the end of this session; u undoes the last step",
                        severity="warning")
            return
        self._step("advance", row, lifecycle.advance, version=row.version)

    def _step(self, verb: str, row, service, **options) -> None:
        """Run one lifecycle service on a session in a worker, with the desk's actor and "now"."""
        settings, actor, now = self.app.settings, self.app.actor, self.app.clock.now()
        self.write(verb, lambda: service(settings, row.id, actor=actor, now=now, **options), row.id)

    def action_undo(self) -> None:
        row = self._need_row()
        if row is None:
            return
        self._step("undo", row, lifecycle.undo)

    def action_cancel_session(self) -> None:
        row = self._need_row()
        if row is None:
            return
        who = person(row.patient_name, row.patient_initials, self.app.privacy)

        def reason_given(reason: str | None) -> None:
            if reason:
                self._step("cancel", row, lifecycle.cancel, reason=reason, version=row.version)

        self.app.push_screen(ReasonDialog(f"Cancel {who} at {hhmm(row.start, self.app.tz)}: why?",
                                          confirm="Cancel session", suggestions=CANCEL_REASONS), reason_given)

    def action_no_show(self) -> None:
        row = self._need_row()
        if row is None:
            return
        who = person(row.patient_name, row.patient_initials, self.app.privacy)

        def answered(yes: bool | None) -> None:
            if yes:
                self._step("no_show", row, lifecycle.no_show, version=row.version)

        self.app.push_screen(ConfirmDialog(f"Mark {who} ({hhmm(row.start, self.app.tz)}) as a no-show?"), answered)

    def action_book(self) -> None:
        from .book import BookScreen

        row = self.selected_row()
        if row is None:
            self.app.book_walk_in()
            return
        self.app.push_screen(BookScreen(patient_id=row.patient_id, patient_name=row.patient_name,
                                        patient_initials=row.patient_initials,
                                        treatment_code=row.treatment_code,
                                        after=row.start.date() + dt.timedelta(days=1),
                                        around=row.start.time()), self._after_form)

    def action_reschedule(self) -> None:
        from .book import BookScreen

        row = self._need_row()
        if row is None:
            return
        self.app.push_screen(BookScreen(patient_id=row.patient_id, patient_name=row.patient_name,
                                        patient_initials=row.patient_initials,
                                        treatment_code=row.treatment_code, after=row.start.date(),
                                        around=row.start.time(), replacing=row), self._after_form)

    def action_open_patient(self) -> None:
        from .patient import PatientScreen

        row = self._need_row()
        if row is not None:
            self.app.push_screen(PatientScreen(row.patient_id))

    def run_action(self, action: str) -> None:
        """Run a verb chosen in the session menu or the command palette."""
        method = getattr(self, f"action_{action}", None)
        if method is not None:
            method()

    def on_desk_action_done(self, message: DeskActionDone) -> None:
        result = message.result
        status = status_word(getattr(result, "to_status", "") or "")
        words = DONE_WORDS.get(message.verb, "done").format(status=status)
        row = next((r for r in (self.board.sessions if self.board else ()) if r.id == message.session_id), None)
        who = person(row.patient_name, row.patient_initials, self.app.privacy) if row else "session"
        self.notify(f"{who}: {words}", timeout=4)
        self._show_step(result)
        self.load()

    def _show_step(self, result) -> None:
        """Show a status step's new status at once; the reload that follows redoes chairs and flags."""
        if self.board is None or not isinstance(result, lifecycle.StepResult):
            return
        sessions = tuple(replace(row, status=result.to_status, version=result.version) if row.id == result.session_id
                         else row for row in self.board.sessions)
        if sessions != self.board.sessions:
            self.board = replace(self.board, sessions=sessions)
            self.show_board()

    # --- days ----------------------------------------------------------------------------

    def show_day(self, day: dt.date) -> None:
        self.day = day
        self.follow_today = day == self.app.today()
        self.load()

    def action_previous_day(self) -> None:
        self.show_day(self.day - dt.timedelta(days=1))

    def action_next_day(self) -> None:
        self.show_day(self.day + dt.timedelta(days=1))

    def action_today(self) -> None:
        self.show_day(self.app.today())

    def action_go_to_date(self) -> None:
        from .go_to_date import GoToDateDialog

        def chosen(day: dt.date | None) -> None:
            if day is not None:
                self.show_day(day)

        self.app.push_screen(GoToDateDialog(self.app.today()), chosen)
