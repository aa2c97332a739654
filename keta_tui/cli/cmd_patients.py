"""`keta patient add|find|show|edit`: the patient register from a shell."""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt

from keta_tui.cli.output import clip, print_json, print_table, safe

# Options shared by add and edit: (flag, service field, help).
FIELD_OPTIONS = (
    ("--first", "first_name", "first name"),
    ("--last", "last_name", "last name"),
    ("--dob", "dob", "date of birth, YYYY-MM-DD or MM/DD/YYYY"),
    ("--phone", "phone", "phone number"),
    ("--email", "email", "email address"),
    ("--escort-name", "escort_name", "usual escort / driver"),
    ("--escort-phone", "escort_phone", "escort's phone"),
    ("--consent-until", "consent_expires_on", "consent on file until this date"),
    ("--notes", "notes", "free-text notes"),
    ("--mrn", "mrn", "medical record number (default: generated)"),
)


def register(subparsers) -> None:
    group = subparsers.add_parser("patient", help="add, find, show or edit patients")
    verbs = group.add_subparsers(dest="patient_command", metavar="VERB", required=True,
                                 parser_class=type(group))

    add = verbs.add_parser("add", help="add a patient")
    _field_options(add, required=("--first", "--last"))
    add.add_argument("--rems", action="store_true", help="enrolled in the esketamine REMS")
    add.add_argument("--json", action="store_true", help="print the patient as JSON")
    add.set_defaults(func=run_add)

    find = verbs.add_parser("find", help="find patients by name, date of birth, phone or MRN")
    find.add_argument("query", help='e.g. "smi jo", 1980-02-03, 0101, K000042')
    find.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    find.add_argument("--json", action="store_true", help="print the matches as JSON")
    find.set_defaults(func=run_find)

    show = verbs.add_parser("show", help="show one patient")
    show.add_argument("ref", help="patient id, MRN or a name matching one patient")
    show.add_argument("--json", action="store_true", help="print the patient as JSON")
    show.set_defaults(func=run_show)

    edit = verbs.add_parser("edit", help="change a patient's details (needs the version shown)")
    edit.add_argument("ref", help="patient id, MRN or a name matching one patient")
    edit.add_argument("--version", type=int, required=True, help="the version you read (see 'patient show')")
    _field_options(edit, required=())
    edit.add_argument("--rems", action=argparse.BooleanOptionalAction, default=None,
                      help="enrolled in the esketamine REMS (or --no-rems)")
    edit.add_argument("--phq9-baseline", help="PHQ-9 at the start of the course (0-27)")
    edit.add_argument("--json", action="store_true", help="print the patient as JSON")
    edit.set_defaults(func=run_edit)


def _field_options(parser, required: tuple[str, ...]) -> None:
    for flag, name, help_text in FIELD_OPTIONS:
        parser.add_argument(flag, dest=name, required=flag in required, help=help_text)


def _given_fields(args) -> dict:
    names = [name for _flag, name, _help in FIELD_OPTIONS] + ["phq9_baseline"]
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def patient_json(detail) -> dict:
    data = dataclasses.asdict(detail)
    for key, value in data.items():
        if isinstance(value, (dt.date, dt.datetime)):
            data[key] = value.isoformat()
    return data


def _print_detail(detail) -> None:
    rows = [("patient", f"{detail.id}  {detail.mrn}"), ("name", detail.name),
            ("born", detail.dob.isoformat() if detail.dob else "-"), ("phone", detail.phone or "-"),
            ("email", detail.email or "-"),
            ("escort", " ".join(filter(None, (detail.escort_name, detail.escort_phone))) or "none recorded"),
            ("consent", f"until {detail.consent_expires_on.isoformat()}" if detail.consent_expires_on else "none on file"),
            ("REMS", "enrolled" if detail.rems_enrolled else "not enrolled"),
            ("PHQ-9 baseline", "-" if detail.phq9_baseline is None else str(detail.phq9_baseline)),
            ("notes", clip(detail.notes, 200) or "-"),
            ("version", f"{detail.version} (by {detail.updated_by or '-'}, {detail.updated_at:%Y-%m-%d %H:%M} UTC)")]
    for label, value in rows:
        print(f"{label + ':':<16}{safe(value)}")


def run_add(ctx, args) -> int:
    from keta_tui.clinic.patients import add_patient

    ctx.open()
    detail = add_patient(**_given_fields(args), rems_enrolled=args.rems, actor=ctx.actor, now=ctx.clock.now())
    if args.json:
        print_json(patient_json(detail))
    else:
        print(f"added patient {detail.id} ({detail.mrn}): {safe(detail.name)}")
    return 0


def run_find(ctx, args) -> int:
    from keta_tui.clinic.patients import find_patients

    ctx.open()
    found = find_patients(args.query, limit=max(1, min(args.limit, 500)))
    if args.json:
        print_json([patient_json(p) for p in found])
        return 0
    if not found:
        print(f"no patient matches '{safe(args.query)}'")
        return 0
    print_table(("id", "MRN", "name", "born", "phone"),
                ((p.id, p.mrn, p.name, p.dob.isoformat() if p.dob else "-", p.phone) for p in found),
                (7, 9, 32, 10, 16))
    return 0


def run_show(ctx, args) -> int:
    from keta_tui.clinic.patients import get_patient, resolve_patient

    ctx.open()
    detail = get_patient(resolve_patient(args.ref))
    if args.json:
        print_json(patient_json(detail))
    else:
        _print_detail(detail)
    return 0


def run_edit(ctx, args) -> int:
    from keta_tui.clinic.errors import BadInput
    from keta_tui.clinic.patients import resolve_patient, update_patient

    ctx.open()
    changes = _given_fields(args)
    if args.rems is not None:
        changes["rems_enrolled"] = args.rems
    if not changes:
        raise BadInput("nothing to change: give at least one option such as --phone")
    detail = update_patient(resolve_patient(args.ref), version=args.version, changes=changes,
                            actor=ctx.actor, now=ctx.clock.now())
    if args.json:
        print_json(patient_json(detail))
    else:
        print(f"updated patient {detail.id} ({detail.mrn}); now version {detail.version}")
    return 0
