"""REMS monitoring forms (times from the session's own stamps, deadlines, filing) and the
CLI of the lifecycle and forms commands."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from keta_tui.cli.main import main
from keta_tui.clinic import lifecycle
from keta_tui.clinic.errors import NotFound, Refused, StaleEdit
from keta_tui.clinic.forms import file_form, form_detail, owed_forms
from keta_tui.clinic.gate import check_in
from keta_tui.db.models import AuditEntry, Session

from .conftest import FROZEN_NOW
from .test_lifecycle import DAY, PASSING, add_patient, book, local, walk

NEXT_DAY = DAY + dt.timedelta(days=1)


def _done_esketamine(db, hhmm: str = "10:30", *, day: dt.date = DAY, first: str = "Ada") -> int:
    """An esketamine session checked in at ``hhmm``-10, discharged after 2 h of monitoring."""
    sid = book(db, add_patient(first), hhmm, day=day, treatment="esketamine-56")
    walk(db, sid, "discharged", at=local(db, day, hhmm) - dt.timedelta(minutes=10))
    return sid


def test_an_esketamine_session_owes_a_form_with_times_from_its_own_stamps(clinic_db):
    sid = _done_esketamine(clinic_db)
    # walk: confirmed 10:20, arrived (check-in) 10:25, seated 10:30, dosing 10:35, monitoring 10:40,
    # ready at 12:35 (120 min from the first device), discharged 12:40.
    [form] = owed_forms(clinic_db.settings, now=local(clinic_db, DAY, "13:00"))
    tz = clinic_db.settings.tz
    assert (form.session_id, form.patient_name, form.treatment_code) == (sid, "Testperson, Ada", "esketamine-56")
    assert form.session_date == DAY and form.due_on == DAY + dt.timedelta(days=7) and not form.overdue
    assert form.first_device_at == local(clinic_db, DAY, "10:35") and form.first_device_at.tzinfo == tz
    assert form.monitoring_end_at == local(clinic_db, DAY, "12:35") and form.monitoring_minutes == 120
    assert form.bp_checks == (("before dosing", local(clinic_db, DAY, "10:25")),
                              ("~40 min", local(clinic_db, DAY, "11:15")),
                              ("before discharge", local(clinic_db, DAY, "12:35")))
    assert form_detail(clinic_db.settings, sid, now=local(clinic_db, DAY, "13:00")) == form


def test_a_form_is_owed_from_monitoring_and_its_end_is_unknown_until_ready(clinic_db):
    sid = book(clinic_db, add_patient(), "10:30", treatment="esketamine-56")
    walk(clinic_db, sid, "dosing", at=local(clinic_db, DAY, "10:20"))
    assert owed_forms(clinic_db.settings, now=clinic_db.clock.now()) == []
    lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=local(clinic_db, DAY, "10:45"))
    [form] = owed_forms(clinic_db.settings, now=clinic_db.clock.now())
    assert form.monitoring_end_at is None and form.monitoring_minutes is None
    assert [label for label, _at in form.bp_checks] == ["before dosing", "~40 min"]
    with pytest.raises(Refused, match="is still in monitoring; file the form once the patient is ready") as refused:
        file_form(clinic_db.settings, sid, actor="test-desk", now=clinic_db.clock.now())
    assert refused.value.reason == "form"


def test_monitoring_minutes_count_to_the_ready_step_when_it_came_late(clinic_db):
    sid = book(clinic_db, add_patient(), "10:30", treatment="esketamine-84")
    walk(clinic_db, sid, "monitoring", at=local(clinic_db, DAY, "10:20"))  # first device 10:35
    lifecycle.advance(clinic_db.settings, sid, actor="test-desk", now=local(clinic_db, DAY, "12:52"))
    form = form_detail(clinic_db.settings, sid)
    assert form.monitoring_minutes == 137 and not form.overdue  # no "now": nothing is overdue


def test_owed_forms_come_by_deadline_and_overdue_ones_are_marked(clinic_db):
    later = _done_esketamine(clinic_db, "10:30", day=NEXT_DAY, first="Bo")
    earlier = _done_esketamine(clinic_db, "11:00", day=DAY, first="Cy")
    iv = book(clinic_db, add_patient("Di"), "13:00")
    walk(clinic_db, iv, "discharged", at=local(clinic_db, DAY, "13:00"))
    on_deadline = local(clinic_db, DAY + dt.timedelta(days=7), "17:00")
    forms = owed_forms(clinic_db.settings, now=on_deadline)
    assert [(f.session_id, f.overdue) for f in forms] == [(earlier, False), (later, False)]
    day_after = local(clinic_db, DAY + dt.timedelta(days=8), "09:00")
    assert [(f.session_id, f.overdue) for f in owed_forms(clinic_db.settings, now=day_after)] == [
        (earlier, True), (later, False)]
    assert [f.session_id for f in owed_forms(clinic_db.settings, now=day_after, limit=1)] == [earlier]


def test_filing_a_form_stamps_who_and_when_and_it_leaves_the_queue(clinic_db):
    sid = _done_esketamine(clinic_db)
    version = Session.get_by_id(sid).version
    filed_at = local(clinic_db, NEXT_DAY, "09:00")
    file_form(clinic_db.settings, sid, actor="desk-2", now=filed_at, version=version)
    row = Session.get_by_id(sid)
    assert row.form_filed_at == filed_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    assert row.form_filed_by == "desk-2" and row.version == version + 1
    assert owed_forms(clinic_db.settings, now=filed_at) == []
    entry = AuditEntry.get(AuditEntry.action == "session.form_filed")
    assert json.loads(entry.after_json)["form_filed_by"] == "desk-2"
    detail = form_detail(clinic_db.settings, sid, now=filed_at)
    assert detail.filed_by == "desk-2" and detail.filed_at == filed_at.astimezone(clinic_db.settings.tz)
    with pytest.raises(Refused, match=f"the form for session {sid} was already filed by desk-2 on 2026-11-18 09:00"):
        file_form(clinic_db.settings, sid, actor="desk-1", now=filed_at)
    with pytest.raises(StaleEdit, match="changed by desk-2"):
        file_form(clinic_db.settings, sid, actor="desk-1", now=filed_at, version=version)


def test_sessions_that_owe_no_form_are_refused(clinic_db):
    iv = book(clinic_db, add_patient(), "10:30")
    walk(clinic_db, iv, "discharged", at=local(clinic_db, DAY, "10:20"))
    message = f"session {iv} owes no REMS monitoring form \\(only esketamine sessions that reached monitoring do\\)"
    with pytest.raises(Refused, match=message):
        form_detail(clinic_db.settings, iv)
    with pytest.raises(Refused, match=message):
        file_form(clinic_db.settings, iv, actor="test-desk", now=clinic_db.clock.now())
    with pytest.raises(NotFound):
        form_detail(clinic_db.settings, 4242)


def test_a_session_entered_in_error_owes_no_form(clinic_db):
    sid = _done_esketamine(clinic_db)
    lifecycle.entered_in_error(clinic_db.settings, sid, reason="wrong chart", actor="test-desk",
                               now=local(clinic_db, DAY, "13:00"))
    assert owed_forms(clinic_db.settings, now=clinic_db.clock.now()) == []
    with pytest.raises(Refused, match="owes no REMS monitoring form"):
        file_form(clinic_db.settings, sid, actor="test-desk", now=clinic_db.clock.now())


# --- CLI ------------------------------------------------------------------------------


@pytest.fixture
def cli(clinic_db, monkeypatch, capsys):
    def run(*argv, now: dt.datetime = FROZEN_NOW):
        monkeypatch.setenv("KETA_NOW", now.isoformat())
        code = main(["--db", clinic_db.target, "--as", "desk-a", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_walks_a_session_through_its_day(cli, clinic_db):
    sid = book(clinic_db, add_patient(), "10:30")
    at = local(clinic_db, DAY, "10:20")
    code, out, err = cli("advance", str(sid), now=at)
    assert (code, err) == (0, "") and out == f"session {sid}: scheduled -> confirmed at 10:20, version 2\n"
    code, out, err = cli("checkin", str(sid), "--escort-name", "Sam Escort", "--escort-phone", "555-0100",
                         "--fasting", "--consent", "--bp", "150/85", "--phq9", "9", now=at)
    assert (code, err) == (0, "")
    assert out == f"session {sid}: confirmed -> arrived at 10:20, version 3 [bp_high]\n"
    code, out, _ = cli("advance", str(sid), "seated", "--version", "3", "--json", now=at)
    assert code == 0 and json.loads(out) == {"session": sid, "from": "arrived", "to": "seated",
                                             "at": "2026-11-17T10:20:00-05:00", "version": 4, "flags": []}
    code, _, err = cli("advance", str(sid), "monitoring", now=at)
    assert code == 3 and err == (f"keta: refused: session {sid} is seated and cannot go to monitoring; allowed "
                                 "next: dosing, deferred, left_without_treatment, entered_in_error\n")
    code, _, err = cli("advance", str(sid), "--version", "3", now=at)
    assert code == 3 and "changed by desk-a" in err
    assert cli("advance", str(sid), now=at)[0] == 0
    code, out, _ = cli("undo", str(sid), now=at)
    assert code == 0 and out == f"session {sid}: dosing -> seated at 10:20, version 6 [undo]\n"


def test_cli_checkin_that_fails_the_gate_records_arrival_and_exits_3(cli, clinic_db):
    sid = book(clinic_db, add_patient(rems=False), "10:30", treatment="esketamine-56")
    code, out, err = cli("checkin", str(sid), "--not-fasting", "--bp", "120/80", "--json",
                         now=local(clinic_db, DAY, "10:20"))
    assert code == 3
    data = json.loads(out)
    assert data["to"] == "arrived" and data["gate"]["passed"] is False and "gate_failed" in data["flags"]
    assert {i["name"]: i["ok"] for i in data["gate"]["items"]}["fasting"] is False
    assert err == ("keta: refused: check-in recorded, but the gate is not met: escort name and phone missing; "
                   "patient has not fasted; not enrolled in the REMS programme; check in again once fixed, "
                   f"or 'keta defer {sid} --reason ...'\n")
    assert Session.get_by_id(sid).status == "arrived"
    # The second check-in keeps what was typed before and adds what was missing.
    code, out, err = cli("checkin", str(sid), "--escort-name", "Sam", "--escort-phone", "555-0100",
                         "--fasting", "--rems", now=local(clinic_db, DAY, "10:25"))
    assert code == 0 and err == "" and "arrived (answers updated)" in out
    assert Session.get_by_id(sid).bp_systolic == 120


@pytest.mark.parametrize("argv, message", [
    (("--bp", "high"), "keta: --bp: not a blood pressure: 'high' (use SYS/DIA, e.g. 128/82)\n"),
    (("--phq9", "30"), "keta: PHQ-9 must be a score from 0 to 27, not 30\n"),
    (("--fasting", "--not-fasting"), None),
])
def test_cli_checkin_bad_input_exits_2(cli, clinic_db, argv, message):
    sid = book(clinic_db, add_patient(), "10:30")
    code, out, err = cli("checkin", str(sid), *argv)
    assert code == 2 and out == "" and err.count("\n") == 1
    if message:
        assert err == message
    assert Session.get_by_id(sid).status == "scheduled"


def test_cli_exits_need_reasons_and_report_flags(cli, clinic_db):
    sid = book(clinic_db, add_patient(), "11:00", day=NEXT_DAY)
    code, _, err = cli("cancel", str(sid))
    assert code == 2 and "--reason" in err
    code, out, _ = cli("cancel", str(sid), "--reason", "unwell", now=local(clinic_db, DAY, "12:00"))
    assert code == 0 and out == f"session {sid}: scheduled -> cancelled at 12:00, version 2 [late_cancel]\n"
    other = book(clinic_db, add_patient("Bo"), "11:00")
    code, _, err = cli("noshow", str(other))
    assert code == 3 and err == f"keta: refused: session {other} starts at 11:00; a no-show can be marked from then\n"
    assert cli("noshow", str(other), now=local(clinic_db, DAY, "11:20"))[0] == 0
    third = book(clinic_db, add_patient("Cy"), "13:00")
    check_in(clinic_db.settings, third, PASSING, actor="test-desk", now=FROZEN_NOW)
    for command in ("defer", "left-untreated", "in-error"):
        code, _, err = cli(command, str(third), "--reason", "x", "--version", "1")
        assert code == 3 and "changed by test-desk" in err
    code, out, _ = cli("defer", str(third), "--reason", "BP high", "--json")
    assert code == 0 and json.loads(out)["to"] == "deferred"
    code, _, err = cli("undo", "9999")
    assert code == 2 and err == "keta: no session 9999 (check the id on the board or in 'keta today')\n"


def test_cli_forms_list_show_and_file(cli, clinic_db):
    code, out, _ = cli("forms")
    assert code == 0 and out == "no REMS monitoring forms owed\n"
    sid = _done_esketamine(clinic_db)
    late = local(clinic_db, DAY + dt.timedelta(days=9), "09:00")
    code, out, _ = cli("forms", now=late)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["due", "id", "session", "patient", "treatment", "min"]
    assert lines[1].split() == ["2026-11-24", str(sid), "2026-11-17", "Testperson,", "Ada", "esketamine-56",
                                "120", "OVERDUE"]
    assert max(len(line) for line in lines) <= 80
    code, out, _ = cli("forms", "--json", now=late)
    [form] = json.loads(out)["forms"]
    assert form["due_on"] == "2026-11-24" and form["overdue"] is True and form["monitoring_minutes"] == 120
    assert form["first_device_at"] == "2026-11-17T10:35:00-05:00"
    assert [c["when"] for c in form["bp_checks"]] == ["before dosing", "~40 min", "before discharge"]
    code, out, _ = cli("forms", "show", str(sid), now=late)
    assert code == 0 and "due 2026-11-24 (OVERDUE)" in out and "to end of monitoring: 120 min" in out
    code, out, _ = cli("forms", "file", str(sid), now=late)
    assert code == 0 and out == f"session {sid}: REMS monitoring form filed by desk-a\n"
    code, _, err = cli("forms", "file", str(sid), now=late)
    assert code == 3 and "already filed by desk-a" in err
    assert cli("forms", "--json")[1] == '{\n  "forms": []\n}\n'
