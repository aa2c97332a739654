"""`keta chair list | out NAME --reason T | in NAME`: chairs in and out of service."""
from __future__ import annotations

from keta_tui.cli.output import print_json, print_table, safe


def register(subparsers) -> None:
    chair = subparsers.add_parser("chair", help="list chairs, take one out of service or put it back")
    verbs = chair.add_subparsers(dest="chair_command", metavar="VERB", parser_class=type(chair))
    verbs.required = True

    listing = verbs.add_parser("list", help="every chair with its routes and service state")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)

    out = verbs.add_parser("out", help="take a chair out of service (not while a patient is in it)")
    out.add_argument("name", metavar="NAME", help='chair name, e.g. "Chair 2"')
    out.add_argument("--reason", required=True, help="why, in a few words (shown on the board)")
    out.add_argument("--version", type=int, help="refuse if the chair changed since this version")
    out.add_argument("--json", action="store_true")
    out.set_defaults(func=run_out)

    back = verbs.add_parser("in", help="put a chair back in service")
    back.add_argument("name", metavar="NAME")
    back.add_argument("--version", type=int)
    back.add_argument("--json", action="store_true")
    back.set_defaults(func=run_in)


def _json(status) -> dict:
    return {"id": status.id, "name": status.name, "routes": list(status.routes),
            "out_of_service": status.out_of_service_reason, "version": status.version}


def run_list(ctx, args) -> int:
    from keta_tui.clinic.chairs import list_chairs

    ctx.settings()
    chairs = list_chairs()
    if args.json:
        print_json({"chairs": [_json(c) for c in chairs]})
        return 0
    print_table(("chair", "routes", "state"),
                [(c.name, ",".join(c.routes), f"out of service: {c.out_of_service_reason}"
                  if c.out_of_service_reason else "in service") for c in chairs], (12, 10, 56))
    return 0


def _report(ctx, args, status, verb: str) -> int:
    from keta_tui.clinic.chairs import sessions_booked_on

    if args.json:
        print_json(_json(status))
        return 0
    print(f"{safe(status.name)} {verb}, version {status.version}")
    if status.out_of_service_reason:
        ahead = sessions_booked_on(status.id, now=ctx.clock.now())
        if ahead:
            print(f"note: {ahead} session(s) ahead are still booked on {safe(status.name)}; reschedule them")
    return 0


def run_out(ctx, args) -> int:
    from keta_tui.clinic.chairs import set_out_of_service

    ctx.settings()
    status = set_out_of_service(args.name, reason=args.reason, actor=ctx.actor, now=ctx.clock.now(),
                                version=args.version)
    return _report(ctx, args, status, "out of service")


def run_in(ctx, args) -> int:
    from keta_tui.clinic.chairs import return_to_service

    ctx.settings()
    status = return_to_service(args.name, actor=ctx.actor, now=ctx.clock.now(), version=args.version)
    return _report(ctx, args, status, "back in service")
