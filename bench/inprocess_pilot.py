"""keta's TUI under Textual's pilot (80x24) on a copy of the large demo; JSON for run.py.

- desk action: ``a`` (advance) then ``u`` (undo) on a seated session, from the key press
  until the board's status cell shows the new state;
- patient search: each keystroke of a few typed queries, from the key press until the
  results for that text are in the list;
- a second terminal: another connection (a thread here, so the commit's moment is known
  exactly) advances and undoes a session; from its commit until the board shows it.
Keys are posted as the terminal driver posts them: ``Pilot.press`` itself waits for the
process to look idle in 20 ms steps, which would be measured instead of keta.
Usage: inprocess_pilot.py DB_PATH NOW(ISO, aware) RUNS WARMUP
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import sys
import time

from textual import events

from keta_tui.clinic import lifecycle
from keta_tui.clinic.clock import Clock
from keta_tui.clinic.setup import load_settings
from keta_tui.clinic.store import release_connection
from keta_tui.db.connection import open_database
from keta_tui.db.models import Patient
from keta_tui.ui.app import KetaApp
from keta_tui.ui.screens.board import BoardScreen
from keta_tui.ui.screens.find_patient import FindPatientScreen
from keta_tui.ui.widgets.sessions_table import SessionsTable

POLL_S = 0.0005
GIVE_UP_S = 10.0


async def wait_for(condition, give_up_s: float = GIVE_UP_S) -> float:
    """Yield to the app until ``condition()`` holds; returns when it did (perf_counter)."""
    deadline = time.perf_counter() + give_up_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app never showed the expected change")
        await asyncio.sleep(POLL_S)
    return time.perf_counter()


def press(app: KetaApp, key: str) -> None:
    """Post one key press the way the terminal driver does, without waiting."""
    name = "space" if key == " " else key
    app.post_message(events.Key(name, key if len(key) == 1 else None))


def status_cell(table: SessionsTable, session_id: int) -> str:
    return str(table.get_cell(str(session_id), "status"))


def session_in(board: BoardScreen, status: str, skip: set[int]) -> int:
    return next(row.id for row in board.board.sessions if row.status == status and row.id not in skip)


def record_posts(board: BoardScreen, marks: dict[str, float]) -> None:
    """Note when a worker posts each kind of message to the board (where an action's time goes)."""
    post = board.post_message

    def noted(message, _post=post):
        marks.setdefault(type(message).__name__, time.perf_counter())
        return _post(message)

    board.post_message = noted


async def desk_actions(pilot, board: BoardScreen, table: SessionsTable, session_id: int,
                       runs: int, warmup: int) -> tuple[list[float], dict[str, list[float]]]:
    """Samples in ms, and per step the ms from the key press until the write's worker
    finished (``DeskActionDone`` posted) and the reload's (``BoardLoaded`` posted)."""
    board.select_session(session_id)
    samples: list[float] = []
    steps: dict[str, list[float]] = {"DeskActionDone": [], "BoardLoaded": []}
    marks: dict[str, float] = {}
    record_posts(board, marks)
    for index in range(2 * (runs + warmup)):
        await pilot.pause()
        before = status_cell(table, session_id)
        marks.clear()
        started = time.perf_counter()
        press(pilot.app, "a" if index % 2 == 0 else "u")
        shown = await wait_for(lambda: status_cell(table, session_id) != before)
        if index >= 2 * warmup:
            samples.append((shown - started) * 1000)
            for name, times in steps.items():
                if name in marks:
                    times.append((marks[name] - started) * 1000)
        # The worker that wrote must be done before the next key is a fresh action.
        await wait_for(lambda: not board.writing_now() and not board.loading)
    return samples, steps


async def search_keystrokes(pilot, app: KetaApp, queries: list[str], warmup: int) -> list[float]:
    samples = []
    for query_index, query in enumerate(queries):
        press(app, "slash")
        screen = await _screen(app, FindPatientScreen)
        shown_at: dict[str, float] = {}
        original_show = screen._show

        def recording_show(patients, text, _show=original_show, _at=shown_at):
            _show(patients, text)
            _at.setdefault(text, time.perf_counter())

        screen._show = recording_show
        typed = ""
        for char in query:
            typed += char
            text = typed.strip()
            started = time.perf_counter()
            press(app, char)
            if text in shown_at:
                continue  # a space between words: same search, nothing new to show
            shown = await wait_for(lambda: text in shown_at)
            if query_index >= warmup:
                samples.append((shown - started) * 1000)
        press(app, "escape")
        await _screen(app, BoardScreen)
    return samples


def other_desk_step(settings, session_id: int, verb: str, now: dt.datetime) -> float:
    """One step written through another connection; returns the moment it committed."""
    try:
        getattr(lifecycle, verb)(settings, session_id, actor="bench-other-desk", now=now)
        return time.perf_counter()
    finally:
        release_connection()


async def second_terminal(pilot, table: SessionsTable, session_id: int, now: dt.datetime,
                          runs: int) -> list[float]:
    samples = []
    settings = pilot.app.settings
    for index in range(2 * runs):
        verb = "advance" if index % 2 == 0 else "undo"
        before = status_cell(table, session_id)
        written = await asyncio.to_thread(other_desk_step, settings, session_id, verb, now)
        shown = await wait_for(lambda: status_cell(table, session_id) != before)
        samples.append(shown - written)
        # Land the next write anywhere in the board's check period, not just after a check.
        await pilot.pause(0.37)
    return samples


async def _screen(app: KetaApp, kind: type):
    await wait_for(lambda: isinstance(app.screen, kind))
    return app.screen


def search_queries() -> list[str]:
    """Texts a desk types: a last name, "last first", a phone's last digits, a date of birth."""
    first, second = Patient.select().order_by(Patient.id).limit(2)
    return [first.last_name[:6].lower(),  # warm-up
            second.last_name[:6].lower(),
            f"{first.last_name[:5]} {first.first_name[:3]}".lower(),
            first.phone_digits[-4:],
            f"{second.dob:%Y-%m-%d}" if second.dob else second.last_name.lower()]


async def measure(now: dt.datetime, runs: int, warmup: int) -> dict:
    settings = load_settings()
    queries = search_queries()
    app = KetaApp(settings, clock=Clock(fixed=now), actor="bench", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        board = await _screen(app, BoardScreen)
        table = app.screen.query_one(SessionsTable)
        await wait_for(lambda: board.board is not None and table.row_count > 0)
        seated = session_in(board, "seated", set())
        arrived = session_in(board, "arrived", {seated})
        actions, steps = await desk_actions(pilot, board, table, seated, runs, warmup)
        search = await search_keystrokes(pilot, app, queries, 1)
        remote = await second_terminal(pilot, table, arrived, now, max(3, runs))
        await pilot.press("q")
    split = ", ".join(f"{name} posted at {statistics.median(times):.0f} ms"
                      for name, times in steps.items() if times)
    return {"desk_ms": actions, "search_ms": search, "remote_s": remote, "desk_note": split,
            "search_note": f"{len(search)} keystrokes of {queries[1:]!r}"}


def main() -> None:
    db_path, now_text, runs, warmup = sys.argv[1:5]
    open_database(db_path)
    result = asyncio.run(measure(dt.datetime.fromisoformat(now_text), int(runs), int(warmup)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
