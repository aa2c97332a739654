"""Check-in: the treatment's gate as a short form, pre-filled from the last visit.

Enter in any field (or the button) checks in. A failed required item records the
arrival, says what is missing in words, and offers deferral (d) with the problems as
the suggested reason; fixing the answers and checking in again is the other way on.
Dismisses with the StepResult of the check-in or deferral, or None.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Label, Static

from keta_tui.clinic import lifecycle
from keta_tui.clinic.gate import GateAnswers, check_in, gate_items, prefill

from ..formatting import hhmm, literal, literal_lines, person
from ..messages import DataLoaded, DeskActionDone, DeskActionFailed
from ..widgets.text_field import TextField
from ..widgets.yes_box import YesBox
from ..workers import ClinicCalls
from .reason_dialog import ReasonDialog

ITEM_WORDS = {
    "escort": "Escort",
    "fasting": "Fasting",
    "consent": "Consent",
    "rems": "REMS",
    "blood_pressure": "Blood pressure",
    "phq9": "PHQ-9",
}


def _number(text: str, what: str, low: int, high: int) -> int | None:
    """A typed number, or None when blank; ValueError with words when it cannot be one."""
    value = text.strip()
    if not value:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f"{what}: type a whole number from {low} to {high}")
    return int(value)


class CheckInScreen(ClinicCalls, Screen):
    BINDINGS = [Binding("escape", "back", "Back"),
                Binding("f2", "check_in", "Check in"),
                Binding("d", "defer", "Defer", show=False)]

    def __init__(self, row) -> None:
        super().__init__()
        self.row = row
        self.version = row.version
        self.items: list[tuple[str, str]] = []
        self.problems: list[str] = []
        self.result = None
        self._prefilled: dict | None = None

    def compose(self) -> ComposeResult:
        row = self.row
        self.items = gate_items(self.app.settings, row.treatment_code)
        levels = dict(self.items)
        who = person(row.patient_name, row.patient_initials, self.app.privacy)
        yield Static(literal(f"Check in · {hhmm(row.start, self.app.tz)} {who} · {row.treatment_name}"
                             f" · {row.chair_name or 'no chair'}"), classes="screen-title")
        with VerticalScroll(id="gate-form"):
            yield Static("Required items must be met before dosing. Tab moves, space ticks, enter or F2 checks in.",
                         classes="hint")
            if "escort" in levels:
                yield self._row("Escort name", TextField(id="escort_name", compact=True, max_length=200),
                                levels["escort"])
                yield self._row("Escort phone", TextField(id="escort_phone", compact=True, max_length=40), "")
            if "fasting" in levels:
                yield self._row("Fasting", YesBox("fasted as instructed", id="fasting", compact=True),
                                levels["fasting"])
            if "consent" in levels:
                yield self._row("Consent", YesBox("signed consent on file", id="consent_ok", compact=True),
                                levels["consent"])
            if "rems" in levels:
                yield self._row("REMS", YesBox("enrolled in the REMS programme", id="rems_enrolled",
                                                 compact=True), levels["rems"])
            if "blood_pressure" in levels:
                systolic, diastolic = self.app.settings.rules.bp_flag
                with Horizontal(classes="form-row"):
                    yield Label("Blood pressure")
                    yield TextField(id="bp_systolic", placeholder="sys", compact=True, max_length=3,
                                    classes="bp")
                    yield Static(" / ", classes="bp-slash")
                    yield TextField(id="bp_diastolic", placeholder="dia", compact=True, max_length=3,
                                    classes="bp")
                    yield Static(f"  {levels['blood_pressure']}, flagged above {systolic}/{diastolic}",
                                 classes="level")
            if "phq9" in levels:
                yield self._row("PHQ-9 (0-27)", TextField(id="phq9", compact=True, max_length=2, classes="bp"),
                                levels["phq9"])
            yield Static("", id="gate-result")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Check in", id="check-in", variant="primary", compact=True)
                yield Button("Defer (d)", id="defer", compact=True)
                yield Button("Back (esc)", id="back", compact=True)
        yield Footer()

    @staticmethod
    def _row(label: str, field, level: str) -> Horizontal:
        return Horizontal(Label(label), field, Static(f"  {level}" if level else "", classes="level"),
                          classes="form-row")

    def on_mount(self) -> None:
        settings, session_id = self.app.settings, self.row.id
        self.read("prefill", lambda: prefill(settings, session_id))

    # --- form values ---------------------------------------------------------------------

    def _fields(self) -> dict:
        values = {}
        for field in self.query(TextField):
            values[field.id] = field.value
        for box in self.query(YesBox):
            values[box.id] = box.value
        return values

    def on_data_loaded(self, message: DataLoaded) -> None:
        if message.what != "prefill":
            return
        answers: GateAnswers = message.result
        for field in self.query(TextField):
            value = getattr(answers, field.id, None)
            field.start_with("" if value is None else str(value))
        for box in self.query(YesBox):
            box.value = bool(getattr(answers, box.id, False))
        self._prefilled = self._fields()
        first = next(iter(self.query(TextField)), None) or next(iter(self.query(YesBox)), None)
        if first is not None:
            first.focus()

    def has_unsaved_input(self) -> bool:
        return self._prefilled is not None and self.result is None and self._fields() != self._prefilled

    def answers(self) -> GateAnswers:
        values = self._fields()
        levels = dict(self.items)
        return GateAnswers(
            escort_name=values.get("escort_name", "").strip(),
            escort_phone=values.get("escort_phone", "").strip(),
            fasting=values["fasting"] if "fasting" in levels else None,
            consent_ok=values["consent_ok"] if "consent" in levels else None,
            rems_enrolled=values["rems_enrolled"] if "rems" in levels else None,
            bp_systolic=_number(values.get("bp_systolic", ""), "systolic blood pressure", 40, 300),
            bp_diastolic=_number(values.get("bp_diastolic", ""), "diastolic blood pressure", 20, 200),
            phq9=_number(values.get("phq9", ""), "PHQ-9", 0, 27),
        )

    # --- actions -------------------------------------------------------------------------

    def on_input_submitted(self, event: TextField.Submitted) -> None:
        event.stop()
        self.action_check_in()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        {"check-in": self.action_check_in, "defer": self.action_defer, "back": self.action_back}[event.button.id]()

    def action_check_in(self) -> None:
        if self._prefilled is None:
            return  # still loading last visit's answers
        try:
            answers = self.answers()
        except ValueError as problem:
            self.notify(str(problem), severity="warning")
            return
        settings, actor, now = self.app.settings, self.app.actor, self.app.clock.now()
        session_id, version = self.row.id, self.version
        self.write("check_in", lambda: check_in(settings, session_id, answers, actor=actor, now=now,
                                                version=version), session_id)

    def on_desk_action_done(self, message: DeskActionDone) -> None:
        if message.verb == "defer":
            self.result = message.result
            self.notify("deferred: the session is closed and can be rebooked (b)", timeout=5)
            self.dismiss(message.result)
            return
        step, gate_result = message.result
        self.version = step.version
        if gate_result.passed:
            self.result = step
            self.notify(f"checked in: {person(self.row.patient_name, self.row.patient_initials, self.app.privacy)}"
                        " has arrived; a advances to seated", timeout=5)
            self.dismiss(step)
            return
        self.problems = gate_result.problems()
        self.last_step = step
        self._prefilled = self._fields()  # the answers are stored; only new typing is unsaved
        lines = [("✓ " if item.ok else "✗ ") + item.detail + ("" if item.ok or item.level == "required"
                                                             else " (optional)")
                 for item in gate_result.items]
        problems = "; ".join(gate_result.problems())
        text = "\n".join(lines) + (f"\nNot ready for dosing: {problems}. The arrival is recorded. "
                                   "Fix the answers and check in again, or defer (d).")
        result = self.query_one("#gate-result", Static)
        result.update(literal_lines(text))
        result.add_class("problem")
        self.query_one("#defer", Button).focus()

    def on_desk_action_failed(self, message: DeskActionFailed) -> None:
        self.notify(message.text, severity=message.severity, timeout=8)

    def action_defer(self) -> None:
        problems = tuple(self.problems)

        def reason_given(reason: str | None) -> None:
            if reason:
                settings, actor, now = self.app.settings, self.app.actor, self.app.clock.now()
                session_id, version = self.row.id, self.version
                self.write("defer", lambda: lifecycle.defer(settings, session_id, reason=reason, actor=actor,
                                                            now=now, version=version), session_id)

        self.app.push_screen(ReasonDialog("Defer this session: why?", confirm="Defer",
                                          suggestions=problems or ("gate not met", "patient unwell")),
                             reason_given)

    def action_back(self) -> None:
        # After a failed gate the arrival is recorded: the board must reload either way.
        self.dismiss(self.result or getattr(self, "last_step", None))
