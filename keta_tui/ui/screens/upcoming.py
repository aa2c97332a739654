"""Upcoming (w): the next 14 days, tomorrow's confirmation calls, pick-ups, REMS forms owed,
courses behind and patients with nothing booked next. All read in one worker.

On the Calls tab, enter marks the highlighted patient confirmed (scheduled -> confirmed);
on the Forms tab, enter or f marks the highlighted REMS form filed, after a yes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from keta_tui.clinic import lifecycle
from keta_tui.clinic.board import confirmation_calls, load_upcoming, pickup_calls
from keta_tui.clinic.courses import courses_behind, patients_without_next_booking
from keta_tui.clinic.forms import file_form, owed_forms

from .. import keymap
from ..formatting import course_of, hhmm, literal, person, status_word, treatment_short
from ..messages import DataLoaded, DeskActionDone
from ..workers import ClinicCalls
from .confirm_dialog import ConfirmDialog

DAYS_AHEAD = 14
LIST_LIMIT = 100
DONE_WORDS = {"confirm": "confirmed", "file_form": "REMS form filed"}


@dataclass(frozen=True)
class UpcomingData:
    schedule: list
    calls: list
    pickups: list
    forms: list
    behind: list
    unbooked: list


def load_upcoming_data(settings, today: dt.date, now: dt.datetime) -> UpcomingData:
    tomorrow = today + dt.timedelta(days=1)
    return UpcomingData(
        schedule=load_upcoming(settings, today, DAYS_AHEAD, now=now),
        calls=confirmation_calls(settings, tomorrow, now=now),
        pickups=pickup_calls(settings, now=now),
        forms=owed_forms(settings, now=now, limit=LIST_LIMIT),
        behind=courses_behind(settings, now=now, limit=LIST_LIMIT),
        unbooked=patients_without_next_booking(settings, now=now, limit=LIST_LIMIT),
    )


# (table id, tab title, (column, width)...): widths fit 80 columns without scrolling sideways.
TABLES = (
    ("days", "14 days", (("Day", 10), ("Time", 5), ("Patient", 18), ("Treat", 6), ("n/N", 5), ("Chair", 7),
                         ("Status", 14))),
    ("calls", "Calls", (("Time", 5), ("Patient", 22), ("Phone", 16), ("Treat", 6), ("Confirmed", 9))),
    ("pickups", "Pick-ups", (("Ready", 5), ("Patient", 16), ("Chair", 7), ("Escort", 14), ("Escort phone", 14),
                             ("Status", 10))),
    ("forms", "Forms", (("Due", 10), ("Patient", 20), ("Session", 7), ("Treat", 6), ("Minutes", 7),
                        ("Overdue", 7))),
    ("behind", "Behind", (("Due", 10), ("Patient", 18), ("Course", 13), ("Why", 26))),
    ("unbooked", "Unbooked", (("Due", 10), ("Patient", 20), ("Phone", 16), ("Course", 20))),
)


class UpcomingScreen(ClinicCalls, Screen):
    BINDINGS = [Binding("escape", "back", "Back"),
                Binding("r", "reload", "Reload", show=False)] + keymap.bindings("upcoming")

    def __init__(self, tab: str | None = None) -> None:
        super().__init__()
        self.data: UpcomingData | None = None
        self.first_tab = tab

    def compose(self) -> ComposeResult:
        yield Static("Upcoming", id="upcoming-title", classes="screen-title")
        with TabbedContent(id="upcoming-tabs"):
            for table_id, title, _ in TABLES:
                with TabPane(title, id=f"tab-{table_id}"):
                    if table_id == "calls":
                        yield Static("Tomorrow's confirmation calls: enter marks the patient confirmed.",
                                     classes="hint")
                    elif table_id == "forms":
                        yield Static("REMS monitoring forms owed: enter or f marks the form filed.",
                                     classes="hint")
                    yield DataTable(id=table_id, cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        for table_id, _, columns in TABLES:
            table = self.query_one(f"#{table_id}", DataTable)
            for column, width in columns:
                table.add_column(column, key=column.lower(), width=width)
        self.watch(self.app, "privacy", lambda privacy: self._show(), init=False)
        if self.first_tab:
            self.show_tab(self.first_tab)
        self.action_reload()

    def show_tab(self, table_id: str) -> None:
        self.query_one("#upcoming-tabs", TabbedContent).active = f"tab-{table_id}"
        self.query_one(f"#{table_id}", DataTable).focus()

    def action_reload(self) -> None:
        settings, today, now = self.app.settings, self.app.today(), self.app.clock.now()
        self.read("upcoming", lambda: load_upcoming_data(settings, today, now))

    def on_data_loaded(self, message: DataLoaded) -> None:
        if message.what == "upcoming":
            self.data = message.result
            self._show()

    def _fill(self, table_id: str, rows) -> None:
        table = self.query_one(f"#{table_id}", DataTable)
        cursor = table.cursor_row
        table.clear()
        for key, cells in rows:
            table.add_row(*(literal(cell) for cell in cells), key=key)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)

    def _show(self) -> None:
        data = self.data
        if data is None:
            return
        tz = self.app.tz
        privacy = self.app.privacy

        def who(name, initials=None):
            return person(name, initials, privacy)

        def phone(number):
            return "" if privacy else number

        days = []
        for day in data.schedule:
            label = f"{day.day:%a} {day.day.day} {day.day:%b}"
            if day.closure and not day.sessions:
                days.append((f"day-{day.day}", (label, "", day.closure, "", "", "", "closed")))
            for index, row in enumerate(day.sessions):
                days.append((str(row.id), (label if index == 0 else "", hhmm(row.start, tz),
                                           who(row.patient_name, row.patient_initials),
                                           treatment_short(row.treatment_code), course_of(row.number, row.of),
                                           row.chair_name or "-", status_word(row.status))))
        self._fill("days", days)
        self._fill("calls", [(str(call.session_id), (hhmm(call.start, tz), who(call.patient_name),
                                                     phone(call.phone), treatment_short(call.treatment_code),
                                                     "yes" if call.confirmed else "NO"))
                             for call in data.calls])
        self._fill("pickups", [(str(call.session_id), (hhmm(call.ready_by, tz), who(call.patient_name),
                                                       call.chair_name or "-", who(call.escort_name),
                                                       phone(call.escort_phone), status_word(call.status)))
                               for call in data.pickups])
        self._fill("forms", [(str(form.session_id), (f"{form.due_on:%a %d %b}", who(form.patient_name),
                                                     f"{form.session_date:%d %b}",
                                                     treatment_short(form.treatment_code),
                                                     str(form.monitoring_minutes or "-"),
                                                     "OVERDUE" if form.overdue else ""))
                             for form in data.forms])
        self._fill("behind", [(str(course.id), (f"{course.next_due:%a %d %b}" if course.next_due else "-",
                                                who(course.patient_name), course.protocol_code,
                                                course.behind_reason))
                              for course in data.behind])
        self._fill("unbooked", [(str(course.id), (f"{course.next_due:%a %d %b}" if course.next_due else "-",
                                                  who(course.patient_name), phone(course.patient_phone),
                                                  course.protocol_code))
                                for course in data.unbooked])
        unconfirmed = sum(1 for call in data.calls if not call.confirmed)
        title = (f"Upcoming · {DAYS_AHEAD} days · {unconfirmed} to confirm · {len(data.pickups)} pick-ups · "
                 f"{len(data.forms)} forms owed · {len(data.behind)} behind · {len(data.unbooked)} unbooked")
        self.query_one("#upcoming-title", Static).update(literal(title))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.data is None:
            return
        if event.data_table.id == "forms":
            self._ask_to_file(event.row_key.value)
        elif event.data_table.id == "calls":
            self._confirm_call(event.row_key.value)

    def _confirm_call(self, key: str) -> None:
        call = next((c for c in self.data.calls if str(c.session_id) == key), None)
        if call is None:
            return
        if call.confirmed:
            self.notify("already confirmed")
            return
        settings, actor, now = self.app.settings, self.app.actor, self.app.clock.now()
        self.write("confirm", lambda: lifecycle.advance(settings, call.session_id, to="confirmed", actor=actor,
                                                        now=now, version=call.version), call.session_id)

    def action_file_form(self) -> None:
        """f: on the Forms tab, file the highlighted form; elsewhere, go to the Forms tab."""
        tabs = self.query_one("#upcoming-tabs", TabbedContent)
        if tabs.active != "tab-forms":
            self.show_tab("forms")
            return
        table = self.query_one("#forms", DataTable)
        if self.data is None or not table.row_count:
            self.notify("no REMS forms owed", timeout=3)
            return
        self._ask_to_file(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _ask_to_file(self, key: str) -> None:
        form = next((f for f in self.data.forms if str(f.session_id) == key), None)
        if form is None:
            return
        tz = self.app.tz
        who = person(form.patient_name, None, self.app.privacy)
        ended = (f"monitoring ended {hhmm(form.monitoring_end_at, tz)} ({form.monitoring_minutes} min)"
                 if form.monitoring_end_at else "still in monitoring")
        detail = (f"{treatment_short(form.treatment_code)} on {form.session_date:%a %d %b}: first device "
                  f"{hhmm(form.first_device_at, tz)}, {ended}; due {form.due_on:%a %d %b}")

        def answered(yes: bool | None) -> None:
            if yes:
                settings, actor, now = self.app.settings, self.app.actor, self.app.clock.now()
                self.write("file_form", lambda: file_form(settings, form.session_id, actor=actor, now=now),
                           form.session_id)

        self.app.push_screen(ConfirmDialog(f"Mark the REMS form for {who} filed?", detail=detail,
                                           yes="Filed", no="Not yet"), answered)

    def on_desk_action_done(self, message: DeskActionDone) -> None:
        self.notify(DONE_WORDS.get(message.verb, "done"), timeout=3)
        self.action_reload()

    def action_back(self) -> None:
        self.dismiss()
