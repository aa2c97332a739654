"""One patient: details (editable, version-checked), consent and REMS, courses, PHQ-9 trend.

Saving sends only the fields the desk changed, with the version the screen loaded; if
another desk saved in between, the refusal names who and when and the screen reloads.
"""
from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Sparkline, Static, TabbedContent, TabPane

from keta_tui.clinic.courses import patient_courses
from keta_tui.clinic.outcomes import phq9_trend
from keta_tui.clinic.patients import get_patient, update_patient

from ..formatting import literal, literal_lines, person, status_word
from ..messages import DataLoaded, DeskActionDone, DeskActionFailed
from ..widgets.text_field import TextField
from ..widgets.yes_box import YesBox
from ..workers import ClinicCalls

# (field id on PatientDetail, label, max length)
TEXT_FIELDS = (
    ("first_name", "First name", 200),
    ("last_name", "Last name", 200),
    ("dob", "Date of birth", 10),
    ("phone", "Phone", 40),
    ("email", "Email", 200),
    ("escort_name", "Escort name", 200),
    ("escort_phone", "Escort phone", 40),
    ("consent_expires_on", "Consent until", 10),
    ("phq9_baseline", "PHQ-9 baseline", 2),
    ("notes", "Notes", 10_000),
)


def field_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def consent_words(detail, today: dt.date, warning_days: int) -> str:
    expires = detail.consent_expires_on
    if expires is None:
        return "no consent on file"
    if expires < today:
        return f"consent EXPIRED {expires:%Y-%m-%d}"
    if (expires - today).days <= warning_days:
        return f"consent expiring {expires:%Y-%m-%d}"
    return f"consent until {expires:%Y-%m-%d}"


def course_line(course) -> str:
    next_part = ""
    if course.next_booked is not None:
        next_part = f"next booked {course.next_booked:%a %d %b %H:%M}"
    elif course.next_due is not None:
        next_part = f"next due {course.next_due:%a %d %b}, NOT BOOKED"
    behind = f" · BEHIND: {course.behind_reason}" if course.behind else ""
    return (f"{course.protocol_name} · {course.status} · {course.done} done, {course.booked} booked, "
            f"{course.remaining_unbooked} to plan, {course.missed} missed of {course.planned_sessions}"
            f"{' · ' + next_part if next_part else ''}{behind}")


class PatientScreen(ClinicCalls, Screen):
    BINDINGS = [Binding("escape", "back", "Back"),
                Binding("b", "book", "Book"),
                Binding("P", "plan_course", "Plan course"),
                Binding("f2", "save", "Save")]

    def __init__(self, patient_id: int) -> None:
        super().__init__()
        self.patient_id = patient_id
        self.detail = None
        self.courses: list = []

    def compose(self) -> ComposeResult:
        yield Static("Patient", id="patient-title", classes="screen-title")
        yield Static("", id="patient-status")
        with TabbedContent(id="patient-tabs"):
            with TabPane("Details", id="tab-details"):
                with VerticalScroll(id="patient-form"):
                    for name, label, length in TEXT_FIELDS:
                        with Horizontal(classes="form-row"):
                            yield Label(label)
                            yield TextField(id=name, compact=True, max_length=length)
                    with Horizontal(classes="form-row"):
                        yield Label("REMS")
                        yield YesBox("enrolled in the REMS programme", id="rems_enrolled", compact=True)
                    yield Static("enter in a field (or F2) saves the changed fields", classes="hint")
            with TabPane("Courses", id="tab-courses"):
                yield Static("", id="courses-summary")
                yield DataTable(id="course-sessions", cursor_type="row")
            with TabPane("PHQ-9", id="tab-phq9"):
                yield Static("", id="phq9-words")
                yield Sparkline([], id="phq9-sparkline")
                yield Static("", id="phq9-points")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#course-sessions", DataTable)
        for key, label in (("n", "n/N"), ("when", "When"), ("phase", "Phase"), ("chair", "Chair"),
                           ("status", "Status")):
            table.add_column(label, key=key)
        self.watch(self.app, "privacy", self._privacy_changed, init=False)
        self.reload()

    def reload(self) -> None:
        settings, patient_id, now = self.app.settings, self.patient_id, self.app.clock.now()
        self.read("patient", lambda: get_patient(patient_id))
        self.read("courses", lambda: patient_courses(settings, patient_id, now=now))
        self.read("phq9", lambda: phq9_trend(settings, patient_id))

    def on_screen_resume(self) -> None:
        if self.detail is not None:
            self.reload()  # back from booking or planning: show what changed

    # --- showing ---------------------------------------------------------------------------

    def on_data_loaded(self, message: DataLoaded) -> None:
        if message.what == "patient":
            self.detail = message.result
            self._show_detail()
        elif message.what == "courses":
            self.courses = list(message.result)
            self._show_courses()
        elif message.what == "phq9":
            self._show_phq9(message.result)

    def _privacy_changed(self, privacy: bool) -> None:
        self._show_detail()
        self._show_courses()

    def _show_detail(self) -> None:
        detail = self.detail
        if detail is None:
            return
        privacy = self.app.privacy
        name = person(detail.name, detail.initials, privacy)
        dob = "" if privacy or detail.dob is None else f" · born {detail.dob:%Y-%m-%d}"
        self.query_one("#patient-title", Static).update(literal(f"Patient · {name} · {detail.mrn}{dob}"))
        today = self.app.today()
        rems = "REMS enrolled" if detail.rems_enrolled else "not REMS enrolled"
        escort = "escort on file" if detail.escort_name else "NO ESCORT on file"
        status = " · ".join((consent_words(detail, today, self.app.settings.rules.consent_warning_days), rems,
                             escort))
        self.query_one("#patient-status", Static).update(literal(status))
        form = self.query_one("#patient-form")
        form.display = not privacy
        for name, _, _ in TEXT_FIELDS:
            self.query_one(f"#{name}", TextField).start_with(field_text(getattr(detail, name)))
        self.query_one("#rems_enrolled", YesBox).value = bool(detail.rems_enrolled)

    def _show_courses(self) -> None:
        summary = self.query_one("#courses-summary", Static)
        table = self.query_one("#course-sessions", DataTable)
        table.clear()
        if not self.courses:
            summary.update("no course yet · P plans one from a protocol · b books a single session")
            return
        summary.update(literal_lines("\n".join(course_line(course) for course in self.courses[:3])))
        course = self.courses[0]
        for row in course.sessions:
            table.add_row(f"{row.number or '+'}/{course.planned_sessions}", f"{row.start:%a %d %b %H:%M}",
                          row.phase, getattr(row, "chair_name", None) or "-", status_word(row.status),
                          key=str(row.id))

    def _show_phq9(self, trend) -> None:
        self.query_one("#phq9-words", Static).update(literal(trend.words()))
        self.query_one("#phq9-sparkline", Sparkline).data = trend.scores
        points = "  ".join(f"{point.day:%d %b}: {point.score}" for point in trend.points[-10:])
        self.query_one("#phq9-points", Static).update(literal(points or "scores are taken at check-in"))

    # --- editing ---------------------------------------------------------------------------

    def changes(self) -> dict:
        if self.detail is None:
            return {}
        changed = {name: field.value.strip() for name, field in
                   ((name, self.query_one(f"#{name}", TextField)) for name, _, _ in TEXT_FIELDS)
                   if field.edited}
        rems = self.query_one("#rems_enrolled", YesBox).value
        if rems != bool(self.detail.rems_enrolled):
            changed["rems_enrolled"] = rems
        for name in ("dob", "consent_expires_on", "phq9_baseline"):
            if name in changed and changed[name] == "":
                changed[name] = None
        return changed

    def has_unsaved_input(self) -> bool:
        return bool(self.changes())

    def on_input_submitted(self, event: TextField.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        changes = self.changes()
        if not changes:
            self.notify("nothing changed")
            return
        patient_id, version, actor, now = self.patient_id, self.detail.version, self.app.actor, self.app.clock.now()
        self.write("save", lambda: update_patient(patient_id, version=version, changes=changes, actor=actor,
                                                  now=now))

    def on_desk_action_done(self, message: DeskActionDone) -> None:
        self.detail = message.result
        self._show_detail()
        self.notify("saved", timeout=3)

    def on_desk_action_failed(self, message: DeskActionFailed) -> None:
        self.notify(message.text, severity=message.severity, timeout=10)
        if getattr(message.error, "reason", "") == "stale":
            self.reload()  # show what the other desk saved; the desk's typing is lost on purpose

    # --- moving on -------------------------------------------------------------------------

    def action_book(self) -> None:
        from .book import BookScreen

        if self.detail is None:
            return
        course = self.courses[0] if self.courses else None
        self.app.push_screen(BookScreen(patient_id=self.patient_id, patient_name=self.detail.name,
                                        patient_initials=self.detail.initials,
                                        treatment_code=course.treatment_code if course else None,
                                        after=course.next_due if course else None))

    def action_plan_course(self) -> None:
        from .course_plan import CoursePlanScreen

        if self.detail is not None:
            self.app.push_screen(CoursePlanScreen(patient_id=self.patient_id, patient_name=self.detail.name,
                                                  patient_initials=self.detail.initials))

    def action_back(self) -> None:
        self.dismiss()
