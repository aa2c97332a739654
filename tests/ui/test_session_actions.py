"""Undo, cancel with a reason, no-show, the session menu and the palette on the board."""
from __future__ import annotations

import pytest

from keta_tui.clinic.board import load_day
from tests.conftest import FROZEN_NOW
from tests.ui.conftest import DAY, notices, run_flow, select, settle, type_text


def status_of(clinic, role):
    board = load_day(clinic.settings, DAY, now=FROZEN_NOW)
    return next(row for row in board.sessions if row.id == clinic.sessions[role])


@pytest.mark.parametrize("key, said, status", [
    ("u", "back to dosing", "dosing"),  # undo takes back the last step
    ("a", "minimum monitoring", "monitoring"),  # ready to leave too early: refused in words, no crash
], ids=["undo", "refused_advance"])
def test_key_on_the_monitoring_session(clinic, snap_compare, key, said, status):
    seen = {}

    async def flow(pilot):
        await select(pilot, clinic.sessions["monitoring"])
        await pilot.press(key)
        await settle(pilot)
        seen["notices"] = notices(pilot.app)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert said in seen["notices"]
    assert status_of(clinic, "monitoring").status == status
    assert matched


def test_cancel_asks_for_a_reason(clinic, snap_compare):
    async def flow(pilot):
        await select(pilot, clinic.sessions["late"])
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("enter")  # no reason yet: refused in the dialog, nothing sent
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ReasonDialog"
        await type_text(pilot, "transport fell through")
        await pilot.press("enter")
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    row = status_of(clinic, "late")
    assert row.status == "cancelled" and row.close_reason == "transport fell through"
    assert matched


def test_no_show_from_the_session_menu(clinic, snap_compare):
    seen = {}

    async def flow(pilot):
        await select(pilot, clinic.sessions["late"])
        await pilot.press("enter")
        await settle(pilot)
        seen["menu"] = type(pilot.app.screen).__name__
        await pilot.press("n")  # no-show in the menu
        await settle(pilot)
        await pilot.press("y")  # confirm
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert seen["menu"] == "SessionMenu"
    assert status_of(clinic, "late").status == "no_show"
    assert matched


def test_palette_runs_a_desk_verb(clinic, snap_compare):
    async def flow(pilot):
        await select(pilot, clinic.sessions["late"])
        await pilot.press("ctrl+p")
        await settle(pilot)
        await type_text(pilot, "no-show")
        await pilot.pause(0.3)  # the palette searches providers in the background
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ConfirmDialog"
        await pilot.press("y")
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert status_of(clinic, "late").status == "no_show"
    assert matched
