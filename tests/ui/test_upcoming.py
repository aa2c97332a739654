"""Upcoming: the 14 days, tomorrow's confirmation calls (enter confirms), REMS forms filed."""
from __future__ import annotations

import datetime as dt

import pytest

from keta_tui.clinic.board import confirmation_calls
from keta_tui.clinic.booking import book_session
from keta_tui.clinic.forms import form_detail, owed_forms
from tests.conftest import FROZEN_NOW
from tests.ui.conftest import (ACTOR, DAY, ESKETAMINE_STEP_MINUTES, notices, run_flow, settle,
                               walk_to_discharge)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_upcoming_shows_fourteen_days(clinic, snap_compare, size):
    async def flow(pilot):
        await pilot.press("w")
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow, size=size)
    assert "Thanksgiving" in app.final_text  # a closed day says why
    assert "3 to confirm" in app.final_text
    assert len(confirmation_calls(clinic.settings, DAY + dt.timedelta(days=1), now=FROZEN_NOW)) == 3
    assert matched


def test_confirmation_call_marks_confirmed(clinic, snap_compare):
    seen = {}

    async def flow(pilot):
        await pilot.press("w")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#upcoming-tabs").active = "tab-calls"
        await settle(pilot)
        calls = screen.query_one("#calls")
        calls.focus()
        seen["first"] = screen.data.calls[0].session_id
        await pilot.press("enter")
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    calls = confirmation_calls(clinic.settings, DAY + dt.timedelta(days=1), now=FROZEN_NOW)
    confirmed = {call.session_id: call.confirmed for call in calls}
    assert confirmed[seen["first"]] is True
    assert sum(confirmed.values()) == 1
    assert "2 to confirm" in app.final_text
    assert matched


def test_rems_form_filed_from_upcoming(clinic, snap_compare):
    """f goes to the Forms tab; f (or enter) and y file the form; a form still in monitoring is refused."""
    yesterday = DAY - dt.timedelta(days=1)
    booked = book_session(clinic.settings, patient_id=clinic.patients["devon"], treatment_code="esketamine-56",
                          start_local=dt.datetime.combine(yesterday, dt.time(10, 30)), chair_name="Chair 1",
                          actor=ACTOR, now=dt.datetime(2026, 11, 10, 14, 0, tzinfo=dt.timezone.utc))
    start = dt.datetime.combine(yesterday, dt.time(10, 30), tzinfo=clinic.settings.tz)
    walk_to_discharge(clinic.settings, booked.id, start, 12, patient="devon", step_minutes=ESKETAMINE_STEP_MINUTES)
    seen = {}

    async def flow(pilot):
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("f")  # to the Forms tab
        await settle(pilot)
        screen = pilot.app.screen
        seen["owed"] = [form.session_id for form in screen.data.forms]
        await pilot.press("f")  # the highlighted (soonest due) form
        await settle(pilot)
        seen["asked"] = type(pilot.app.screen).__name__
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("enter")  # Blake's form: still in monitoring
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        seen["notices"] = notices(pilot.app)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert seen["owed"] == [booked.id, clinic.sessions["monitoring"]]
    assert seen["asked"] == "ConfirmDialog"
    assert "REMS form filed" in seen["notices"] and "still in monitoring" in seen["notices"]
    assert form_detail(clinic.settings, booked.id).filed_by == ACTOR
    assert [form.session_id for form in owed_forms(clinic.settings, now=FROZEN_NOW)] == [clinic.sessions["monitoring"]]
    assert "1 forms owed" in app.final_text
    assert matched
