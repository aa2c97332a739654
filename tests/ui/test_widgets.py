"""The cheap parts of the board: words for states and timers, the keyed table diff, the refresh.

These run without snapshots: they pin down what makes the idle board cost almost nothing.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from textual.app import App

from keta_tui.clinic.board import ChairRow, load_day
from keta_tui.ui.formatting import chair_timer_text, flags_text, initials_of, person, treatment_short
from keta_tui.ui.widgets.chair_panel import ChairPanel, column_widths
from keta_tui.ui.widgets.sessions_table import SessionsTable
from tests.conftest import FROZEN_NOW
from tests.ui.conftest import DAY, make_app, settle

NY = ZoneInfo("America/New_York")


def chair(state, *, milestone="", at=None, since=None, overdue=False, reason=""):
    return ChairRow(id=1, name="Chair 1", routes=("iv",), state=state, session_id=None, patient_name=None,
                    patient_initials=None, treatment_code=None, milestone=milestone, milestone_at=at,
                    since=since, overdue=overdue, reason=reason)


def test_timer_words():
    now = dt.datetime(2026, 11, 17, 10, 0, tzinfo=NY)
    monitoring = chair("monitoring", milestone="may leave", at=now + dt.timedelta(minutes=32),
                       since=now - dt.timedelta(minutes=47))
    assert chair_timer_text(monitoring, now, NY) == "0:47, may leave 10:32"
    turnover = chair("turnover", milestone="turnover ends", at=now + dt.timedelta(minutes=5, seconds=30))
    assert chair_timer_text(turnover, now, NY) == "6 min left"
    late = chair("reserved", milestone="next patient", at=now - dt.timedelta(minutes=20), overdue=True)
    assert chair_timer_text(late, now, NY) == "for 09:40 LATE"
    assert chair_timer_text(chair("out_of_service", reason="pump broken"), now, NY) == "pump broken"


def test_flags_clip_with_a_count_and_names_follow_privacy():
    words = ("late", "no escort recorded", "consent expiring")
    assert flags_text(words) == "late, no escort recorded, consent expiring"
    assert flags_text(words, 12) == "late +2"
    assert person("Thorne, Casey", "C.T.", privacy=True) == "C.T."
    assert person("Thorne, Casey", "C.T.", privacy=False) == "Thorne, Casey"
    assert initials_of("Thorne, Casey") == "C.T."
    assert treatment_short("esketamine-56") == "esk-56" and treatment_short("iv-ketamine") == "iv-ket"


class TableApp(App):
    def compose(self):
        yield SessionsTable()


def test_table_updates_only_changed_cells(clinic):
    """A tick with nothing new touches no cell; one status change touches one row's cells."""
    board = load_day(clinic.settings, DAY, now=FROZEN_NOW)
    tz = clinic.settings.tz
    calls = {"update": 0, "add": 0, "clear": 0}

    async def scenario():
        app = TableApp()
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one(SessionsTable)
            table.show(board.sessions, tz, False)
            await pilot.pause()
            for name, method in (("update", "update_cell"), ("add", "add_row"), ("clear", "clear")):
                original = getattr(table, method)

                def counted(*args, _name=name, _original=original, **kwargs):
                    calls[_name] += 1
                    return _original(*args, **kwargs)

                setattr(table, method, counted)
            table.show(board.sessions, tz, False)  # a tick: same data
            assert calls == {"update": 0, "add": 0, "clear": 0}
            changed = tuple(dataclasses.replace(row, status="no_show") if row.id == clinic.sessions["late"]
                            else row for row in board.sessions)
            table.show(changed, tz, False)
            assert calls["update"] == 1 and calls["add"] == 0 and calls["clear"] == 0
            assert table.get_cell(str(clinic.sessions["late"]), "status").plain == "no-show"

    asyncio.run(scenario())


class ChairsApp(App):
    def compose(self):
        yield ChairPanel()


def test_chair_columns_match_the_board_layout():
    """Patient takes half of what is left (8..26 cells), the timer the rest (>= 12)."""
    assert column_widths(78) == (9, 17, 22, 7, 23)
    assert column_widths(58) == (9, 17, 12, 7, 13)
    assert column_widths(118) == (9, 17, 26, 7, 59)


def test_chair_panel_redraws_only_changed_lines():
    """40 chairs are one widget; a reload with one chair changed redraws that line only."""
    now = dt.datetime(2026, 11, 17, 10, 0, tzinfo=NY)
    chairs = tuple(dataclasses.replace(chair("available"), id=number, name=f"Chair {number}")
                   for number in range(1, 41))
    redrawn = []

    async def scenario():
        app = ChairsApp()
        async with app.run_test(size=(80, 24)) as pilot:
            panel = app.query_one(ChairPanel)
            panel.show(chairs, now, NY, False)
            await pilot.pause()
            assert panel.size.height == 12 and panel.virtual_size.height == 40 and not panel.children
            assert "Chair 12" in panel.render_line(11).text and "free" in panel.render_line(11).text
            panel.refresh_line = redrawn.append
            panel.show(chairs, now, NY, False)  # a tick: same data
            assert redrawn == []
            seated = dataclasses.replace(chairs[2], state="dosing", patient_name="Doe, Jane",
                                         since=now - dt.timedelta(minutes=5))
            panel.show(chairs[:2] + (seated,) + chairs[3:], now, NY, True)
            assert redrawn == [2]
            line = panel.render_line(2).text
            assert "dosing" in line and "J.D." in line and "Doe" not in line

    asyncio.run(scenario())


def test_idle_refresh_checks_the_marker_but_does_not_reload(clinic, monkeypatch):
    """With nothing written, the board reads the change marker and never reloads the day."""
    from keta_tui.ui.screens import board as board_module

    loads, checks = [], []
    real_load, real_marker = board_module.load_day, board_module.change_marker
    monkeypatch.setattr(board_module, "load_day", lambda *a, **k: loads.append(1) or real_load(*a, **k))
    monkeypatch.setattr(board_module, "change_marker", lambda: checks.append(1) or real_marker())
    app = make_app(clinic)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for _ in range(50):  # refresh_seconds is 0.2 in tests: three checks, 5 s at most
                if len(checks) >= 3:
                    break
                await pilot.pause(0.1)
            await settle(pilot)

    asyncio.run(scenario())
    assert len(loads) == 1
    assert len(checks) >= 3
    assert len(load_day(clinic.settings, DAY, now=FROZEN_NOW).sessions) == 7


def test_a_desk_can_rebind_keys(clinic, tmp_path):
    from keta_tui.ui.keymap import load_keymap

    keys_file = tmp_path / "keys.toml"
    keys_file.write_text('[keys]\n"keta.find" = "f"\n"keta.nonsense" = "z"\n', encoding="utf-8")
    keys = load_keymap(keys_file)
    assert keys == {"keta.find": "f"}  # unknown ids are ignored
    app = make_app(clinic, keys=keys)

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("f")
            await settle(pilot)
            assert type(app.screen).__name__ == "FindPatientScreen"

    asyncio.run(scenario())
    assert len(load_day(clinic.settings, DAY, now=FROZEN_NOW).sessions) == 7
