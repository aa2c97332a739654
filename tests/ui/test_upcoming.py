"""Upcoming: the 14 days and tomorrow's confirmation calls (enter confirms)."""
from __future__ import annotations

import datetime as dt

import pytest

from keta_tui.clinic.board import confirmation_calls
from tests.conftest import FROZEN_NOW
from tests.ui.conftest import DAY, run_flow, settle


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
