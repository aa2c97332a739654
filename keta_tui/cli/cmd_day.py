"""`keta today` and `keta upcoming`: the day's chairs and sessions as a compact table or JSON.

Imports stay inside the commands: these are the one-line shell checks, and start-up
time is most of what they cost.
"""
from __future__ import annotations

# Session table columns; the widths add up to 75 with the gaps, inside 80 columns.
COLUMNS = (("time", 5), ("patient", 20), ("treatment", 13), ("chair", 8), ("status", 14), ("n/N", 5))


def register(subparsers) -> None:
    today = subparsers.add_parser("today", help="print the day's chairs and sessions, then exit",
                                  description="The day's chairs and sessions in clinic wall-clock time.")
    today.add_argument("--date", metavar="D", help="YYYY-MM-DD, today, tomorrow, yesterday or +N/-N (default: today)")
    today.add_argument("--json", action="store_true", help="print one JSON object (see the README)")
    today.set_defaults(func=run_today)

    upcoming = subparsers.add_parser("upcoming", help="the next days' sessions, by day",
                                     description="Active sessions of the next days, by day.")
    upcoming.add_argument("--days", type=int, default=7, metavar="N", help="how many days from today (default 7)")
    upcoming.add_argument("--json", action="store_true", help="print one JSON object")
    upcoming.set_defaults(func=run_upcoming)


def _clinic_today(ctx, settings):
    return ctx.clock.now().astimezone(settings.tz).date()


def run_today(ctx, args) -> int:
    from keta_tui.clinic.board import day_to_json, load_day
    from keta_tui.clinic.clock import parse_date

    settings = ctx.settings()
    day = parse_date(args.date, _clinic_today(ctx, settings)) if args.date else _clinic_today(ctx, settings)
    board = load_day(settings, day, now=ctx.clock.now())
    if args.json:
        from keta_tui.cli.output import print_json

        print_json(day_to_json(board))
        return 0
    print_board(board)
    return 0


def run_upcoming(ctx, args) -> int:
    from keta_tui.clinic.board import load_upcoming, schedule_to_json
    from keta_tui.clinic.errors import BadInput

    if not 1 <= args.days <= 366:
        raise BadInput(f"--days must be between 1 and 366, not {args.days}")
    settings = ctx.settings()
    schedule = load_upcoming(settings, _clinic_today(ctx, settings), args.days, now=ctx.clock.now())
    if args.json:
        from keta_tui.cli.output import print_json

        print_json(schedule_to_json(schedule))
        return 0
    import sys

    write = sys.stdout.write
    for index, item in enumerate(schedule):
        if index:
            write("\n")
        write(_day_line(item.day, item.opening, item.closure, len(item.sessions)) + "\n")
        if item.sessions:
            _print_sessions(item.sessions)
    return 0


def _day_line(day, opening, closure, count: int) -> str:
    if opening is not None:
        hours = f"open {opening[0]:%H:%M}-{opening[1]:%H:%M}"
    else:
        from keta_tui.cli.output import safe

        hours = f"closed: {safe(closure or 'closed')}"
    noun = "session" if count == 1 else "sessions"
    return f"{day:%a %Y-%m-%d}  {hours}  {count} {noun}"


def print_board(board) -> None:
    import sys

    from keta_tui.cli.output import clip, pad, safe
    from keta_tui.clinic.states import LABELS

    write = sys.stdout.write
    write(clip(safe(board.clinic_name), 78) + "\n")
    write(_day_line(board.day, board.opening, board.closure, len(board.sessions)) + "\n\n")
    for chair in board.chairs:
        state = LABELS.get(chair.state, chair.state.replace("_", " "))
        detail = safe(chair.reason) if chair.state == "out_of_service" else safe(chair.patient_name or "")
        timer = ""
        if chair.milestone and chair.milestone_at is not None:
            timer = f"{chair.milestone} {chair.milestone_at:%H:%M}"
        if chair.overdue:
            timer += " OVERDUE"
        line = f"{pad(safe(chair.name), 10)}  {pad(state, 14)}  {pad(detail, 24)}  {timer.strip()}"
        write(clip(line.rstrip(), 80) + "\n")
    if board.sessions:
        write("\n")
        _print_sessions(board.sessions)
    elif board.closure is None:
        write("\nno sessions booked\n")


def _print_sessions(sessions) -> None:
    import sys

    from keta_tui.cli.output import clip, pad, safe
    from keta_tui.clinic.states import LABELS

    write = sys.stdout.write
    write("  ".join(pad(name, width) for name, width in COLUMNS).rstrip() + "\n")
    for row in sessions:
        cells = (f"{row.start:%H:%M}", safe(row.patient_name), safe(row.treatment_code),
                 safe(row.chair_name or "-"), LABELS.get(row.status, row.status), row.course_label)
        write("  ".join(pad(cell, width) for cell, (_, width) in zip(cells, COLUMNS)).rstrip() + "\n")
        if row.flags:
            # Flags as words on their own line, so none is cut off at 80 columns.
            write(clip("       ! " + ", ".join(row.flag_words), 80) + "\n")
