"""Check-in through the gate, a failed gate offering deferral, and the walk to discharge."""
from __future__ import annotations

import datetime as dt

import pytest

from keta_tui.clinic.board import load_day
from keta_tui.clinic.clock import Clock
from tests.conftest import FROZEN_NOW
from tests.ui.conftest import DAY, notices, run_flow, select, settle, type_text


def session_row(clinic, role, now=FROZEN_NOW):
    board = load_day(clinic.settings, DAY, now=now)
    return next(row for row in board.sessions if row.id == clinic.sessions[role])


async def fill_gate(pilot, *, fasted: bool, escort=("Robin Thorne", "555-010-3003"), bp=("124", "80"),
                    phq9="14"):
    """Type the answers in field order: escort name, phone, fasting, consent, BP, PHQ-9."""
    await type_text(pilot, escort[0])
    await pilot.press("tab")
    await type_text(pilot, escort[1])
    await pilot.press("tab")
    if fasted:
        await pilot.press("space")
    await pilot.press("tab", "space", "tab")  # consent on file
    await type_text(pilot, bp[0])
    await pilot.press("tab")
    await type_text(pilot, bp[1])
    await pilot.press("tab")
    await type_text(pilot, phq9)
    await pilot.press("enter")
    await settle(pilot)


def test_check_in_passes_the_gate(clinic, snap_compare):
    seen = {}

    async def flow(pilot):
        await select(pilot, clinic.sessions["check_in"])
        await pilot.press("c")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "CheckInScreen"
        await fill_gate(pilot, fasted=True)
        seen["notices"] = notices(pilot.app)
        seen["screen"] = type(pilot.app.screen).__name__

    app, matched = run_flow(clinic, snap_compare, flow)
    assert "has arrived" in seen["notices"]
    assert seen["screen"] == "BoardScreen"
    row = session_row(clinic, "check_in")
    assert row.status == "arrived"
    assert row.escort_name == "Robin Thorne" and row.bp_systolic == 124
    assert matched


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_failed_gate_explains_and_offers_deferral(clinic, snap_compare, size):
    seen = {}

    async def flow(pilot):
        await select(pilot, clinic.sessions["check_in"])
        await pilot.press("c")
        await settle(pilot)
        await fill_gate(pilot, fasted=False)
        seen["screen"] = type(pilot.app.screen).__name__
        seen["focused"] = pilot.app.focused.id

    app, matched = run_flow(clinic, snap_compare, flow, size=size)
    assert seen["screen"] == "CheckInScreen" and seen["focused"] == "defer"
    row = session_row(clinic, "check_in")
    assert row.status == "arrived"  # the arrival is recorded; dosing waits for the gate
    assert matched


def test_failed_gate_then_defer(clinic, snap_compare):
    async def flow(pilot):
        await select(pilot, clinic.sessions["check_in"])
        await pilot.press("c")
        await settle(pilot)
        await fill_gate(pilot, fasted=False)
        await pilot.press("enter")  # the Defer button has the focus
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ReasonDialog"
        await type_text(pilot, "not fasted")
        await pilot.press("enter")
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    row = session_row(clinic, "check_in")
    assert row.status == "deferred" and row.close_reason == "not fasted"
    assert "gate_failed" in row.flags
    assert matched


def test_walk_from_check_in_to_discharge(clinic, snap_compare):
    """c, then a through seated and dosing; 90 minutes later a through to discharged."""
    later = Clock(FROZEN_NOW + dt.timedelta(minutes=90))
    steps = []

    async def flow(pilot):
        await select(pilot, clinic.sessions["check_in"])
        await pilot.press("c")
        await settle(pilot)
        await fill_gate(pilot, fasted=True)
        for _ in range(2):  # seated, dosing
            await pilot.press("a")
            await settle(pilot)
            steps.append(session_row(clinic, "check_in").status)
        pilot.app.clock = later
        pilot.app.now = later.now()
        for _ in range(3):  # monitoring, ready to leave, discharged
            await pilot.press("a")
            await settle(pilot)
            steps.append(session_row(clinic, "check_in", later.now()).status)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert steps == ["seated", "dosing", "monitoring", "ready_to_leave", "discharged"]
    assert session_row(clinic, "check_in").discharged_at is not None
    assert matched
