"""Book (or reschedule) one session: treatment, then free slots; or a typed date and time.

The slots list comes from ``availability.free_slots``; choosing one asks once, then books
in a worker. A refused booking says why and lists the nearest free slots instead.
Dismisses with the BookedSession, or None.
"""
from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from keta_tui.clinic.availability import free_slots
from keta_tui.clinic.booking import book_session, move_session, reschedule
from keta_tui.clinic.clock import parse_clock_time, parse_date, parse_local_datetime
from keta_tui.clinic.errors import BadInput, Refused

from ..formatting import hhmm, literal, person
from ..messages import DataLoaded, DeskActionDone, DeskActionFailed
from ..widgets.text_field import TextField
from ..workers import ClinicCalls
from .confirm_dialog import ConfirmDialog

SLOT_COUNT = 8


def slot_line(slot) -> str:
    return f"{slot.start:%a} {slot.start.day:>2} {slot.start:%b}  {slot.start:%H:%M}  {slot.chair_name}" \
           f"  (in chair until {slot.end:%H:%M})"


class BookScreen(ClinicCalls, Screen):
    BINDINGS = [Binding("escape", "back", "Back"),
                Binding("f5", "find_slots", "Find slots")]

    def __init__(self, *, patient_id: int, patient_name: str, patient_initials: str = "",
                 treatment_code: str | None = None, after: dt.date | None = None,
                 around: dt.time | None = None, replacing=None) -> None:
        super().__init__()
        self.patient_id = patient_id
        self.patient_name = patient_name
        self.patient_initials = patient_initials
        self.treatment_code = treatment_code
        self.after = after
        self.around = around  # the usual time of day, so slots near it come first
        self.replacing = replacing  # a board SessionRow when rescheduling
        self.slots: list = []
        self.booked = None

    def compose(self) -> ComposeResult:
        settings = self.app.settings
        who = person(self.patient_name, self.patient_initials, self.app.privacy)
        if self.replacing is not None:
            title = f"Reschedule · {who} · now {self.replacing.start:%a %d %b} {hhmm(self.replacing.start)}"
        else:
            title = f"Book · {who}"
        today = self.app.today()
        start = max(self.after or today, today)
        treatments = [(spec.name, code) for code, spec in settings.treatments.items()]
        default = self.treatment_code if self.treatment_code in settings.treatments else treatments[0][1]
        yield Static(literal(title), classes="screen-title")
        with Vertical(id="book-form"):
            with Horizontal(classes="form-row"):
                yield Label("Treatment")
                yield Select(treatments, value=default, allow_blank=False, id="treatment", compact=True,
                             disabled=self.replacing is not None)
            with Horizontal(classes="form-row"):
                yield Label("From date")
                yield TextField(id="from-date", compact=True, max_length=20, placeholder="YYYY-MM-DD")
                yield Label("around", classes="inline-label")
                yield TextField(id="around", compact=True, max_length=5, placeholder="HH:MM")
            with Horizontal(classes="form-row"):
                yield Label("Or exactly")
                yield TextField(id="exact", compact=True, max_length=20, placeholder="YYYY-MM-DD HH:MM")
            yield Static("Free slots (enter on a date field searches, enter on a slot books it):",
                         id="slots-title", classes="hint")
            yield OptionList(id="slots")
            yield Static("", id="book-message")
        yield Footer()
        self._start_date = start

    def on_mount(self) -> None:
        self.query_one("#from-date", TextField).start_with(f"{self._start_date:%Y-%m-%d}")
        self.query_one("#around", TextField).start_with(f"{self.around:%H:%M}" if self.around else "")
        self.query_one("#exact", TextField).start_with("")
        self.action_find_slots()
        self.query_one("#slots", OptionList).focus()

    def has_unsaved_input(self) -> bool:
        return self.booked is None and any(field.edited for field in self.query(TextField))

    @property
    def treatment(self) -> str:
        return self.query_one("#treatment", Select).value

    # --- finding slots -------------------------------------------------------------------

    def action_find_slots(self) -> None:
        today = self.app.today()
        try:
            start = parse_date(self.query_one("#from-date", TextField).value, today)
            around_text = self.query_one("#around", TextField).value.strip()
            around = parse_clock_time(around_text) if around_text else None
        except BadInput as error:
            self.notify(error.message, severity="warning")
            return
        settings, code, now, patient_id = self.app.settings, self.treatment, self.app.clock.now(), self.patient_id
        self.query_one("#book-message", Static).update("searching…")
        self.read("slots", lambda: free_slots(settings, code, now=now, count=SLOT_COUNT, start=start,
                                              around=around, patient_id=patient_id))

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if self.is_mounted:
            self.action_find_slots()

    def on_data_loaded(self, message: DataLoaded) -> None:
        if message.what == "slots":
            self._show_slots(message.result, "" if message.result else
                             "no free slot in the next weeks for this treatment; try another date")

    def _show_slots(self, slots, note: str, title: str | None = None) -> None:
        self.slots = list(slots)
        options = self.query_one("#slots", OptionList)
        options.clear_options()
        options.add_options([Option(slot_line(slot)) for slot in self.slots])
        if self.slots:
            options.highlighted = 0
        if title is not None:
            self.query_one("#slots-title", Static).update(literal(title))
        self.query_one("#book-message", Static).update(literal(note))

    # --- booking -------------------------------------------------------------------------

    def on_input_submitted(self, event: TextField.Submitted) -> None:
        event.stop()
        if event.input.id == "exact":
            self._book_exact(event.value)
        else:
            self.action_find_slots()

    def _book_exact(self, text: str) -> None:
        try:
            start_local = parse_local_datetime(text, self.app.today())
        except BadInput as error:
            self.notify(error.message, severity="warning")
            return
        self._confirm(start_local.replace(tzinfo=self.app.tz), None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        slot = self.slots[event.option_index]
        self._confirm(slot.start, slot.chair_name)

    def _confirm(self, start: dt.datetime, chair_name: str | None) -> None:
        who = person(self.patient_name, self.patient_initials, self.app.privacy)
        verb = "Move" if self.replacing is not None else "Book"
        where = f" in {chair_name}" if chair_name else " (first free chair)"
        question = f"{verb} {who}: {self.treatment} on {start:%a} {start.day} {start:%b} at {start:%H:%M}{where}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._book(start.replace(tzinfo=None), chair_name)

        self.app.push_screen(ConfirmDialog(question, yes=verb), answered)

    def _book(self, start_local: dt.datetime, chair_name: str | None) -> None:
        settings, actor, now = self.app.settings, self.app.actor, self.app.clock.now()
        if self.replacing is not None and self.replacing.status == "arrived":
            # The patient is here: move the same row (keeping the check-in) rather than replace it.
            old = self.replacing
            self.write("move", lambda: move_session(settings, old.id, start_local=start_local,
                                                    chair_name=chair_name, actor=actor, now=now,
                                                    version=old.version), old.id)
        elif self.replacing is not None:
            old = self.replacing
            self.write("reschedule", lambda: reschedule(settings, old.id, start_local=start_local,
                                                        chair_name=chair_name, actor=actor, now=now,
                                                        version=old.version), old.id)
        else:
            code, patient_id = self.treatment, self.patient_id
            self.write("book", lambda: book_session(settings, patient_id=patient_id, treatment_code=code,
                                                    start_local=start_local, chair_name=chair_name,
                                                    actor=actor, now=now, suggest=SLOT_COUNT))

    def on_desk_action_done(self, message: DeskActionDone) -> None:
        booked = message.result
        self.booked = booked
        verb = "moved to" if message.verb in ("reschedule", "move") else "booked"
        self.notify(f"{verb} {booked.start:%a} {booked.start.day} {booked.start:%b} {booked.start:%H:%M} "
                    f"in {booked.chair_name}", timeout=5)
        self.dismiss(booked)

    def on_desk_action_failed(self, message: DeskActionFailed) -> None:
        error = message.error
        self.notify(message.text, severity=message.severity, timeout=8)
        suggestions = getattr(error, "suggestions", ()) if isinstance(error, Refused) else ()
        slots = [slot for slot in suggestions if hasattr(slot, "chair_name")]
        if slots:
            self._show_slots(slots, message.text, title="Nearest free slots instead (enter books one):")
            self.query_one("#slots", OptionList).focus()
        else:
            self.query_one("#book-message", Static).update(literal(message.text))

    def action_back(self) -> None:
        self.dismiss(self.booked)
