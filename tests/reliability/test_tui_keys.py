"""Random keys into the TUI across its screens, with hostile names on the board: no
exception, the app keeps running, and the database's invariants hold afterwards."""
from __future__ import annotations

import asyncio
import datetime as dt
import random
import string

import pytest

from keta_tui.clinic.booking import book_session
from keta_tui.clinic.errors import Refused
from keta_tui.clinic.patients import add_patient
from keta_tui.ui.keymap import DESK_VERBS

from ..conftest import FROZEN_NOW, PG_URL
from ..ui.conftest import ACTOR, DAY, build_clinic, settle
from .invariants import check_courses, check_schedule, check_storage, record_results

HOSTILE_NAMES = ("[bold]Bold[/]", "[link=http://x]Link[/link]", "\x1b[2JClear", "[/]", "\u202eRtl")
NAVIGATION = ("escape", "escape", "enter", "enter", "tab", "shift+tab", "up", "down", "up", "down", "left", "right",
              "pageup", "pagedown", "home", "end", "space", "backspace", "ctrl+p")
TYPING = tuple(string.ascii_lowercase + string.digits + "-:/ ")
KEY_COUNT = 300
KEYS = tuple(key for verb in DESK_VERBS for key in verb.key.split(",")) + NAVIGATION * 2 + TYPING


def _hostile_patients(clinic) -> None:
    for index, name in enumerate(HOSTILE_NAMES):
        patient = add_patient(first_name=name, last_name=f"Hostile{index}", notes=name, actor="test-desk",
                              now=FROZEN_NOW)
        start = dt.datetime.combine(DAY, dt.time(14 + index // 3, 15 * (index % 3)))
        try:
            book_session(clinic.settings, patient_id=patient.id, treatment_code="iv-ketamine", start_local=start,
                         chair_name=None, actor="test-desk", now=FROZEN_NOW, suggest=0)
        except Refused:
            pass  # a full afternoon is fine: the name still shows in search and upcoming


@pytest.mark.skipif(bool(PG_URL), reason="the UI's own suite covers PostgreSQL; keys do not depend on the backend")
@pytest.mark.parametrize("seed", [7])
def test_random_keys_across_screens(clinic_db, tmp_path, monkeypatch, seed):
    monkeypatch.chdir(tmp_path)  # the palette's "save screenshot" writes to the working folder
    clinic = build_clinic(clinic_db)
    _hostile_patients(clinic)
    from keta_tui.clinic.clock import Clock
    from keta_tui.ui.app import KetaApp

    app = KetaApp(clinic.settings, clock=Clock(FROZEN_NOW), actor=ACTOR, cursor_blink=False, keys={},
                  refresh_seconds=2.0)
    quits: list[str] = []
    # Quitting is a legal key; record it and keep going, so every key lands on a live app.
    app.exit = lambda *args, **kwargs: quits.append("exit")
    rng = random.Random(seed)
    pressed: list[str] = []
    screens_seen: set[str] = set()

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for number in range(KEY_COUNT // 3):
                # Three keys at a time, as a quick typist sends them; checks after each burst.
                burst = [rng.choice(KEYS) for _ in range(3)]
                pressed.extend(burst)
                await pilot.press(*burst)
                screens_seen.add(type(app.screen).__name__)
                if number % 20 == 0:
                    await settle(pilot)
                assert app._exception is None, f"after keys {pressed[-10:]}: {app._exception!r}"
                assert app._running, f"the app stopped after keys {pressed[-10:]}"
            await settle(pilot)
            assert app._exception is None, repr(app._exception)

    asyncio.run(scenario())
    check_storage()
    check_schedule(clinic.settings)
    check_courses()
    assert len(screens_seen) >= 3, screens_seen
    record_results("tui_random_keys", {"keys": len(pressed), "screens_visited": sorted(screens_seen),
                                       "quit_requests_absorbed": len(quits)})
