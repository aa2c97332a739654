"""Overlap guards that read only the neighbouring sessions, not the whole history.

The SQLite triggers of 0001 let the planner pick the (status, start_at) index, so each
insert and each status change scanned every earlier active session: about 35 ms a write
on five years of history, and minutes for a bulk load. No session's busy span exceeds a
day (the guard refuses one that would), so overlapping sessions lie within a day of the
new one: the guards read a chair's through a (chair_id, busy_until) index and a
patient's through (patient_id, start_at), a day's window either way whatever order rows
come in; the unary ``+`` keeps the planner off the status index. Same rule, same
messages. PostgreSQL keeps its function and gains the index, which its planner uses.
"""
from peewee import *

ACTIVE = ("scheduled", "confirmed", "arrived", "seated", "dosing", "monitoring",
          "ready_to_leave", "discharged")
ACTIVE_SQL = ", ".join("'%s'" % s for s in ACTIVE)
EVENTS = (
    ("insert", "INSERT"),
    ("update", "UPDATE OF status, start_at, end_at, busy_until, chair_id, patient_id"),
)

BOUNDED_GUARD = """
CREATE TRIGGER session_overlap_{event}
BEFORE {event_sql} ON session
WHEN NEW.status IN ({active})
BEGIN
    SELECT RAISE(ABORT, 'keta: session longer than a day')
    WHERE NEW.busy_until > datetime(NEW.start_at, '+1 day') OR NEW.end_at > datetime(NEW.start_at, '+1 day');
    SELECT RAISE(ABORT, 'keta: chair overlap')
    WHERE NEW.chair_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM session AS s
        WHERE s.chair_id = NEW.chair_id AND s.busy_until > NEW.start_at
          AND s.busy_until < datetime(NEW.busy_until, '+1 day')
          AND +s.start_at < NEW.busy_until AND s.id IS NOT NEW.id
          AND +s.status IN ({active}));
    SELECT RAISE(ABORT, 'keta: patient overlap')
    WHERE EXISTS (
        SELECT 1 FROM session AS s
        WHERE s.patient_id = NEW.patient_id AND s.start_at < NEW.end_at
          AND s.start_at > datetime(NEW.start_at, '-1 day')
          AND +s.end_at > NEW.start_at AND s.id IS NOT NEW.id
          AND +s.status IN ({active}));
END;
"""

# 0001's guards, restored by ``down``.
UNBOUNDED_GUARD = """
CREATE TRIGGER session_overlap_{event}
BEFORE {event_sql} ON session
WHEN NEW.status IN ({active})
BEGIN
    SELECT RAISE(ABORT, 'keta: chair overlap')
    WHERE NEW.chair_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM session AS s
        WHERE s.chair_id = NEW.chair_id AND s.id IS NOT NEW.id
          AND s.status IN ({active})
          AND s.start_at < NEW.busy_until AND NEW.start_at < s.busy_until);
    SELECT RAISE(ABORT, 'keta: patient overlap')
    WHERE EXISTS (
        SELECT 1 FROM session AS s
        WHERE s.patient_id = NEW.patient_id AND s.id IS NOT NEW.id
          AND s.status IN ({active})
          AND s.start_at < NEW.end_at AND NEW.start_at < s.end_at);
END;
"""


def _replace_guards(db, template):
    if isinstance(db, PostgresqlDatabase):
        return
    for event, event_sql in EVENTS:
        db.execute_sql(f"DROP TRIGGER IF EXISTS session_overlap_{event}")
        db.execute_sql(template.format(event=event, event_sql=event_sql, active=ACTIVE_SQL))


def up(migrator, db):
    migrator.migrate(migrator.add_index("session", ("chair_id", "busy_until"), False))
    _replace_guards(db, BOUNDED_GUARD)


def down(migrator, db):
    _replace_guards(db, UNBOUNDED_GUARD)
    migrator.migrate(migrator.drop_index("session", "session_chair_id_busy_until"))
