"""Booking the next session from a slot, and a refused booking showing why and the alternatives."""
from __future__ import annotations

import datetime as dt

import pytest

from keta_tui.clinic.board import load_day
from tests.conftest import FROZEN_NOW
from tests.ui.conftest import DAY, notices, run_flow, select, settle, type_text

TOMORROW = DAY + dt.timedelta(days=1)


def sessions_of(clinic, patient, day):
    board = load_day(clinic.settings, day, now=FROZEN_NOW)
    return [row for row in board.sessions if row.patient_id == clinic.patients[patient]]


def test_book_next_session_from_a_free_slot(clinic, snap_compare):
    seen = {}

    async def flow(pilot):
        await select(pilot, clinic.sessions["check_in"])
        await pilot.press("b")
        await settle(pilot)
        screen = pilot.app.screen
        seen["first_slot"] = screen.slots[0]
        await pilot.press("enter")  # the slots list has the focus: book the first one
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        seen["notices"] = notices(pilot.app)

    app, matched = run_flow(clinic, snap_compare, flow)
    slot = seen["first_slot"]
    assert "booked" in seen["notices"]
    booked = sessions_of(clinic, "casey", slot.start.date())
    assert [(row.start, row.chair_name) for row in booked] == [(slot.start, slot.chair_name)]
    assert matched


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_refused_booking_shows_reason_and_nearest_slots(clinic, snap_compare, size):
    """Emery is already booked tomorrow 10:00; 10:30 overlaps that session."""
    seen = {}

    async def flow(pilot):
        await select(pilot, clinic.sessions["afternoon"])
        await pilot.press("b")
        await settle(pilot)
        exact = pilot.app.screen.query_one("#exact")
        exact.focus()
        await type_text(pilot, f"{TOMORROW:%Y-%m-%d} 10:30")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        seen["notices"] = notices(pilot.app)
        seen["slots"] = list(pilot.app.screen.slots)
        seen["message"] = str(pilot.app.screen.query_one("#book-message").render())

    app, matched = run_flow(clinic, snap_compare, flow, size=size)
    assert "already has a session" in seen["notices"]
    assert seen["slots"], "the refusal offers the nearest free slots"
    assert "Nearest free slots" in app.final_text
    assert [row.start.hour for row in sessions_of(clinic, "emery", TOMORROW)] == [10]
    assert matched


def test_reschedule_moves_a_session(clinic, snap_compare):
    async def flow(pilot):
        await select(pilot, clinic.sessions["check_in"])
        await pilot.press("r")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#exact").focus()
        await type_text(pilot, f"{DAY:%Y-%m-%d} 14:00")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    rows = {row.start.strftime("%H:%M"): row.status for row in sessions_of(clinic, "casey", DAY)}
    assert rows == {"11:00": "rescheduled", "14:00": "scheduled"}
    assert matched
