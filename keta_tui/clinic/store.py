"""Writing to the database the one way keta allows: a write-locked transaction that
bumps the change marker, checks versions and records an audit entry.

Every service in :mod:`keta_tui.clinic` writes through :func:`writing`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
from typing import Any, Iterable

import peewee

from keta_tui.db.connection import translate_operational, write_lock
from keta_tui.db.models import AuditEntry, ChangeMarker, Setting

from .errors import BadInput, Refused, StaleEdit


def default_actor() -> str:
    """The OS user, unless ``--as NAME`` (or ``KETA_ACTOR``) says otherwise."""
    name = os.environ.get("KETA_ACTOR", "").strip()
    if name:
        return name[:100]
    try:
        return getpass.getuser()[:100]
    except Exception:  # no passwd entry in some containers
        return "unknown"


@contextlib.contextmanager
def writing():
    """One write-locked transaction; bumps the change marker so open boards refresh.

    Overlap guards raised by the database itself come back as :class:`Refused`;
    lock time-outs as :class:`~keta_tui.db.errors.DatabaseLocked` (exit 4).
    """
    try:
        with write_lock() as txn:
            yield txn
            ChangeMarker.update(counter=ChangeMarker.counter + 1,
                                changed_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
                                ).where(ChangeMarker.id == 1).execute()
    except peewee.IntegrityError as exc:
        raise refusal_from_integrity(exc) from None
    except peewee.DataError as exc:
        raise unstorable_value(exc) from None
    except peewee.OperationalError as exc:
        raise translate_operational(exc) from None


def unstorable_value(exc: Exception) -> BadInput:
    """A value PostgreSQL will not store (NUL in text, longer than its column): bad input.

    The driver's message can quote the value, so only its kind is repeated.
    """
    text = str(exc)
    if "NUL" in text or "0x00" in text:
        return BadInput("text cannot contain NUL characters; remove them and try again")
    if "too long" in text:
        return BadInput("a value is longer than its field allows; shorten it and try again")
    return BadInput("a value cannot be stored in the database; check what was typed")


def refusal_from_integrity(exc: Exception) -> Refused:
    text = str(exc)
    if "chair overlap" in text:
        return Refused("refused: the chair is already taken at that time", reason="chair_taken")
    if "patient overlap" in text:
        return Refused("refused: the patient already has a session at that time", reason="patient_busy")
    if "UNIQUE" in text.upper() or "unique" in text:
        return Refused("refused: that value is already used by another record", reason="duplicate")
    return Refused(f"refused by the database: {text.splitlines()[0][:200]}", reason="integrity")


def change_marker() -> int:
    """The counter every write bumps: one tiny indexed read per check."""
    row = ChangeMarker.select(ChangeMarker.counter).where(ChangeMarker.id == 1).tuples().first()
    return row[0] if row else 0


def check_version(row: peewee.Model, expected: int | None, what: str = "record") -> None:
    """Refuse a stale edit, saying who changed the row and when."""
    if expected is None or row.version == expected:
        return
    who = getattr(row, "updated_by", "") or "another desk"
    when = getattr(row, "updated_at", None)
    at = f" at {when:%H:%M} UTC" if isinstance(when, dt.datetime) else ""
    raise StaleEdit(f"refused: this {what} was changed by {who}{at}; reload and try again")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, peewee.Model):
        return value.get_id()
    return value


def snapshot(row: peewee.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """A row's values (foreign keys as ids) for an audit entry's before/after."""
    names = list(fields) if fields is not None else [f.name for f in row._meta.sorted_fields]
    data = {}
    for name in names:
        field = row._meta.fields.get(name)
        if isinstance(field, peewee.ForeignKeyField):
            data[name] = row.__data__.get(name)
        else:
            data[name] = _jsonable(getattr(row, name))
    return data


def audit(actor: str, action: str, entity: str, entity_id: int | None,
          before: dict | None = None, after: dict | None = None, at: dt.datetime | None = None) -> AuditEntry:
    """Record one change. Call inside :func:`writing`."""
    return AuditEntry.create(
        at=at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before_json=json.dumps(before or {}, sort_keys=True, default=_jsonable),
        after_json=json.dumps(after or {}, sort_keys=True, default=_jsonable),
    )


def get_setting(key: str, default: str | None = None) -> str | None:
    row = Setting.select(Setting.value).where(Setting.key == key).tuples().first()
    return row[0] if row else default


def put_setting(key: str, value: str) -> None:
    """Insert or replace a setting. Call inside :func:`writing`."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    updated = Setting.update(value=value, updated_at=now).where(Setting.key == key).execute()
    if not updated:
        Setting.create(key=key, value=value, updated_at=now)


def release_connection() -> None:
    """Close this thread's connection; UI worker threads call it when their job is done."""
    from keta_tui.db.base import database_proxy

    database = database_proxy.obj
    if database is not None and not database.is_closed():
        database.close()
