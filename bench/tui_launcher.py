"""Opens keta's board on the bench's clinic day, with its clock ticking or frozen.

`keta` itself shows the real today, which may be a closed day with no live timers;
this starts the same KetaApp as `keta` does, on the bench day at a busy hour.
``live``: the clock ticks from there (live timers); ``still``: frozen there (timers off).
Usage: tui_launcher.py DB_PATH YYYY-MM-DDTHH:MM (clinic wall clock) live|still
"""
from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass

from keta_tui.clinic.clock import UTC, Clock, to_utc
from keta_tui.clinic.setup import load_settings
from keta_tui.db.connection import open_database


@dataclass(frozen=True)
class ShiftedClock(Clock):
    """The real clock moved by a fixed offset: it ticks like the real one."""

    offset: dt.timedelta = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return (dt.datetime.now(UTC) + self.offset).replace(microsecond=0)


def main(db_path: str, start_text: str, mode: str) -> int:
    open_database(db_path)
    settings = load_settings()
    start = to_utc(dt.datetime.fromisoformat(start_text), settings.tz).replace(tzinfo=UTC)
    if mode == "live":
        clock = ShiftedClock(offset=start - dt.datetime.now(UTC))
    else:
        clock = Clock(fixed=start)
    from keta_tui.ui.app import KetaApp

    app = KetaApp(settings, clock=clock, actor="bench")
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
