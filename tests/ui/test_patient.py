"""Find by phone, edit with a version check, plan and book a course."""
from __future__ import annotations

import pytest

from keta_tui.clinic.courses import patient_courses
from keta_tui.clinic.patients import find_patients, get_patient, update_patient
from tests.conftest import FROZEN_NOW
from tests.ui.conftest import notices, run_flow, settle, type_text


async def open_patient_by_phone(pilot, digits: str) -> None:
    await pilot.press("slash")
    await settle(pilot)
    await type_text(pilot, digits)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_find_by_phone_opens_the_patient(clinic, snap_compare, size):
    seen = {}

    async def flow(pilot):
        await open_patient_by_phone(pilot, "5550101001")
        seen["screen"] = type(pilot.app.screen).__name__
        seen["patient"] = pilot.app.screen.patient_id

    app, matched = run_flow(clinic, snap_compare, flow, size=size)
    assert seen["screen"] == "PatientScreen" and seen["patient"] == clinic.patients["avery"]
    assert [p.id for p in find_patients("5550101001")] == [clinic.patients["avery"]]
    assert "Quill, Avery" in app.final_text
    assert matched


def test_patient_phq9_trend_in_words(clinic, snap_compare):
    async def flow(pilot):
        await open_patient_by_phone(pilot, "5550101001")
        pilot.app.screen.query_one("#patient-tabs").active = "tab-phq9"
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert "response line reached" in app.final_text
    assert get_patient(clinic.patients["avery"]).phq9_baseline is None  # baseline read from the first score
    assert matched


def test_patient_edit_is_saved(clinic, snap_compare):
    seen = {}

    async def flow(pilot):
        await open_patient_by_phone(pilot, "5550101003")
        email = pilot.app.screen.query_one("#email")
        email.focus()
        await type_text(pilot, "casey@example.org")
        await pilot.press("enter")
        await settle(pilot)
        seen["notices"] = notices(pilot.app)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert "saved" in seen["notices"]
    detail = get_patient(clinic.patients["casey"])
    assert detail.email == "casey@example.org" and detail.updated_by == "test-desk"
    assert matched


def test_stale_edit_is_refused_with_who(clinic, snap_compare):
    seen = {}
    casey = clinic.patients["casey"]

    async def flow(pilot):
        await open_patient_by_phone(pilot, "5550101003")
        phone = pilot.app.screen.query_one("#phone")
        phone.focus()
        phone.value = ""
        await type_text(pilot, "555-010-9999")
        # Meanwhile another desk saves the same patient.
        current = get_patient(casey)
        update_patient(casey, version=current.version, changes={"phone": "555-010-7777"}, actor="other-desk",
                       now=FROZEN_NOW)
        await pilot.press("enter")
        await settle(pilot)
        seen["notices"] = notices(pilot.app)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert "changed by other-desk" in seen["notices"]
    assert get_patient(casey).phone == "555-010-7777"
    assert matched


def test_course_plan_shows_proposal_before_booking(clinic, snap_compare):
    async def flow(pilot):
        await open_patient_by_phone(pilot, "5550101003")
        await pilot.press("P")
        await settle(pilot)
        at = pilot.app.screen.query_one("#at")
        at.focus()
        await type_text(pilot, "14:00")
        await pilot.press("enter")
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert "6 sessions from" in app.final_text
    assert patient_courses(clinic.settings, clinic.patients["casey"], now=FROZEN_NOW) == []
    assert matched


def test_course_plan_confirmed_is_booked(clinic, snap_compare):
    seen = {}

    async def flow(pilot):
        await open_patient_by_phone(pilot, "5550101003")
        await pilot.press("P")
        await settle(pilot)
        pilot.app.screen.query_one("#at").focus()
        await type_text(pilot, "14:00")
        await pilot.press("enter")
        await settle(pilot)
        seen["plan"] = [(s.start, s.chair_name) for s in pilot.app.screen.plan.sessions]
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        pilot.app.screen.query_one("#patient-tabs").active = "tab-courses"
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    courses = patient_courses(clinic.settings, clinic.patients["casey"], now=FROZEN_NOW)
    assert len(courses) == 1
    assert [(row.start, row.chair_name) for row in courses[0].sessions] == seen["plan"]
    assert matched
