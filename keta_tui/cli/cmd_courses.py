"""`keta course plan|show|list|booster|status|behind`: treatment courses from the shell."""
from __future__ import annotations

from keta_tui.cli.output import print_json, print_table, safe

PLAN_HEADERS = ("n", "phase", "date", "time", "chair", "note / conflict")
PLAN_WIDTHS = (2, 13, 14, 5, 7, 29)  # 80 columns with the separators
SESSION_HEADERS = ("n", "phase", "date", "time", "chair", "status")
SESSION_WIDTHS = (2, 13, 14, 5, 7, 14)


def register(subparsers) -> None:
    course = subparsers.add_parser("course", help="plan, book and follow treatment courses")
    sub = course.add_subparsers(dest="course_command", metavar="ACTION", required=True)

    plan = sub.add_parser("plan", help="propose (and with --book, book) a whole course")
    plan.add_argument("--patient", required=True, metavar="REF", help="patient id, MRN or unique name")
    plan.add_argument("--protocol", required=True, metavar="CODE", help="protocol code, e.g. iv-induction")
    plan.add_argument("--start", required=True, metavar="DATE", help="first day (YYYY-MM-DD, today, +N)")
    plan.add_argument("--at", metavar="HH:MM", help="preferred start (default: the patient's usual time)")
    plan.add_argument("--days", metavar="mon,wed,fri", help="weekdays instead of the protocol's")
    plan.add_argument("--book", action="store_true", help="book the whole plan (all or nothing)")
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(func=run_plan)

    show = sub.add_parser("show", help="a course: counts, next due, every session")
    show.add_argument("course_id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)

    listing = sub.add_parser("list", help="a patient's courses")
    listing.add_argument("--patient", required=True, metavar="REF")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)

    booster = sub.add_parser("booster", help="book a booster session attached to a course")
    booster.add_argument("course_id", type=int, metavar="ID")
    booster.add_argument("--at", required=True, metavar='"YYYY-MM-DD HH:MM"', help="start, clinic wall clock")
    booster.add_argument("--chair", metavar="NAME", help="chair name (default: the first free one)")
    booster.add_argument("--json", action="store_true")
    booster.set_defaults(func=run_booster)

    status = sub.add_parser("status", help="pause, resume, complete or discontinue a course")
    status.add_argument("course_id", type=int, metavar="ID")
    status.add_argument("status", metavar="STATUS", help="induction, maintenance, paused, completed, discontinued")
    status.add_argument("--version", type=int, help="refuse if the course changed since this version")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=run_status)

    behind = sub.add_parser("behind", help="courses behind schedule, and those with nothing booked ahead")
    behind.add_argument("--unbooked", action="store_true", help="list courses with nothing booked ahead instead")
    behind.add_argument("--json", action="store_true")
    behind.set_defaults(func=run_behind)


# --- JSON shapes -------------------------------------------------------------------------


def plan_json(plan) -> dict:
    return {
        "patient_id": plan.patient_id,
        "protocol": plan.protocol_code,
        "treatment": plan.treatment_code,
        "at": f"{plan.at:%H:%M}",
        "sessions": [{"number": s.number, "phase": s.phase, "start": s.start.isoformat(),
                      "end": s.end.isoformat(), "chair": s.chair_name, "note": s.note, "conflict": s.conflict}
                     for s in plan.sessions],
        "conflicts": plan.conflicts,
    }


def summary_json(summary) -> dict:
    return {
        "id": summary.id,
        "patient": {"id": summary.patient_id, "name": summary.patient_name},
        "protocol": summary.protocol_code,
        "treatment": summary.treatment_code,
        "status": summary.status,
        "planned_sessions": summary.planned_sessions,
        "done": summary.done,
        "booked": summary.booked,
        "missed": summary.missed,
        "remaining_unbooked": summary.remaining_unbooked,
        "boosters": summary.boosters,
        "next_due": summary.next_due.isoformat() if summary.next_due else None,
        "next_booked": summary.next_booked.isoformat() if summary.next_booked else None,
        "behind": summary.behind,
        "behind_reason": summary.behind_reason,
        "version": summary.version,
        "sessions": [{"id": s.id, "number": s.number, "of": summary.planned_sessions if s.number else None,
                      "phase": s.phase, "kind": s.kind, "start": s.start.isoformat(), "status": s.status,
                      "chair": s.chair_name}
                     for s in summary.sessions],
    }


# --- text ------------------------------------------------------------------------------


def _print_plan(plan) -> None:
    rows = [(f"{s.number}", s.phase, f"{s.start:%a %Y-%m-%d}", f"{s.start:%H:%M}", s.chair_name or "-",
             f"CONFLICT: {s.conflict}" if s.conflict else s.note)
            for s in plan.sessions]
    print_table(PLAN_HEADERS, rows, PLAN_WIDTHS)
    # Notes too long for their column are printed whole below the table.
    for session in plan.sessions:
        if session.note and not session.conflict and len(session.note) > PLAN_WIDTHS[-1]:
            print(f"session {session.number}: {safe(session.note)}")
    for conflict in plan.conflicts:
        print(f"conflict: {safe(conflict)}")


def _count_line(summary) -> str:
    line = (f"{summary.done} done, {summary.booked} booked, {summary.missed} missed, "
            f"{summary.remaining_unbooked} not booked of {summary.planned_sessions}")
    if summary.boosters:
        line += f"; {summary.boosters} booster(s)"
    return line


def _print_summary(summary) -> None:
    print(f"course {summary.id}: {safe(summary.protocol_name)} ({summary.protocol_code}), {summary.status}")
    print(f"patient {summary.patient_id}: {safe(summary.patient_name)}")
    print(_count_line(summary))
    due = f"{summary.next_due:%a %Y-%m-%d}" if summary.next_due else "-"
    booked = f"{summary.next_booked:%a %Y-%m-%d %H:%M}" if summary.next_booked else "nothing booked"
    print(f"next due {due}; next booked {booked}")
    if summary.behind:
        print(f"BEHIND: {safe(summary.behind_reason)}")
    rows = [(f"{s.number}" if s.number else "+", s.phase, f"{s.start:%a %Y-%m-%d}", f"{s.start:%H:%M}",
             s.chair_name or "-", s.status) for s in summary.sessions]
    print_table(SESSION_HEADERS, rows, SESSION_WIDTHS)


def _print_summaries(summaries) -> None:
    if not summaries:
        print("no courses")
    rows = [(f"{s.id}", s.patient_name, s.protocol_code, s.status, f"{s.done}/{s.planned_sessions}",
             f"{s.next_due:%Y-%m-%d}" if s.next_due else "-", s.behind_reason or "")
            for s in summaries]
    if rows:
        print_table(("id", "patient", "protocol", "status", "done", "next due", "behind"), rows,
                    (5, 18, 12, 11, 5, 10, 21))


# --- commands ----------------------------------------------------------------------------


def run_plan(ctx, args) -> int:
    from keta_tui.clinic.clock import local_today, parse_clock_time, parse_date
    from keta_tui.clinic.course_plan import plan_course
    from keta_tui.clinic.settings import parse_weekdays
    from keta_tui.clinic.courses import book_course
    from keta_tui.clinic.errors import Refused
    from keta_tui.clinic.patients import resolve_patient

    settings = ctx.settings()
    now = ctx.clock.now()
    start_on = parse_date(args.start, local_today(ctx.clock, settings.tz))
    at = parse_clock_time(args.at) if args.at else None
    weekdays = parse_weekdays(args.days) if args.days else None
    patient_id = resolve_patient(args.patient)
    plan = plan_course(settings, patient_id=patient_id, protocol_code=args.protocol, start_on=start_on,
                       at=at, weekdays=weekdays, now=now)
    if not args.book:
        if args.json:
            print_json(plan_json(plan))
        else:
            _print_plan(plan)
        return 0
    try:
        course_id = book_course(settings, plan, actor=ctx.actor, now=now)
    except Refused as refusal:
        if args.json and refusal.reason == "conflicts":
            print_json(plan_json(plan) | {"conflicts": list(refusal.suggestions), "error": refusal.message})
        elif refusal.reason == "conflicts":
            _print_plan(plan)
        raise
    if args.json:
        print_json(plan_json(plan) | {"course_id": course_id})
    else:
        _print_plan(plan)
        print(f"booked course {course_id}: {len(plan.sessions)} sessions")
    return 0


def run_show(ctx, args) -> int:
    from keta_tui.clinic.courses import course_summary

    summary = course_summary(ctx.settings(), args.course_id, now=ctx.clock.now())
    if args.json:
        print_json(summary_json(summary))
    else:
        _print_summary(summary)
    return 0


def run_list(ctx, args) -> int:
    from keta_tui.clinic.courses import patient_courses
    from keta_tui.clinic.patients import resolve_patient

    settings = ctx.settings()
    summaries = patient_courses(settings, resolve_patient(args.patient), now=ctx.clock.now())
    if args.json:
        print_json({"courses": [summary_json(s) for s in summaries]})
    else:
        _print_summaries(summaries)
    return 0


def run_booster(ctx, args) -> int:
    from keta_tui.cli.cmd_booking import booked_json
    from keta_tui.clinic.booking import booked_session
    from keta_tui.clinic.clock import local_today, parse_local_datetime
    from keta_tui.clinic.courses import add_booster

    settings = ctx.settings()
    start_local = parse_local_datetime(args.at, local_today(ctx.clock, settings.tz))
    session_id = add_booster(settings, args.course_id, start_local=start_local, chair_name=args.chair,
                             actor=ctx.actor, now=ctx.clock.now())
    booked = booked_session(session_id, settings)
    if args.json:
        print_json(booked_json(booked))
    else:
        print(f"booked booster session {booked.id} for course {args.course_id}: "
              f"{booked.start:%a %Y-%m-%d %H:%M}-{booked.end:%H:%M} {safe(booked.chair_name)}")
    return 0


def run_status(ctx, args) -> int:
    from keta_tui.clinic.courses import set_course_status

    summary = set_course_status(ctx.settings(), args.course_id, args.status.strip().lower(), actor=ctx.actor,
                                now=ctx.clock.now(), version=args.version)
    if args.json:
        print_json(summary_json(summary))
    else:
        print(f"course {summary.id} is now {summary.status}")
    return 0


def run_behind(ctx, args) -> int:
    from keta_tui.clinic.courses import courses_behind, patients_without_next_booking

    settings = ctx.settings()
    lister = patients_without_next_booking if args.unbooked else courses_behind
    summaries = lister(settings, now=ctx.clock.now())
    if args.json:
        print_json({"courses": [summary_json(s) for s in summaries]})
    else:
        _print_summaries(summaries)
    return 0
