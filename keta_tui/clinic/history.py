"""The trail of a session or a patient: audit entries and status changes, in time order."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from keta_tui.db.models import AuditEntry, Patient, Session, StatusChange

from .clock import to_local
from .errors import NotFound


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime  # aware, clinic zone
    actor: str
    action: str
    changes: dict[str, tuple[Any, Any]] = field(hash=False)  # field -> (before, after)
    entity: str = ""  # "session" | "patient" | ...
    entity_id: int | None = None


def _changes(before_json: str, after_json: str) -> dict[str, tuple[Any, Any]]:
    before, after = json.loads(before_json or "{}"), json.loads(after_json or "{}")
    return {name: (before.get(name), after.get(name)) for name in sorted(set(before) | set(after))}


def _trail(audit_query, status_query, tz: ZoneInfo) -> list[HistoryEntry]:
    entries = [HistoryEntry(to_local(row.at, tz), row.actor, row.action,
                            _changes(row.before_json, row.after_json), row.entity, row.entity_id)
               for row in audit_query.order_by(AuditEntry.at, AuditEntry.id)]
    # A service that audits its status step too already tells it; keep one line per step.
    told = {(e.entity_id, e.actor, e.at, e.changes["status"]) for e in entries
            if e.entity == "session" and "status" in e.changes}
    for row in status_query.order_by(StatusChange.at, StatusChange.id):
        at = to_local(row.at, tz)
        step = (row.from_status, row.to_status)
        if (row.session_id, row.actor, at, step) in told:
            continue
        action = "status (undone)" if row.undone else "status"
        entries.append(HistoryEntry(at, row.actor, action, {"status": step}, "session", row.session_id))
    # Stable sort: same-second entries keep audit-then-status order.
    return sorted(entries, key=lambda e: e.at)


def session_history(session_id: int, tz: ZoneInfo) -> list[HistoryEntry]:
    """Everything that happened to one session, oldest first."""
    if not Session.select(Session.id).where(Session.id == session_id).exists():
        raise NotFound(f"no session {session_id}")
    audits = AuditEntry.select().where(AuditEntry.entity == "session", AuditEntry.entity_id == session_id)
    steps = StatusChange.select().where(StatusChange.session == session_id)
    return _trail(audits, steps, tz)


def patient_history(patient_id: int, tz: ZoneInfo) -> list[HistoryEntry]:
    """The patient's record changes and every change to their sessions, oldest first."""
    if not Patient.select(Patient.id).where(Patient.id == patient_id).exists():
        raise NotFound(f"no patient with id {patient_id}")
    session_ids = Session.select(Session.id).where(Session.patient == patient_id)
    audits = AuditEntry.select().where(
        ((AuditEntry.entity == "patient") & (AuditEntry.entity_id == patient_id))
        | ((AuditEntry.entity == "session") & AuditEntry.entity_id.in_(session_ids)))
    steps = StatusChange.select().where(StatusChange.session.in_(session_ids))
    return _trail(audits, steps, tz)
