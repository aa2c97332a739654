"""Day navigation, privacy mode, help, resizing, and database text shown literally."""
from __future__ import annotations

import datetime as dt

from keta_tui.clinic.board import load_day
from keta_tui.clinic.booking import book_session
from keta_tui.clinic.patients import add_patient, get_patient
from tests.conftest import FROZEN_NOW
from tests.ui.conftest import ACTOR, DAY, run_flow, select, settle, type_text


def test_day_navigation(clinic, snap_compare):
    seen = {}

    async def flow(pilot):
        board = pilot.app.screen
        await pilot.press("right_square_bracket")
        await settle(pilot)
        seen["next"] = (board.day, board.query_one("SessionsTable").row_count)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(pilot)
        seen["previous"] = board.day
        await pilot.press("t")
        await settle(pilot)
        seen["today"] = board.day
        await pilot.press("g")
        await settle(pilot)
        await type_text(pilot, "2026-11-18")
        await pilot.press("enter")
        await settle(pilot)
        seen["went"] = board.day

    app, matched = run_flow(clinic, snap_compare, flow)
    tomorrow = DAY + dt.timedelta(days=1)
    assert seen["next"] == (tomorrow, len(load_day(clinic.settings, tomorrow, now=FROZEN_NOW).sessions))
    assert seen["previous"] == DAY - dt.timedelta(days=1)
    assert seen["today"] == DAY and seen["went"] == tomorrow
    assert "(tomorrow)" in app.final_text
    assert matched


def test_privacy_mode_shows_initials_only(clinic, snap_compare):
    async def flow(pilot):
        await pilot.press("p")
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    text = app.final_text
    assert "PRIVACY" in text
    for full_name in ("Quill, Avery", "Thorne, Casey", "Rowan, Blake", "Lark, Emery"):
        assert full_name not in text
    assert "C.T." in text and "A.Q." in text
    # Privacy is display only: the day still holds the names.
    names = {row.patient_name for row in load_day(clinic.settings, DAY, now=FROZEN_NOW).sessions}
    assert "Thorne, Casey" in names
    assert matched


def test_help_lists_every_key(clinic, snap_compare):
    async def flow(pilot):
        await pilot.press("question_mark")
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow, size=(100, 40))
    from keta_tui.ui.keymap import DESK_VERBS

    for verb in DESK_VERBS:
        assert verb.help in app.final_text.replace("\n", " ") or verb.help[:30] in app.final_text
    assert len(load_day(clinic.settings, DAY, now=FROZEN_NOW).sessions) == 7
    assert matched


def test_resize_to_60x20_and_back(clinic, snap_compare):
    seen = {}

    async def flow(pilot):
        await pilot.resize_terminal(60, 20)
        await settle(pilot)
        seen["small"] = (pilot.app.size, len(pilot.app.screen.query_one("#chairs").lines))
        await pilot.resize_terminal(80, 24)
        await settle(pilot)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert seen["small"] == ((60, 20), 6)
    assert "Chair 6" in app.final_text
    assert len(load_day(clinic.settings, DAY, now=FROZEN_NOW).sessions) == 7
    assert matched


def test_database_text_is_shown_literally(clinic, snap_compare):
    """A name holding markup or an escape sequence shows as typed, never interpreted."""
    booked_at = dt.datetime(2026, 11, 10, 14, 0, tzinfo=dt.timezone.utc)
    patient = add_patient(first_name="[bold]Mal[/]", last_name="O'Brien \x1b[31mred", phone="555-010-4004",
                          actor=ACTOR, now=booked_at)
    session = book_session(clinic.settings, patient_id=patient.id, treatment_code="esketamine-56",
                 start_local=dt.datetime(2026, 11, 17, 15, 0), chair_name="Chair 5", actor=ACTOR, now=booked_at)

    async def flow(pilot):
        await select(pilot, session.id)

    app, matched = run_flow(clinic, snap_compare, flow)
    assert "[bold]Mal[/]" in app.final_text
    assert "\x1b" not in app.final_text
    names = {row.patient_name for row in load_day(clinic.settings, DAY, now=FROZEN_NOW).sessions}
    assert any("[bold]Mal[/]" in name for name in names)
    assert matched


def test_quit_asks_only_when_a_form_holds_unsaved_input(clinic, snap_compare):
    seen = {}

    async def flow(pilot):
        await pilot.press("slash")
        await settle(pilot)
        await type_text(pilot, "Thorne")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        pilot.app.screen.query_one("#email").focus()
        await type_text(pilot, "typed@example.org")
        pilot.app.screen.query_one("#rems_enrolled").focus()  # q in a text field would type a q
        await pilot.pause()
        await pilot.press("q")
        await settle(pilot)
        seen["asked"] = type(pilot.app.screen).__name__

    app, matched = run_flow(clinic, snap_compare, flow)
    assert seen["asked"] == "ConfirmDialog"
    assert get_patient(clinic.patients["casey"]).email == ""  # nothing was saved behind the desk's back
    assert matched


def test_quit_without_unsaved_input_exits_at_once(clinic):
    import asyncio

    from tests.ui.conftest import make_app

    app = make_app(clinic)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("q")
            await pilot.pause()
            assert app._exit  # no question asked

    asyncio.run(scenario())
    assert len(load_day(clinic.settings, DAY, now=FROZEN_NOW).sessions) == 7
