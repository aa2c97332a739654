"""Plan a course from a protocol: see every proposed date, time and chair, then book it whole.

"Propose" (enter in a field) runs ``plan_course`` in a worker and lists the sessions with
notes (moved for a holiday, time shifted) and conflicts. "Book" asks once and books the
plan all or nothing. Dismisses with the new course id, or None.
"""
from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Label, Select, Static

from keta_tui.clinic.clock import parse_clock_time, parse_date
from keta_tui.clinic.course_plan import day_label, parse_weekdays, plan_course
from keta_tui.clinic.courses import book_course
from keta_tui.clinic.errors import BadInput

from ..formatting import literal, person
from ..messages import DataLoaded, DeskActionDone
from ..widgets.text_field import TextField
from ..workers import ClinicCalls
from .confirm_dialog import ConfirmDialog


class CoursePlanScreen(ClinicCalls, Screen):
    BINDINGS = [Binding("escape", "back", "Back"),
                Binding("f2", "book_plan", "Book plan")]

    def __init__(self, *, patient_id: int, patient_name: str, patient_initials: str = "") -> None:
        super().__init__()
        self.patient_id = patient_id
        self.patient_name = patient_name
        self.patient_initials = patient_initials
        self.plan = None
        self.course_id: int | None = None

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        protocols = [(spec.name, code) for code, spec in settings.protocols.items()]
        who = person(self.patient_name, self.patient_initials, self.app.privacy)
        yield Static(literal(f"Plan a course · {who}"), classes="screen-title")
        with Vertical(id="plan-form"):
            with Horizontal(classes="form-row"):
                yield Label("Protocol")
                yield Select(protocols, value=protocols[0][1], allow_blank=False, id="protocol", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Start on")
                yield TextField(id="start-on", compact=True, max_length=20, placeholder="YYYY-MM-DD")
                yield Label("at", classes="inline-label")
                yield TextField(id="at", compact=True, max_length=5, placeholder="HH:MM")
                yield Label("days", classes="inline-label")
                yield TextField(id="weekdays", compact=True, max_length=40, placeholder="mon,wed,fri")
            yield Static("enter proposes the sessions; F2 or the button books the whole plan", classes="hint")
            yield DataTable(id="plan-sessions", cursor_type="row")
            yield Static("", id="plan-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Book plan (F2)", id="book-plan", variant="primary", compact=True, disabled=True)
                yield Button("Back (esc)", id="back", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#plan-sessions", DataTable)
        for key, label in (("n", "#"), ("phase", "Phase"), ("day", "Day"), ("time", "Time"), ("chair", "Chair"),
                           ("note", "Note")):
            table.add_column(label, key=key)
        tomorrow = self.app.today() + dt.timedelta(days=1)
        self.query_one("#start-on", TextField).start_with(f"{tomorrow:%Y-%m-%d}")
        self.query_one("#at", TextField).start_with("")
        self.query_one("#weekdays", TextField).start_with("")
        self.query_one("#start-on", TextField).focus()

    def has_unsaved_input(self) -> bool:
        return self.course_id is None and (self.plan is not None or
                                           any(field.edited for field in self.query(TextField)))

    def on_input_submitted(self, event: TextField.Submitted) -> None:
        event.stop()
        self.action_propose()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.plan = None
        self.query_one("#book-plan", Button).disabled = True

    def action_propose(self) -> None:
        today = self.app.today()
        try:
            start_on = parse_date(self.query_one("#start-on", TextField).value, today)
            at_text = self.query_one("#at", TextField).value.strip()
            at = parse_clock_time(at_text) if at_text else None
            days_text = self.query_one("#weekdays", TextField).value.strip()
            weekdays = parse_weekdays(days_text) if days_text else None
        except BadInput as error:
            self.notify(error.message, severity="warning")
            return
        settings, patient_id, now = self.app.settings, self.patient_id, self.app.clock.now()
        protocol = self.query_one("#protocol", Select).value
        self.query_one("#plan-message", Static).update("planning…")
        self.read("plan", lambda: plan_course(settings, patient_id=patient_id, protocol_code=protocol,
                                              start_on=start_on, at=at, weekdays=weekdays, now=now))

    def on_data_loaded(self, message: DataLoaded) -> None:
        if message.what != "plan":
            return
        plan = self.plan = message.result
        table = self.query_one("#plan-sessions", DataTable)
        table.clear()
        for session in plan.sessions:
            note = f"CONFLICT: {session.conflict}" if session.conflict else session.note
            table.add_row(str(session.number), session.phase, day_label(session.start.date()),
                          f"{session.start:%H:%M}", session.chair_name or "-", literal(note),
                          key=str(session.number))
        conflicts = plan.conflicts
        if conflicts:
            text = f"{len(conflicts)} conflict(s): change the start, time or days and propose again"
        else:
            first, last = plan.sessions[0].start, plan.sessions[-1].start
            text = (f"{len(plan.sessions)} sessions from {day_label(first.date())} to {day_label(last.date())}"
                    " · no conflicts · F2 books them all")
        self.query_one("#plan-message", Static).update(literal(text))
        self.query_one("#book-plan", Button).disabled = bool(conflicts)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "book-plan":
            self.action_book_plan()
        else:
            self.action_back()

    def action_book_plan(self) -> None:
        plan = self.plan
        if plan is None:
            self.notify("propose the sessions first (enter in a field)", severity="warning")
            return
        if plan.conflicts:
            self.notify("the plan has conflicts; nothing can be booked until they are gone", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                settings, actor, now = self.app.settings, self.app.actor, self.app.clock.now()
                self.write("book_course", lambda: book_course(settings, plan, actor=actor, now=now))

        self.app.push_screen(ConfirmDialog(f"Book all {len(plan.sessions)} sessions of this course?",
                                           yes="Book"), answered)

    def on_desk_action_done(self, message: DeskActionDone) -> None:
        self.course_id = message.result
        self.notify(f"course booked: {len(self.plan.sessions)} sessions", timeout=5)
        self.dismiss(self.course_id)

    def action_back(self) -> None:
        self.dismiss(self.course_id)
