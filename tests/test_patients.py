"""Patients: adding with validation, versioned edits, search by name/phone/DOB/MRN, REF."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from keta_tui.cli.main import main
from keta_tui.clinic.errors import BadInput, NotFound, Refused, StaleEdit
from keta_tui.clinic.patients import (add_patient, find_patients, fold, get_patient, normalise_name,
                                      resolve_patient, update_patient)
from keta_tui.db.models import AuditEntry, Patient

from .conftest import FROZEN_NOW

HOSTILE = "[bold]Zoë[/] \x1b[31mred\x1b[0m \u202eevil; DROP TABLE patient;--"


@pytest.fixture
def register(clinic_db):
    now = clinic_db.clock.now()
    people = [
        ("John", "Smith", "1980-02-03", "(555) 010-1234"),
        ("Joan", "Smithers", "1975-12-01", "555.010.9876"),
        ("José", "Núñez", "02/29/1988", "+1 555 020 1234"),
        ("Anna", "Jones", None, ""),
        ("Smith", "Johnson", None, "5550305555"),
    ]
    ids = {}
    for first, last, dob, phone in people:
        ids[last] = add_patient(first_name=first, last_name=last, dob=dob, phone=phone, actor="desk-a", now=now).id
    clinic_db.ids = ids
    clinic_db.now = now
    return clinic_db


def names(found):
    return [p.name for p in found]


def test_normalise_name_folds_accents_case_and_punctuation():
    assert normalise_name("José", "Núñez") == "nunez jose"
    assert normalise_name("Mary Ann", "O'Brien-Smith") == "obrien smith mary ann"
    assert fold("  ÅSA  ") == "asa"


def test_add_generates_mrn_and_audits(register):
    detail = get_patient(register.ids["Smith"])
    assert detail.mrn == f"K{register.ids['Smith']:06d}"
    assert (detail.name, detail.initials, detail.dob) == ("Smith, John", "JS", dt.date(1980, 2, 3))
    assert detail.version == 1 and detail.updated_by == "desk-a"
    row = Patient.get_by_id(detail.id)
    assert (row.search_name, row.phone_digits) == ("smith john", "5550101234")
    assert row.phone_reversed == "4321010555"
    entry = AuditEntry.get(AuditEntry.entity == "patient", AuditEntry.entity_id == detail.id)
    assert entry.action == "patient.add" and json.loads(entry.after_json)["mrn"] == detail.mrn


def test_add_keeps_a_given_mrn_and_refuses_a_duplicate(register):
    detail = add_patient(first_name="Eve", last_name="Given", mrn="ext-77", actor="t", now=register.now)
    assert detail.mrn == "EXT-77"
    with pytest.raises(Refused, match="MRN EXT-77 is already used") as caught:
        add_patient(first_name="Eve", last_name="Other", mrn="EXT-77", actor="t", now=register.now)
    assert caught.value.reason == "duplicate"


@pytest.mark.parametrize("fields, message", [
    (dict(first_name="A", last_name="  "), "last name must not be empty"),
    (dict(first_name="", last_name="B"), "first name must not be empty"),
    (dict(first_name="A", last_name="B", dob="1980-13-01"), "dob: not a date"),
    (dict(first_name="A", last_name="B", dob="2030-01-01"), "is not between 1900-01-01 and today"),
    (dict(first_name="A", last_name="B", phone="call me"), "phone: too few digits"),
    (dict(first_name="A", last_name="B", email="nobody"), "email: not an address"),
    (dict(first_name="A" * 201, last_name="B"), "first_name: longer than 200 characters"),
])
def test_add_validation(register, fields, message):
    with pytest.raises(BadInput, match=message):
        add_patient(**fields, actor="t", now=register.now)


def test_hostile_text_is_stored_as_typed(register):
    detail = add_patient(first_name=HOSTILE, last_name="Markup", notes=HOSTILE, actor="t", now=register.now)
    assert get_patient(detail.id).first_name == HOSTILE and get_patient(detail.id).notes == HOSTILE
    assert names(find_patients("markup zo")) == [f"Markup, {HOSTILE}"]


def test_find_by_name_prefix_in_any_word_order(register):
    assert names(find_patients("smi")) == ["Smith, John", "Smithers, Joan"]
    # Any word order; names starting with the first word typed come first.
    assert names(find_patients("smi jo")) == ["Smith, John", "Smithers, Joan", "Johnson, Smith"]
    assert names(find_patients("jo smi")) == ["Johnson, Smith", "Smith, John", "Smithers, Joan"]
    assert names(find_patients("john smith")) == ["Johnson, Smith", "Smith, John"]
    assert names(find_patients("smithe joa")) == ["Smithers, Joan"]
    assert names(find_patients("nunez")) == names(find_patients("NÚÑEZ")) == ["Núñez, José"]
    assert find_patients("smith zed") == [] and find_patients("   ") == []
    assert len(find_patients("s", limit=1)) == 1


def test_find_by_phone_digits_prefix_with_or_without_country_code(register):
    assert names(find_patients("555-010")) == ["Smith, John", "Smithers, Joan"]
    assert names(find_patients("(555) 020-1234")) == ["Núñez, José"]  # stored with +1
    assert names(find_patients("1 555 010 1234")) == ["Smith, John"]  # stored without
    assert names(find_patients("5550305555")) == ["Johnson, Smith"]

def test_find_by_the_last_digits_of_a_phone(register):
    # Typed without the area code, as a caller reads it out; still an index range.
    assert names(find_patients("010-1234")) == ["Smith, John"]
    assert names(find_patients("0201234")) == ["Núñez, José"]
    assert names(find_patients("9876")) == ["Smithers, Joan"]
    assert Patient.get_by_id(register.ids["Smith"]).phone_reversed == "4321010555"


def test_find_by_date_of_birth_both_formats(register):
    assert names(find_patients("1980-02-03")) == ["Smith, John"]
    assert names(find_patients("12/01/1975")) == ["Smithers, Joan"]
    assert names(find_patients("1988-02-29")) == ["Núñez, José"]


def test_find_by_mrn(register):
    mrn = get_patient(register.ids["Jones"]).mrn
    assert names(find_patients(mrn.lower())) == ["Jones, Anna"]
    assert len(find_patients("K00000")) == 5


def test_resolve_patient(register):
    ids = register.ids
    assert resolve_patient(str(ids["Jones"])) == ids["Jones"]
    assert resolve_patient(get_patient(ids["Jones"]).mrn) == ids["Jones"]
    assert resolve_patient("jones") == ids["Jones"]
    assert resolve_patient("Smith John") == ids["Smith"]  # exact name beats the longer Smithers
    with pytest.raises(NotFound, match="no patient matches 'zed'"):
        resolve_patient("zed")
    with pytest.raises(NotFound, match="no patient with id 999"):
        resolve_patient("999")
    with pytest.raises(BadInput, match=r"'smi' matches 2 patients: \d+ \(K\d+\), \d+ \(K\d+\); use an id or MRN"):
        resolve_patient("smi")


def test_update_changes_fields_and_audits_only_them(register):
    pid = register.ids["Smith"]
    later = register.now + dt.timedelta(hours=1)
    detail = update_patient(pid, version=1, changes={"last_name": "Smyth", "phone": "555 999 0000",
                                                      "dob": "1980-02-03", "rems_enrolled": True},
                            actor="desk-b", now=later)
    assert (detail.version, detail.name, detail.updated_by, detail.rems_enrolled) == (2, "Smyth, John", "desk-b", True)
    assert Patient.get_by_id(pid).search_name == "smyth john"
    assert names(find_patients("555 999")) == ["Smyth, John"]
    entry = AuditEntry.get(AuditEntry.action == "patient.edit")
    assert json.loads(entry.before_json) == {"last_name": "Smith", "phone": "(555) 010-1234", "rems_enrolled": False}
    assert json.loads(entry.after_json) == {"last_name": "Smyth", "phone": "555 999 0000", "rems_enrolled": True}
    # Nothing really changed: no new version, no audit entry.
    assert update_patient(pid, version=2, changes={"phone": "555 999 0000"}, actor="t", now=later).version == 2


def test_stale_edit_names_who_and_when(register):
    pid = register.ids["Jones"]
    update_patient(pid, version=1, changes={"phone": "555 111 2222"}, actor="desk-b",
                   now=register.now + dt.timedelta(minutes=7))
    with pytest.raises(StaleEdit, match="this patient was changed by desk-b at 15:07"):
        update_patient(pid, version=1, changes={"phone": "555 333 4444"}, actor="desk-c", now=register.now)
    assert get_patient(pid).phone == "555 111 2222"


def test_update_validation(register):
    pid = register.ids["Jones"]
    with pytest.raises(BadInput, match="cannot edit version"):
        update_patient(pid, version=1, changes={"version": 5}, actor="t", now=register.now)
    with pytest.raises(BadInput, match="phq9_baseline: 30 is outside 0-27"):
        update_patient(pid, version=1, changes={"phq9_baseline": 30}, actor="t", now=register.now)
    with pytest.raises(Refused, match="already used"):
        update_patient(pid, version=1, changes={"mrn": get_patient(register.ids["Smith"]).mrn}, actor="t",
                       now=register.now)
    with pytest.raises(NotFound):
        update_patient(999, version=1, changes={"phone": "5551234"}, actor="t", now=register.now)


def test_cli_patient_commands(register, monkeypatch, capsys):
    monkeypatch.setenv("KETA_NOW", FROZEN_NOW.isoformat())

    def run(*argv):
        code = main(["--db", register.target, "--as", "desk-a", *argv])
        return (code, *capsys.readouterr())

    code, out, _ = run("patient", "add", "--first", "Kim", "--last", "Lee", "--dob", "1990-05-06",
                       "--phone", "555 404 0404", "--escort-name", "Pat Lee", "--rems", "--json")
    added = json.loads(out)
    assert code == 0 and added["name"] == "Lee, Kim" and added["rems_enrolled"] is True
    code, out, _ = run("patient", "find", "lee k")
    assert code == 0 and "Lee, Kim" in out and added["mrn"] in out
    code, out, _ = run("patient", "show", added["mrn"])
    assert "escort:         Pat Lee" in out and "version:        1 (by desk-a" in out
    code, out, _ = run("patient", "edit", "lee", "--version", "1", "--no-rems", "--phone", "555 404 0000")
    assert code == 0 and out == f"updated patient {added['id']} ({added['mrn']}); now version 2\n"
    code, _, err = run("patient", "edit", "lee", "--version", "1", "--phone", "555 404 1111")
    assert code == 3 and "changed by desk-a" in err
    assert run("patient", "edit", "lee", "--version", "2")[0] == 2  # nothing to change
    assert run("patient", "add", "--first", "No")[0] == 2
    code, _, err = run("patient", "show", "smi")
    assert code == 2 and "matches 2 patients" in err
    code, out, _ = run("patient", "find", "zzz", "--json")
    assert code == 0 and json.loads(out) == []
