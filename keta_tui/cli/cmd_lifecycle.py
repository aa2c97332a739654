"""`keta checkin|advance|cancel|noshow|defer|left-untreated|in-error|undo`: a session's steps.

Each prints one confirmation line (or JSON with ``--json``); a refused step exits 3
with one line on stderr. A check-in whose gate is not met still records the arrival,
then exits 3 naming the unmet items.
"""
from __future__ import annotations

import dataclasses
import re
import sys

from keta_tui.cli.output import print_json, safe


def register(subparsers) -> None:
    checkin = subparsers.add_parser("checkin", help="check a patient in: the gate answers, then arrival")
    _session_args(checkin)
    checkin.add_argument("--escort-name", help="escort / driver taking the patient home")
    checkin.add_argument("--escort-phone", help="the escort's phone")
    _yes_no(checkin, "fasting", "--fasting", "--not-fasting", "fasting confirmed")
    _yes_no(checkin, "consent_ok", "--consent", "--no-consent", "signed consent on file")
    _yes_no(checkin, "rems_enrolled", "--rems", "--no-rems", "enrolled in the esketamine REMS")
    checkin.add_argument("--bp", metavar="SYS/DIA", help="blood pressure, e.g. 128/82")
    checkin.add_argument("--phq9", type=int, metavar="N", help="PHQ-9 score, 0-27")
    checkin.set_defaults(func=run_checkin)

    advance = subparsers.add_parser("advance", help="take a session's next step (or the STATE given)")
    _session_args(advance)
    advance.add_argument("state", nargs="?", help="the step to take, e.g. seated (default: the next one)")
    advance.set_defaults(func=run_advance)

    for name, helptext, service in (
        ("cancel", "cancel a session (late cancel under the clinic's notice period)", "cancel"),
        ("defer", "defer a session that cannot go ahead today (e.g. the gate failed)", "defer"),
        ("left-untreated", "the patient left before treatment", "left_without_treatment"),
        ("in-error", "void a session that should never have been recorded", "entered_in_error"),
    ):
        parser = subparsers.add_parser(name, help=helptext)
        _session_args(parser)
        parser.add_argument("--reason", required=True, help="why, in a few words")
        parser.set_defaults(func=run_exit, service=service)

    noshow = subparsers.add_parser("noshow", help="mark a no-show (from the session's start time)")
    _session_args(noshow)
    noshow.set_defaults(func=run_exit, service="no_show")

    undo = subparsers.add_parser("undo", help="undo a session's last step")
    _session_args(undo)
    undo.set_defaults(func=run_undo)


def _session_args(parser) -> None:
    parser.add_argument("session_id", type=int, metavar="ID", help="session id (see 'keta today')")
    parser.add_argument("--version", type=int, help="refuse if the session changed since this version")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _yes_no(parser, dest: str, yes: str, no: str, helptext: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(yes, dest=dest, action="store_const", const=True, default=None, help=helptext)
    group.add_argument(no, dest=dest, action="store_const", const=False, help=f"not: {helptext}")


def step_json(result, settings) -> dict:
    return {
        "session": result.session_id,
        "from": result.from_status,
        "to": result.to_status,
        "at": result.at.astimezone(settings.tz).isoformat(),
        "version": result.version,
        "flags": list(result.flags),
    }


def _step_line(result, settings) -> str:
    at = f"{result.at.astimezone(settings.tz):%H:%M}"
    move = (f"{result.from_status} -> {result.to_status}" if result.from_status != result.to_status
            else f"{result.to_status} (answers updated)")
    flags = f" [{', '.join(result.flags)}]" if result.flags else ""
    return f"session {result.session_id}: {move} at {at}, version {result.version}{flags}"


def _report(result, settings, as_json: bool) -> int:
    if as_json:
        print_json(step_json(result, settings))
    else:
        print(_step_line(result, settings))
    return 0


def parse_bp(text: str | None) -> tuple[int | None, int | None]:
    from keta_tui.clinic.errors import BadInput

    if text is None:
        return None, None
    match = re.fullmatch(r"\s*(\d{2,3})\s*/\s*(\d{2,3})\s*", text)
    if not match:
        raise BadInput(f"--bp: not a blood pressure: {safe(text)!r} (use SYS/DIA, e.g. 128/82)")
    return int(match.group(1)), int(match.group(2))


def run_checkin(ctx, args) -> int:
    from keta_tui.clinic import gate

    settings = ctx.settings()
    systolic, diastolic = parse_bp(args.bp)
    given = {"escort_name": args.escort_name, "escort_phone": args.escort_phone, "fasting": args.fasting,
             "consent_ok": args.consent_ok, "rems_enrolled": args.rems_enrolled,
             "bp_systolic": systolic, "bp_diastolic": diastolic, "phq9": args.phq9}
    # What is not typed comes from the last check-in (escort, consent, REMS).
    answers = dataclasses.replace(gate.prefill(settings, args.session_id),
                                  **{k: v for k, v in given.items() if v is not None})
    step, result = gate.check_in(settings, args.session_id, answers, actor=ctx.actor, now=ctx.clock.now(),
                                 version=args.version)
    if args.json:
        print_json({**step_json(step, settings), "gate": {
            "passed": result.passed, "flags": list(result.flags),
            "items": [dataclasses.asdict(item) for item in result.items]}})
    else:
        print(_step_line(step, settings))
    if result.passed:
        return 0
    print(f"keta: refused: check-in recorded, but the gate is not met: {'; '.join(result.problems())}; "
          f"check in again once fixed, or 'keta defer {step.session_id} --reason ...'", file=sys.stderr)
    return 3


def run_advance(ctx, args) -> int:
    from keta_tui.clinic.lifecycle import advance

    settings = ctx.settings()
    result = advance(settings, args.session_id, to=args.state, actor=ctx.actor, now=ctx.clock.now(),
                     version=args.version)
    return _report(result, settings, args.json)


def run_exit(ctx, args) -> int:
    from keta_tui.clinic import lifecycle

    settings = ctx.settings()
    service = getattr(lifecycle, args.service)
    extra = {"reason": args.reason} if args.service != "no_show" else {}
    result = service(settings, args.session_id, actor=ctx.actor, now=ctx.clock.now(), version=args.version,
                     **extra)
    return _report(result, settings, args.json)


def run_undo(ctx, args) -> int:
    from keta_tui.clinic.lifecycle import undo

    settings = ctx.settings()
    result = undo(settings, args.session_id, actor=ctx.actor, now=ctx.clock.now(), version=args.version)
    return _report(result, settings, args.json)
