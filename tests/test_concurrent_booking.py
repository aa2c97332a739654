"""Several desks at once, as real OS processes through the CLI, released by one start barrier.

Each child imports keta fully, says it is ready, then waits for the "go" file, so the
booking attempts really race. Exactly one wins; the others are refused (exit 3) with
one line and no traceback.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keta_tui.clinic.patients import add_patient, get_patient
from keta_tui.db.models import Session

from .conftest import FROZEN_NOW

DESKS = 6
CHILD = """
import sys, time
from pathlib import Path
from keta_tui.cli.main import build_parser, main
import keta_tui.clinic.booking, keta_tui.clinic.patients, keta_tui.db.connection
build_parser()  # every command module imported before the race
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.001)
sys.exit(main(sys.argv[3:]))
"""


def race(tmp_path: Path, commands: list[list[str]]) -> list[tuple[int, str, str]]:
    """Run each command in its own process, all released at once; (exit code, stdout, stderr)."""
    go = tmp_path / "go"
    env = {**os.environ, "KETA_NOW": FROZEN_NOW.isoformat(), "KETA_BUSY_TIMEOUT": "20"}
    children = []
    for number, argv in enumerate(commands):
        ready = tmp_path / f"ready-{number}"
        children.append((ready, subprocess.Popen([sys.executable, "-c", CHILD, str(ready), str(go), *argv],
                                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                                 env=env)))
    deadline = time.monotonic() + 60
    while not all(ready.exists() for ready, _child in children):
        assert time.monotonic() < deadline, "children did not start"
        assert all(child.poll() is None for _ready, child in children), "a child died before the barrier"
        time.sleep(0.01)
    go.touch()
    results = []
    for _ready, child in children:
        out, err = child.communicate(timeout=60)
        results.append((child.returncode, out, err))
    return results


def assert_one_winner(results, refusal_text: str) -> None:
    codes = sorted(code for code, _out, _err in results)
    assert codes == [0] + [3] * (len(results) - 1), results
    for code, _out, err in results:
        assert "Traceback" not in err
        if code == 3:
            assert len(err.splitlines()) == 1 and err.startswith("keta: refused: ")
            assert refusal_text in err


@pytest.fixture
def patients(clinic_db):
    now = clinic_db.clock.now()
    clinic_db.patient_ids = [add_patient(first_name="Desk", last_name=f"Racer{n}", actor="t", now=now).id
                             for n in range(DESKS)]
    return clinic_db


def test_six_desks_book_the_same_chair_and_time(patients, tmp_path):
    commands = [["--db", patients.target, "--as", f"desk-{n}", "book", "--patient", str(pid),
                 "--treatment", "iv-ketamine", "--at", "2026-11-18 10:00", "--chair", "Chair 2"]
                for n, pid in enumerate(patients.patient_ids)]
    assert_one_winner(race(tmp_path, commands), "Chair 2 is taken until 11:40")
    assert Session.select().where(Session.status == "scheduled").count() == 1


def test_three_desks_book_one_patient_on_any_chair(patients, tmp_path):
    # Fewer processes here: the chair race above already proves the lock with six.
    pid = patients.patient_ids[0]
    commands = [["--db", patients.target, "--as", f"desk-{n}", "book", "--patient", str(pid),
                 "--treatment", "esketamine-56", "--at", "2026-11-18 10:00"] for n in range(3)]
    assert_one_winner(race(tmp_path, commands), "the patient already has a session 10:00-12:00")
    assert Session.select().where(Session.patient == pid).count() == 1


def test_two_desks_edit_the_same_patient_version(patients, tmp_path):
    pid = patients.patient_ids[0]
    commands = [["--db", patients.target, "--as", desk, "patient", "edit", str(pid), "--version", "1",
                 "--phone", phone] for desk, phone in (("desk-a", "555 010 1111"), ("desk-b", "555 010 2222"))]
    results = race(tmp_path, commands)
    assert sorted(code for code, _o, _e in results) == [0, 3], results
    winner = "desk-a" if results[0][0] == 0 else "desk-b"
    loser_err = next(err for code, _o, err in results if code == 3)
    assert loser_err.startswith(f"keta: refused: this patient was changed by {winner} at 15:00")
    assert len(loser_err.splitlines()) == 1 and "Traceback" not in "".join(e for _c, _o, e in results)
    detail = get_patient(pid)
    assert detail.version == 2 and detail.updated_by == winner
