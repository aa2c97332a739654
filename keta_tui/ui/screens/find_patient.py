"""Find a patient as you type: name (any word order), date of birth, phone digits or MRN.

Each keystroke starts a search worker; ``exclusive`` cancels the one before, so only the
latest query's results are shown. Dismisses with the chosen PatientSummary (or None).
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from keta_tui.clinic.patients import find_patients

from ..formatting import literal, person
from ..messages import DataLoaded
from ..widgets.text_field import TextField
from ..workers import ClinicCalls

RESULT_LIMIT = 20


def patient_line(patient, privacy: bool) -> str:
    dob = f"{patient.dob:%Y-%m-%d}" if patient.dob else "no DOB"
    phone = "" if privacy else patient.phone
    return "  ".join(part for part in (person(patient.name, patient.initials, privacy), dob, phone, patient.mrn)
                     if part)


class FindPatientScreen(ClinicCalls, ModalScreen):
    BINDINGS = [Binding("escape", "back", "Back", show=False),
                Binding("down", "to_results", "Results", show=False)]

    def __init__(self, title: str = "Find patient") -> None:
        super().__init__()
        self.title_text = title
        self.results: list = []
        self.query_text = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="find-dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield TextField(placeholder="name, date of birth (YYYY-MM-DD), phone or MRN", id="find-query",
                            max_length=100, compact=True)
            yield OptionList(id="find-results")
            yield Static("type to search · down/up to pick · enter opens · esc back",
                         id="find-hint", classes="dialog-detail")

    def on_mount(self) -> None:
        self.query_one("#find-query", TextField).focus()

    def on_input_changed(self, event: TextField.Changed) -> None:
        event.stop()
        query = event.value.strip()
        self.query_text = query
        if not query:
            self._show([], "")
            return
        self.read("patients", lambda: (query, find_patients(query, RESULT_LIMIT)))

    def on_data_loaded(self, message: DataLoaded) -> None:
        if message.what != "patients":
            return
        query, patients = message.result
        if query == self.query_text:
            self._show(patients, query)

    def _show(self, patients, query: str) -> None:
        self.results = list(patients)
        options = self.query_one("#find-results", OptionList)
        options.clear_options()
        privacy = self.app.privacy
        options.add_options([Option(literal(patient_line(p, privacy)), id=str(p.id)) for p in self.results])
        if self.results:
            options.highlighted = 0
        hint = self.query_one("#find-hint", Static)
        if query and not self.results:
            hint.update(literal(f"no patient matches {query!r}"))
        else:
            count = f"{len(self.results)} found · " if query else ""
            hint.update(count + "down/up to pick · enter opens · esc back")

    def action_to_results(self) -> None:
        options = self.query_one("#find-results", OptionList)
        if self.results:
            options.focus()

    def on_input_submitted(self, event: TextField.Submitted) -> None:
        event.stop()
        options = self.query_one("#find-results", OptionList)
        index = options.highlighted if options.highlighted is not None else 0
        if self.results:
            self.dismiss(self.results[index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.results[event.option_index])

    def action_back(self) -> None:
        self.dismiss(None)
