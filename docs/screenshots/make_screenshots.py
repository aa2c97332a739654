"""Save the README's screenshots (board, check-in, patient) as SVG at 100x30 on the demo clinic.

    .venv/bin/python docs/screenshots/make_screenshots.py

Builds the small demo in a temporary folder with time frozen at 10:40 on a fixed clinic
day, so the pictures do not change from run to run.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZE = (100, 30)
# Tue 2026-11-17 10:40 in New York.
FROZEN = dt.datetime(2026, 11, 17, 15, 40, tzinfo=dt.timezone.utc)


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def shoot(app) -> None:
    from keta_tui.clinic.gate import CHECK_IN_FROM

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.save_screenshot("board.svg", path=str(HERE))
        board = app.screen
        waiting = next(row for row in board.board.sessions if row.status in CHECK_IN_FROM[:2])
        board.select_session(waiting.id)
        await pilot.press("c")
        await settle(pilot)
        app.save_screenshot("check-in.svg", path=str(HERE))
        await pilot.press("escape")
        await settle(pilot)
        course_row = next(row for row in board.board.sessions if (row.number or 0) >= 4)
        board.select_session(course_row.id)
        await pilot.press("o")
        await settle(pilot)
        app.screen.query_one("#patient-tabs").active = "tab-courses"
        await settle(pilot)
        app.save_screenshot("patient.svg", path=str(HERE))


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="keta-shots-"))
    os.environ["XDG_DATA_HOME"] = str(folder)
    from keta_tui.cli.main import resolve_db_target
    from keta_tui.clinic.clock import Clock
    from keta_tui.clinic.demo import ensure_demo
    from keta_tui.clinic.setup import load_settings
    from keta_tui.ui.app import KetaApp

    clock = Clock(FROZEN)
    ensure_demo(resolve_db_target(None, True), clock=clock)
    app = KetaApp(load_settings(), clock=clock, actor="screenshots", cursor_blink=False, keys={})
    asyncio.run(shoot(app))
    print(f"saved board.svg, check-in.svg, patient.svg in {HERE}")


if __name__ == "__main__":
    main()
