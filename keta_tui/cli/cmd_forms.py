"""`keta forms [show ID | file ID]`: esketamine REMS monitoring forms owed, by deadline."""
from __future__ import annotations

from keta_tui.cli.output import print_json, print_table, safe


def register(subparsers) -> None:
    forms = subparsers.add_parser("forms", help="REMS monitoring forms owed, by deadline (or show/file one)")
    forms.add_argument("--limit", type=int, help="at most this many forms")
    forms.add_argument("--json", action="store_true", help="print the forms as JSON")
    forms.set_defaults(func=run_list)
    verbs = forms.add_subparsers(dest="forms_command", metavar="VERB", parser_class=type(forms))

    show = verbs.add_parser("show", help="a session's form: deadline, first device, minutes, BP check times")
    show.add_argument("session_id", type=int, metavar="ID", help="session id")
    show.add_argument("--json", action="store_true", help="print the form as JSON")
    show.set_defaults(func=run_show)

    file = verbs.add_parser("file", help="mark a session's form filed")
    file.add_argument("session_id", type=int, metavar="ID", help="session id")
    file.add_argument("--version", type=int, help="refuse if the session changed since this version")
    file.add_argument("--json", action="store_true", help="print the result as JSON")
    file.set_defaults(func=run_file)


def form_json(form) -> dict:
    def iso(value):
        return value.isoformat() if value is not None else None

    return {
        "session": form.session_id,
        "patient": {"id": form.patient_id, "name": form.patient_name},
        "treatment": form.treatment_code,
        "session_date": iso(form.session_date),
        "due_on": iso(form.due_on),
        "overdue": form.overdue,
        "first_device_at": iso(form.first_device_at),
        "monitoring_end_at": iso(form.monitoring_end_at),
        "monitoring_minutes": form.monitoring_minutes,
        "bp_checks": [{"when": label, "at": iso(at)} for label, at in form.bp_checks],
        "filed_at": iso(form.filed_at),
        "filed_by": form.filed_by,
    }


def run_list(ctx, args) -> int:
    from keta_tui.clinic.forms import owed_forms

    settings = ctx.settings()
    forms = owed_forms(settings, now=ctx.clock.now(), limit=args.limit)
    if args.json:
        print_json({"forms": [form_json(form) for form in forms]})
        return 0
    if not forms:
        print("no REMS monitoring forms owed")
        return 0
    rows = [(f"{form.due_on:%Y-%m-%d}", form.session_id, f"{form.session_date:%Y-%m-%d}", form.patient_name,
             form.treatment_code, "-" if form.monitoring_minutes is None else form.monitoring_minutes,
             "OVERDUE" if form.overdue else "")
            for form in forms]
    print_table(("due", "id", "session", "patient", "treatment", "min", ""), rows, (10, 5, 10, 20, 13, 3, 7))
    return 0


def run_show(ctx, args) -> int:
    from keta_tui.clinic.forms import form_detail

    settings = ctx.settings()
    form = form_detail(settings, args.session_id, now=ctx.clock.now())
    if args.json:
        print_json(form_json(form))
        return 0
    state = (f"filed {form.filed_at:%Y-%m-%d %H:%M} by {safe(form.filed_by)}" if form.filed_at
             else "OVERDUE" if form.overdue else "owed")
    minutes = "still monitoring" if form.monitoring_minutes is None else f"{form.monitoring_minutes} min"
    print(f"session {form.session_id}  {safe(form.patient_name)}  {form.treatment_code}  {form.session_date}")
    print(f"due {form.due_on} ({state})")
    print(f"first device {form.first_device_at:%H:%M}; first device to end of monitoring: {minutes}")
    print("blood pressure checks: " + ", ".join(f"{label} {at:%H:%M}" for label, at in form.bp_checks))
    return 0


def run_file(ctx, args) -> int:
    from keta_tui.clinic.forms import file_form

    settings = ctx.settings()
    file_form(settings, args.session_id, actor=ctx.actor, now=ctx.clock.now(), version=args.version)
    if args.json:
        print_json({"session": args.session_id, "filed": True, "filed_by": ctx.actor})
    else:
        print(f"session {args.session_id}: REMS monitoring form filed by {safe(ctx.actor)}")
    return 0
