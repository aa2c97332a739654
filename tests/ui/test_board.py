"""The board: loads the day, shows chairs and sessions, follows other desks' writes, resizes."""
from __future__ import annotations

import datetime as dt

import pytest

from keta_tui.clinic import lifecycle
from keta_tui.clinic.board import load_day
from tests.conftest import FROZEN_NOW
from tests.ui.conftest import ACTOR, DAY, make_app, screen_text, settle


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_board_loads_the_day(clinic, snap_compare, size):
    app = make_app(clinic)
    seen = {}

    async def run_before(pilot):
        await settle(pilot)
        seen["text"] = screen_text(pilot.app)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    text = seen["text"]
    # At 80x24 every chair and the day's sessions show, states in words.
    for chair in range(1, 7):
        assert f"Chair {chair}" in text
    assert "dosing" in text and "monitoring" in text and "reserved" in text
    assert "Thorne, Casey" in text and "late" in text
    board = load_day(clinic.settings, DAY, now=FROZEN_NOW)
    assert len(board.sessions) == 7


def test_another_desk_write_shows_within_the_refresh(clinic):
    """A write through the services (another desk) appears on the open board by itself."""
    app = make_app(clinic)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert "Thorne, Casey" in screen_text(app)
            # Another desk cancels Casey's session on its own connection.
            lifecycle.cancel(clinic.settings, clinic.sessions["check_in"], reason="patient phoned",
                             actor="other-desk", now=FROZEN_NOW)
            for _ in range(30):  # refresh_seconds is 0.2 in tests; allow up to 3 s
                await pilot.pause(0.1)
                await settle(pilot)
                if "cancelled" in screen_text(app):
                    break
            text = screen_text(app)
            assert "cancelled" in text
            table = app.screen.query_one("SessionsTable")
            assert table.get_cell(str(clinic.sessions["check_in"]), "status").plain == "cancelled"

    import asyncio

    asyncio.run(scenario())
    board = load_day(clinic.settings, DAY, now=FROZEN_NOW)
    assert next(r for r in board.sessions if r.id == clinic.sessions["check_in"]).status == "cancelled"
