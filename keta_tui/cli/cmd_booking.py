"""`keta book`, `keta slots`, `keta reschedule`, `keta history`."""
from __future__ import annotations

import datetime as dt
import sys

from keta_tui.cli.output import print_json, print_table, safe


def register(subparsers) -> None:
    book = subparsers.add_parser("book", help="book one session")
    book.add_argument("--patient", required=True, metavar="REF", help="patient id, MRN or unique name")
    book.add_argument("--treatment", required=True, metavar="CODE", help="treatment code, e.g. iv-ketamine")
    book.add_argument("--at", required=True, metavar='"YYYY-MM-DD HH:MM"', help="start, clinic wall clock")
    book.add_argument("--chair", metavar="NAME", help="chair name (default: the first free one)")
    book.add_argument("--json", action="store_true", help="print the booking (or refusal) as JSON")
    book.set_defaults(func=run_book)

    slots = subparsers.add_parser("slots", help="the next free starts for a treatment")
    slots.add_argument("--treatment", required=True, metavar="CODE")
    slots.add_argument("--from", dest="from_date", metavar="DATE", help="first day (default today)")
    slots.add_argument("--until", metavar="DATE", help="last day (default 90 days on)")
    slots.add_argument("--days", metavar="mon,wed", help="only these weekdays")
    slots.add_argument("--around", metavar="HH:MM", help="prefer starts near this time each day")
    slots.add_argument("--count", type=int, default=5, help="how many (default 5)")
    slots.add_argument("--chair", metavar="NAME", help="only this chair")
    slots.add_argument("--patient", metavar="REF", help="skip times this patient is already booked")
    slots.add_argument("--json", action="store_true")
    slots.set_defaults(func=run_slots)

    move = subparsers.add_parser("reschedule", help="move a session to a new time (closes it, books the replacement)")
    move.add_argument("session_id", type=int, metavar="ID")
    move.add_argument("--at", required=True, metavar='"YYYY-MM-DD HH:MM"')
    move.add_argument("--chair", metavar="NAME", help="chair name (default: same chair if free)")
    move.add_argument("--version", type=int, help="refuse if the session changed since this version")
    move.add_argument("--json", action="store_true")
    move.set_defaults(func=run_reschedule)

    history = subparsers.add_parser("history", help="a session's (or a patient's) trail of changes")
    history.add_argument("session_id", type=int, nargs="?", metavar="ID")
    history.add_argument("--patient", metavar="REF", help="a patient's whole trail instead")
    history.add_argument("--json", action="store_true")
    history.set_defaults(func=run_history)


def slot_json(slot) -> dict:
    return {"start": slot.start.isoformat(), "end": slot.end.isoformat(),
            "chair": slot.chair_name, "chair_id": slot.chair_id}


def booked_json(booked) -> dict:
    return {"id": booked.id, "patient_id": booked.patient_id, "treatment": booked.treatment_code,
            "chair": booked.chair_name, "start": booked.start.isoformat(), "end": booked.end.isoformat(),
            "course_id": booked.course_id, "number": booked.number, "version": booked.version}


def _describe_slots(slots, day: dt.date) -> str:
    return ", ".join((f"{s.start:%H:%M}" if s.start.date() == day else f"{s.start:%Y-%m-%d %H:%M}")
                     + f" {s.chair_name}" for s in slots)


def _refusal_with_suggestions(refusal, start_local: dt.datetime, as_json: bool):
    """One line naming the nearest free slots; with --json the whole refusal on stdout."""
    from keta_tui.clinic.errors import Refused

    message = refusal.message
    if refusal.suggestions:
        message += f"; nearest free: {_describe_slots(refusal.suggestions, start_local.date())}"
    if as_json:
        print_json({"error": message, "reason": refusal.reason,
                    "suggestions": [slot_json(s) for s in refusal.suggestions]})
    return Refused(message, reason=refusal.reason, allowed=refusal.allowed, suggestions=refusal.suggestions)


def _print_booked(verb: str, booked) -> None:
    print(f"{verb} session {booked.id}: {booked.start:%a %Y-%m-%d %H:%M}-{booked.end:%H:%M} "
          f"{safe(booked.chair_name)}, {booked.treatment_code}, patient {booked.patient_id}")


def run_book(ctx, args) -> int:
    from keta_tui.clinic.booking import book_session
    from keta_tui.clinic.clock import local_today, parse_local_datetime
    from keta_tui.clinic.errors import Refused
    from keta_tui.clinic.patients import resolve_patient

    settings = ctx.settings()
    start_local = parse_local_datetime(args.at, local_today(ctx.clock, settings.tz))
    patient_id = resolve_patient(args.patient)
    try:
        booked = book_session(settings, patient_id=patient_id, treatment_code=args.treatment,
                              start_local=start_local, chair_name=args.chair, actor=ctx.actor,
                              now=ctx.clock.now())
    except Refused as refusal:
        raise _refusal_with_suggestions(refusal, start_local, args.json) from None
    if args.json:
        print_json(booked_json(booked))
    else:
        _print_booked("booked", booked)
    return 0


def run_slots(ctx, args) -> int:
    from keta_tui.clinic.availability import free_slots
    from keta_tui.clinic.booking import chair_id_named
    from keta_tui.clinic.clock import local_today, parse_clock_time, parse_date
    from keta_tui.clinic.settings import parse_weekdays
    from keta_tui.clinic.errors import BadInput
    from keta_tui.clinic.patients import resolve_patient

    settings = ctx.settings()
    today = local_today(ctx.clock, settings.tz)
    if not 1 <= args.count <= 500:
        raise BadInput("--count must be between 1 and 500")
    start = parse_date(args.from_date, today) if args.from_date else None
    until = parse_date(args.until, today) if args.until else None
    if start and until and until < start:
        raise BadInput("--until is before --from")
    slots = free_slots(settings, args.treatment, now=ctx.clock.now(), count=args.count, start=start, until=until,
                       weekdays=parse_weekdays(args.days) if args.days else None,
                       around=parse_clock_time(args.around) if args.around else None,
                       chair_id=chair_id_named(args.chair) if args.chair else None,
                       patient_id=resolve_patient(args.patient) if args.patient else None)
    if args.json:
        print_json({"treatment": args.treatment, "timezone": settings.timezone,
                    "slots": [slot_json(s) for s in slots]})
        return 0
    if not slots:
        print("no free slot in that range")
        return 0
    print_table(("day", "start", "until", "chair"),
                ((f"{s.start:%a %Y-%m-%d}", f"{s.start:%H:%M}", f"{s.end:%H:%M}", s.chair_name) for s in slots),
                (14, 5, 5, 20))
    return 0


def run_reschedule(ctx, args) -> int:
    from keta_tui.clinic.booking import reschedule
    from keta_tui.clinic.clock import local_today, parse_local_datetime
    from keta_tui.clinic.errors import Refused

    settings = ctx.settings()
    start_local = parse_local_datetime(args.at, local_today(ctx.clock, settings.tz))
    try:
        booked = reschedule(settings, args.session_id, start_local=start_local, chair_name=args.chair,
                            actor=ctx.actor, now=ctx.clock.now(), version=args.version)
    except Refused as refusal:
        raise _refusal_with_suggestions(refusal, start_local, args.json) from None
    if args.json:
        print_json({"replaced": args.session_id, **booked_json(booked)})
    else:
        _print_booked(f"session {args.session_id} rescheduled as", booked)
    return 0


def _shown_value(name: str, value, tz) -> str:
    """An audit value for people: stored UTC instants in clinic wall-clock time."""
    if isinstance(value, str) and (name.endswith("_at") or name == "busy_until"):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        from keta_tui.clinic.clock import to_local

        return f"{to_local(moment, tz):%Y-%m-%d %H:%M}"
    return "-" if value is None else str(value)


def history_json(entry) -> dict:
    return {"at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
            "entity": entry.entity, "entity_id": entry.entity_id,
            "changes": {name: {"before": before, "after": after} for name, (before, after) in entry.changes.items()}}


def run_history(ctx, args) -> int:
    from keta_tui.clinic.errors import BadInput
    from keta_tui.clinic.history import patient_history, session_history
    from keta_tui.clinic.patients import resolve_patient

    if (args.session_id is None) == (args.patient is None):
        raise BadInput("give a session ID or --patient REF (one of them)")
    settings = ctx.settings()
    if args.patient is not None:
        entries = patient_history(resolve_patient(args.patient), settings.tz)
    else:
        entries = session_history(args.session_id, settings.tz)
    if args.json:
        print_json([history_json(e) for e in entries])
        return 0
    write = sys.stdout.write
    for entry in entries:
        shown = ((name, _shown_value(name, before, settings.tz), _shown_value(name, after, settings.tz))
                 for name, (before, after) in entry.changes.items())
        # Empty fields of a new record say nothing; leave them out.
        changes = "; ".join(f"{name}: {before} -> {after}" for name, before, after in shown
                            if before != after and not (before == "-" and after == ""))
        subject = f"{entry.entity} {entry.entity_id}" if entry.entity_id is not None else entry.entity
        write(safe(f"{entry.at:%Y-%m-%d %H:%M}  {entry.actor}  {entry.action}  {subject}  {changes}") + "\n")
    return 0
