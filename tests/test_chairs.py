"""Chairs out of service and back: reasons, refusals, audit, and what booking then skips."""
import datetime as dt
import json

import pytest

from keta_tui.cli.main import main
from keta_tui.clinic.availability import free_chair_id, slot_problem
from keta_tui.clinic.chairs import list_chairs, return_to_service, set_out_of_service
from keta_tui.clinic.errors import BadInput, NotFound, Refused, StaleEdit
from keta_tui.clinic.store import writing
from keta_tui.db.models import AuditEntry, Chair, Patient, Session, Treatment

START = dt.datetime(2026, 11, 18, 15, 0)  # Wed 10:00 in New York


def _seat_someone(chair_name):
    treatment = Treatment.get(Treatment.code == "iv-ketamine")
    with writing():
        patient = Patient.create(mrn="C1", first_name="Test", last_name="Sitter", search_name="sitter test")
        return Session.create(patient=patient, treatment=treatment, chair=Chair.get(Chair.name == chair_name),
                              status="seated", start_at=START, end_at=START + dt.timedelta(minutes=85),
                              busy_until=START + dt.timedelta(minutes=100))


def test_out_of_service_is_skipped_by_booking_and_audited(clinic_db):
    now = clinic_db.clock.now()
    status = set_out_of_service("Chair 4", reason="  infusion pump  broken ", actor="desk-a", now=now)
    assert status.out_of_service_reason == "infusion pump broken" and status.version == 2
    # Chair 4 is the only IV-only chair; the others still host IV, so booking picks another.
    assert free_chair_id(clinic_db.settings, "iv-ketamine", START) != status.id
    refusal = slot_problem(clinic_db.settings, "iv-ketamine", dt.datetime(2026, 11, 18, 10, 0), patient_id=None,
                           chair_id=status.id, now=now)
    assert refusal is not None and refusal.reason == "out_of_service"
    entry = AuditEntry.get(AuditEntry.action == "chair.out_of_service")
    assert (entry.actor, json.loads(entry.after_json)) == ("desk-a", {"out_of_service_reason": "infusion pump broken"})

    back = return_to_service("chair 4", actor="desk-b", now=now)
    assert back.out_of_service_reason is None and back.version == 3
    assert [c.out_of_service_reason for c in list_chairs()] == [None] * 6


def test_a_chair_with_a_patient_in_it_cannot_go_out_of_service(clinic_db):
    session = _seat_someone("Chair 2")
    with pytest.raises(Refused) as info:
        set_out_of_service("Chair 2", reason="spill", actor="t", now=clinic_db.clock.now())
    assert str(info.value) == f"refused: Chair 2 still holds session {session.id}; discharge or move that patient first"
    assert Chair.get(Chair.name == "Chair 2").out_of_service_reason is None


def test_refusals_and_bad_input(clinic_db):
    now = clinic_db.clock.now()
    with pytest.raises(BadInput, match="say why"):
        set_out_of_service("Chair 1", reason="   ", actor="t", now=now)
    with pytest.raises(NotFound, match="no chair named 'Chair 9'"):
        set_out_of_service("Chair 9", reason="x", actor="t", now=now)
    with pytest.raises(Refused, match="already in service"):
        return_to_service("Chair 1", actor="t", now=now)
    set_out_of_service("Chair 1", reason="x", actor="desk-a", now=now)
    with pytest.raises(StaleEdit, match="changed by desk-a"):
        return_to_service("Chair 1", actor="t", now=now, version=1)


def test_chair_cli(clinic_db, capsys, monkeypatch):
    monkeypatch.setenv("KETA_DB", clinic_db.target)
    monkeypatch.setenv("KETA_NOW", "2026-11-17T15:00:00Z")
    assert main(["chair", "out", "Chair 3", "--reason", "[bold]monitor[/] \x1b[2J"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Chair 3 out of service, version 2")
    assert main(["chair", "list", "--json"]) == 0
    chairs = json.loads(capsys.readouterr().out)["chairs"]
    assert chairs[2]["out_of_service"] == "[bold]monitor[/] \x1b[2J"  # stored as typed
    assert main(["chair", "list"]) == 0
    assert "\x1b" not in capsys.readouterr().out  # printed literally, never interpreted
    assert main(["chair", "in", "Chair 3", "--version", "1"]) == 3
    assert "changed by test-desk" in capsys.readouterr().err
    assert main(["chair", "in", "Chair 3"]) == 0
    assert main(["chair", "out", "Chair 3"]) == 2  # --reason is required
