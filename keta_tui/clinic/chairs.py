"""Chairs in and out of service: a broken pump or a spill takes a chair off the board
(with a reason) until the desk puts it back. Booking, seating and planning skip it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from keta_tui.db.models import ACTIVE_STATUSES, Chair, Session

from .availability import clinic_chairs
from .errors import BadInput, NotFound, Refused
from .store import audit, check_version, snapshot, writing

REASON_LIMIT = 200


@dataclass(frozen=True)
class ChairStatus:
    id: int
    name: str
    routes: tuple[str, ...]
    out_of_service_reason: str | None
    version: int


def _chair_named(name: str) -> Chair:
    text = (name or "").strip()
    if not text:
        raise BadInput("no chair given (use its name, e.g. \"Chair 2\")")
    chair = (Chair.select().where(Chair.retired == False)  # noqa: E712 (peewee expression)
             .where(Chair.name.in_([text, text.title()])).first())
    if chair is None:
        known = ", ".join(c.name for c in clinic_chairs())
        raise NotFound(f"no chair named {text!r} (chairs: {known})")
    return chair


def _status(chair: Chair) -> ChairStatus:
    return ChairStatus(chair.id, chair.name, tuple(r for r in chair.routes.split(",") if r),
                       chair.out_of_service_reason, chair.version)


def _write_reason(chair: Chair, reason: str | None, *, action: str, actor: str, at: dt.datetime) -> ChairStatus:
    """Set or clear the out-of-service reason, bump the version, audit. Inside writing()."""
    before = snapshot(chair, ("out_of_service_reason",))
    Chair.update(out_of_service_reason=reason, version=Chair.version + 1, updated_at=at,
                 updated_by=actor).where(Chair.id == chair.id).execute()
    chair = Chair.get_by_id(chair.id)
    audit(actor, action, "chair", chair.id, before, snapshot(chair, ("out_of_service_reason",)), at=at)
    return _status(chair)


def list_chairs() -> list[ChairStatus]:
    rows = (Chair.select().where(Chair.retired == False)  # noqa: E712 (peewee expression)
            .order_by(Chair.position, Chair.id))
    return [_status(chair) for chair in rows]


def set_out_of_service(name: str, *, reason: str, actor: str, now: dt.datetime,
                       version: int | None = None) -> ChairStatus:
    """Take a chair out of service. Refused while a patient is in it."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise BadInput("say why the chair is out of service (--reason)")
    if len(reason) > REASON_LIMIT:
        raise BadInput(f"reason: longer than {REASON_LIMIT} characters")
    stamp = now.astimezone(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    with writing():
        chair = _chair_named(name)
        check_version(chair, version, "chair")
        occupied = (Session.select(Session.id).where(Session.chair == chair.id,
                                                     Session.status.in_(("seated", "dosing", "monitoring",
                                                                         "ready_to_leave")))
                    .first())
        if occupied is not None:
            raise Refused(f"refused: {chair.name} still holds session {occupied.id}; "
                          "discharge or move that patient first", reason="chair_occupied")
        return _write_reason(chair, reason, action="chair.out_of_service", actor=actor, at=stamp)


def return_to_service(name: str, *, actor: str, now: dt.datetime, version: int | None = None) -> ChairStatus:
    stamp = now.astimezone(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    with writing():
        chair = _chair_named(name)
        check_version(chair, version, "chair")
        if chair.out_of_service_reason is None:
            raise Refused(f"refused: {chair.name} is already in service", reason="in_service")
        return _write_reason(chair, None, action="chair.in_service", actor=actor, at=stamp)


def sessions_booked_on(chair_id: int, *, now: dt.datetime) -> int:
    """Active sessions still ahead on a chair: the desk should move them."""
    stamp = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (Session.select().where(Session.chair == chair_id, Session.start_at >= stamp,
                                   Session.status.in_(ACTIVE_STATUSES)).count())
