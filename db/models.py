"""keta's tables.

Conventions every caller relies on:
- every instant is a naive UTC ``datetime`` with whole seconds (column suffix ``_at``);
  dates (``DateField``) are clinic wall-clock dates;
- a session is one row, never a rule expanded at read time;
- rows that desks edit carry ``version``; an update must match it (see keta_tui.clinic);
- JSON lives in ``TextField`` columns named ``*_json`` and is read through
  ``keta_tui.clinic``, never parsed by the UI.

The schema itself is created by ``db/migrations``; ``tests`` prove both agree.
"""
from __future__ import annotations

import datetime as _dt

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from .base import BaseModel

# Session statuses that hold a chair and a patient's time. A discharged session
# happened, so it still occupies its slot in the history.
ACTIVE_STATUSES = (
    "scheduled",
    "confirmed",
    "arrived",
    "seated",
    "dosing",
    "monitoring",
    "ready_to_leave",
    "discharged",
)
CLOSED_STATUSES = (
    "cancelled",
    "no_show",
    "deferred",
    "left_without_treatment",
    "entered_in_error",
    "rescheduled",
)
SESSION_STATUSES = ACTIVE_STATUSES + CLOSED_STATUSES
COURSE_STATUSES = ("planned", "induction", "maintenance", "paused", "completed", "discontinued")


def utcnow() -> _dt.datetime:
    """Now as naive UTC with whole seconds, the form every ``*_at`` column holds."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None, microsecond=0)


class Setting(BaseModel):
    """Key/value settings shared by every desk (clinic config JSON, demo marker...)."""

    key = CharField(primary_key=True, max_length=64)
    value = TextField()
    updated_at = DateTimeField(default=utcnow)


class ChangeMarker(BaseModel):
    """One row whose counter every write transaction bumps; open boards poll it cheaply."""

    id = IntegerField(primary_key=True)
    counter = IntegerField(default=0)
    changed_at = DateTimeField(null=True)


class Patient(BaseModel):
    id = AutoField()
    mrn = CharField(unique=True, max_length=32)
    first_name = CharField(max_length=200)
    last_name = CharField(max_length=200)
    # Lower-cased, accent-folded "last first" used for type-ahead search.
    search_name = CharField(max_length=400, index=True)
    dob = DateField(null=True, index=True)
    phone = CharField(max_length=40, default="")
    # Digits only, so "(555) 010-1234" and "5550101234" match alike.
    phone_digits = CharField(max_length=40, default="", index=True)
    # The digits reversed, so "ends with 5550143" is an index range too.
    phone_reversed = CharField(max_length=40, default="", index=True)
    email = CharField(max_length=200, default="")
    escort_name = CharField(max_length=200, default="")
    escort_phone = CharField(max_length=40, default="")
    consent_expires_on = DateField(null=True)
    rems_enrolled = BooleanField(default=False)
    # PHQ-9 at the start of the current course, for response/remission.
    phq9_baseline = IntegerField(null=True)
    notes = TextField(default="")
    active = BooleanField(default=True)
    version = IntegerField(default=1)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=100, default="")


class Chair(BaseModel):
    id = AutoField()
    name = CharField(unique=True, max_length=60)
    # Comma-separated routes the chair can host: "iv", "nasal".
    routes = CharField(max_length=60, default="iv,nasal")
    position = IntegerField(default=0)
    out_of_service_reason = CharField(max_length=200, null=True)
    retired = BooleanField(default=False)
    version = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=100, default="")


class Treatment(BaseModel):
    id = AutoField()
    code = CharField(unique=True, max_length=60)
    name = CharField(max_length=200)
    route = CharField(max_length=20)  # "iv" or "nasal"
    dosing_minutes = IntegerField()
    monitoring_minutes = IntegerField()
    turnover_minutes = IntegerField()
    # The check-in gate as configured: {"escort": "required", "phq9": "optional", ...}
    gate_json = TextField(default="{}")
    retired = BooleanField(default=False)


class Protocol(BaseModel):
    id = AutoField()
    code = CharField(unique=True, max_length=60)
    name = CharField(max_length=200)
    treatment = ForeignKeyField(Treatment, backref="protocols", on_delete="RESTRICT")
    # [{"name": "induction", "sessions": 6, "weekdays": ["mon","wed","fri"], "every_weeks": 1}, ...]
    phases_json = TextField()
    retired = BooleanField(default=False)


class Course(BaseModel):
    id = AutoField()
    patient = ForeignKeyField(Patient, backref="courses", on_delete="RESTRICT")
    protocol = ForeignKeyField(Protocol, backref="courses", on_delete="RESTRICT")
    treatment = ForeignKeyField(Treatment, backref="courses", on_delete="RESTRICT")
    status = CharField(max_length=20, default="planned", index=True)
    start_on = DateField()
    preferred_time = CharField(max_length=5, default="")  # "HH:MM" clinic wall clock
    weekdays = CharField(max_length=40, default="")  # "mon,wed,fri" override, or ""
    planned_sessions = IntegerField()
    notes = TextField(default="")
    version = IntegerField(default=1)
    created_at = DateTimeField(default=utcnow)
    created_by = CharField(max_length=100, default="")
    updated_at = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=100, default="")


class Session(BaseModel):
    """One booked treatment session: a patient in a chair for a span of time."""

    id = AutoField()
    patient = ForeignKeyField(Patient, backref="sessions", on_delete="RESTRICT")
    treatment = ForeignKeyField(Treatment, backref="sessions", on_delete="RESTRICT")
    chair = ForeignKeyField(Chair, backref="sessions", null=True, on_delete="RESTRICT")
    course = ForeignKeyField(Course, backref="sessions", null=True, on_delete="RESTRICT")
    number = IntegerField(null=True)  # n in "n of N" within the course
    phase = CharField(max_length=40, default="")  # protocol phase, or "booster"
    kind = CharField(max_length=20, default="course")  # course | booster | single | walk_in
    status = CharField(max_length=30, default="scheduled")
    # Planned span: start, end of minimum monitoring, and the chair's end after turnover.
    start_at = DateTimeField()
    end_at = DateTimeField()
    busy_until = DateTimeField()
    # Timestamps of each lifecycle step (UTC), null until reached.
    confirmed_at = DateTimeField(null=True)
    arrived_at = DateTimeField(null=True)
    seated_at = DateTimeField(null=True)
    dosing_at = DateTimeField(null=True)
    monitoring_at = DateTimeField(null=True)
    ready_at = DateTimeField(null=True)
    discharged_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)  # cancelled / no-show / deferred / ... time
    late_cancel = BooleanField(default=False)
    close_reason = TextField(default="")
    # Check-in gate answers as JSON, plus the values the board and forms read often.
    escort_name = CharField(max_length=200, default="")
    escort_phone = CharField(max_length=40, default="")
    gate_json = TextField(default="{}")
    bp_systolic = IntegerField(null=True)
    bp_diastolic = IntegerField(null=True)
    phq9 = IntegerField(null=True)
    notes = TextField(default="")
    # Reschedule links: this session was closed and replaced by another.
    replaced_by = ForeignKeyField("self", null=True, backref="replaces", on_delete="SET NULL")
    # REMS patient monitoring form (esketamine): due date and filing.
    form_due_on = DateField(null=True)
    form_filed_at = DateTimeField(null=True)
    form_filed_by = CharField(max_length=100, default="")
    version = IntegerField(default=1)
    created_at = DateTimeField(default=utcnow)
    created_by = CharField(max_length=100, default="")
    updated_at = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=100, default="")

    class Meta:
        indexes = (
            (("start_at",), False),
            (("chair", "start_at"), False),
            # The chair overlap guard reads only sessions ending after a new start.
            (("chair", "busy_until"), False),
            (("patient", "start_at"), False),
            (("course", "number"), False),
            (("status", "start_at"), False),
            (("form_due_on",), False),
        )


class StatusChange(BaseModel):
    """Each lifecycle step, so it can be shown and the last one undone."""

    id = AutoField()
    session = ForeignKeyField(Session, backref="status_changes", on_delete="CASCADE")
    from_status = CharField(max_length=30)
    to_status = CharField(max_length=30)
    at = DateTimeField(default=utcnow)
    actor = CharField(max_length=100, default="")
    undone = BooleanField(default=False)

    class Meta:
        indexes = ((("session", "at"), False),)


class AuditEntry(BaseModel):
    """Every change: who, when, what, and the values before and after (JSON)."""

    id = AutoField()
    at = DateTimeField(default=utcnow)
    actor = CharField(max_length=100)
    action = CharField(max_length=60)
    entity = CharField(max_length=30)  # session | patient | course | chair | settings
    entity_id = IntegerField(null=True)
    before_json = TextField(default="{}")
    after_json = TextField(default="{}")

    class Meta:
        indexes = ((("entity", "entity_id"), False), (("at",), False))


ALL_MODELS = [
    Setting,
    ChangeMarker,
    Patient,
    Chair,
    Treatment,
    Protocol,
    Course,
    Session,
    StatusChange,
    AuditEntry,
]
