"""Chair service (s): a chair out of service with a reason, refused while occupied, and back."""
from __future__ import annotations

from keta_tui.clinic.board import load_day
from keta_tui.clinic.chairs import list_chairs, set_out_of_service
from tests.conftest import FROZEN_NOW
from tests.ui.conftest import DAY, notices, run_flow, settle, type_text


def chair_reasons() -> dict[str, str | None]:
    return {chair.name: chair.out_of_service_reason for chair in list_chairs()}


async def choose_chair(pilot, name: str) -> None:
    """Open the chair dialog with s and press enter on the named chair."""
    await pilot.press("s")
    await settle(pilot)
    dialog = pilot.app.screen
    assert type(dialog).__name__ == "ChairServiceDialog"
    options = dialog.query_one("#chair-list")
    options.highlighted = next(index for index, chair in enumerate(dialog.chairs.values()) if chair.name == name)
    await pilot.press("enter")
    await settle(pilot)


def take_out_flow(name: str, reason: str, seen: dict):
    """The flow: s, the chair, its reason, enter; ``seen`` gets the notices and the screen after."""
    async def flow(pilot):
        await choose_chair(pilot, name)
        assert type(pilot.app.screen).__name__ == "ReasonDialog"
        await type_text(pilot, reason)
        await pilot.press("enter")
        await settle(pilot)
        seen["notices"] = notices(pilot.app)
        seen["screen"] = type(pilot.app.screen).__name__

    return flow


def test_chair_out_of_service_shows_on_the_board(clinic, snap_compare):
    seen = {}
    app, matched = run_flow(clinic, snap_compare, take_out_flow("Chair 3", "pump fault", seen))
    # Casey at 11:00 today and Gray tomorrow are still booked on Chair 3: the desk is told.
    assert "Chair 3 out of service (pump fault); 2 sessions still booked" in seen["notices"]
    assert seen["screen"] == "BoardScreen"
    assert "pump fault" in app.final_text and "out of service" in app.final_text
    assert chair_reasons()["Chair 3"] == "pump fault"
    chair = next(row for row in load_day(clinic.settings, DAY, now=FROZEN_NOW).chairs if row.name == "Chair 3")
    assert chair.state == "out_of_service"
    assert matched


def test_occupied_chair_is_refused(clinic, snap_compare):
    seen = {}
    # Devon's infusion is running on Chair 2.
    app, matched = run_flow(clinic, snap_compare, take_out_flow("Chair 2", "spill", seen))
    assert "Chair 2 still holds session" in seen["notices"]
    assert seen["screen"] == "ChairServiceDialog"  # stays open to choose another chair
    assert "Chair 2 (iv+nasal): in service" in app.final_text
    assert chair_reasons()["Chair 2"] is None
    assert matched


def test_chair_back_in_service(clinic, snap_compare):
    set_out_of_service("Chair 4", reason="recliner broken", actor="other-desk", now=FROZEN_NOW)
    seen = {}

    async def flow(pilot):
        seen["before"] = next(c for c in pilot.app.screen.board.chairs if c.name == "Chair 4").state
        await choose_chair(pilot, "Chair 4")
        assert type(pilot.app.screen).__name__ == "ConfirmDialog"
        await pilot.press("y")
        await settle(pilot)
        seen["notices"] = notices(pilot.app)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert seen["before"] == "out_of_service"
    assert "Chair 4 back in service" in seen["notices"]
    assert chair_reasons()["Chair 4"] is None
    assert "recliner broken" not in app.final_text
    chair = next(row for row in load_day(clinic.settings, DAY, now=FROZEN_NOW).chairs if row.name == "Chair 4")
    assert chair.state == "reserved"  # Gray's late 09:30 session holds it again
    assert matched
