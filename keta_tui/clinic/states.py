"""The session lifecycle as data: which steps exist and which follow which.

Every status change in keta follows an edge of :data:`TRANSITIONS`; tests check it.
"""
from __future__ import annotations

from keta_tui.db.models import ACTIVE_STATUSES, CLOSED_STATUSES, SESSION_STATUSES

__all__ = ["ACTIVE_STATUSES", "CLOSED_STATUSES", "SESSION_STATUSES", "TRANSITIONS", "NEXT_STEP",
           "IN_CHAIR", "allowed_after", "is_allowed", "LABELS"]

# The desk's forward path; `advance` with no target takes this step.
NEXT_STEP = {
    "scheduled": "confirmed",
    "confirmed": "arrived",
    "arrived": "seated",
    "seated": "dosing",
    "dosing": "monitoring",
    "monitoring": "ready_to_leave",
    "ready_to_leave": "discharged",
}

_BEFORE_CHAIR_EXITS = ("cancelled", "no_show", "rescheduled", "entered_in_error")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "scheduled": ("confirmed", "arrived") + _BEFORE_CHAIR_EXITS,
    "confirmed": ("arrived",) + _BEFORE_CHAIR_EXITS,
    # Arrived: the gate may fail (deferred) or the patient may leave before treatment.
    "arrived": ("seated", "deferred", "left_without_treatment", "cancelled", "rescheduled", "entered_in_error"),
    "seated": ("dosing", "deferred", "left_without_treatment", "entered_in_error"),
    "dosing": ("monitoring", "entered_in_error"),
    "monitoring": ("ready_to_leave", "entered_in_error"),
    "ready_to_leave": ("discharged", "entered_in_error"),
    "discharged": ("entered_in_error",),
    "cancelled": (),
    "no_show": (),
    "deferred": (),
    "left_without_treatment": (),
    "entered_in_error": (),
    "rescheduled": (),
}

# Statuses in which the patient is physically in the chair.
IN_CHAIR = ("seated", "dosing", "monitoring", "ready_to_leave")

LABELS = {
    "scheduled": "scheduled",
    "confirmed": "confirmed",
    "arrived": "arrived",
    "seated": "seated",
    "dosing": "dosing",
    "monitoring": "monitoring",
    "ready_to_leave": "ready to leave",
    "discharged": "discharged",
    "cancelled": "cancelled",
    "no_show": "no-show",
    "deferred": "deferred",
    "left_without_treatment": "left untreated",
    "entered_in_error": "in error",
    "rescheduled": "rescheduled",
}


def allowed_after(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def is_allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, ())
