"""The TUI in a real 80x24 pty: first complete frame, idle bytes per second, peak RSS.

The baseline is a minimal Textual app with a 40-row DataTable run by the same harness.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from measure import BENCH_DIR, PYTHON, ROOT, Result, bench_env
from pty_harness import PtyRun, run_in_pty

MINIMAL_APP = BENCH_DIR / "baselines" / "minimal_app.py"
# The minimal app's last row on an 80x24 screen, and a marker of its table.
MINIMAL_MARKERS = ("Patient 020", "Chair 6")

FIRST_FRAME = Result("TUI first complete frame, 80x24 pty", "ms",
                     baseline="minimal Textual app, 40-row DataTable", max_ratio=1.5)
IDLE_OUTPUT = Result("TUI idle output, live timers, 80x24", "B/s", baseline="same board, timers off",
                     max_value=1024)
PEAK_RSS = Result("TUI peak RSS", "MiB", baseline="minimal Textual app", max_ratio=1.5)
FIGURES = (FIRST_FRAME, IDLE_OUTPUT, PEAK_RSS)


@dataclass(frozen=True)
class Program:
    """A full-screen program to measure and the texts that prove its frame is complete."""

    argv: Sequence[str]
    env: dict[str, str]
    markers: Sequence[str]


def minimal_program() -> Program:
    return Program([PYTHON, str(MINIMAL_APP)], bench_env(), MINIMAL_MARKERS)


def board_markers(keta: Sequence[str], db: Path, env: dict[str, str]) -> tuple[str, str]:
    """Texts only a loaded board shows: the first seated/reserved patient in the chairs
    panel and the first session's status in the sessions table."""
    out = subprocess.run([*keta, "--db", str(db), "today", "--json"], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    day = json.loads(out)
    by_id = {session["id"]: session for session in day["sessions"]}
    in_chair = next(by_id[chair["session"]] for chair in day["chairs"] if chair["session"] in by_id)
    # The panel clips long names; ten characters are always shown.
    return in_chair["patient"]["name"][:10], day["sessions"][0]["status"].replace("_", " ")


def _run(program: Program, idle_s: float = 0.0) -> PtyRun:
    run = run_in_pty(program.argv, program.env, program.markers, idle_s=idle_s)
    if run.first_frame_s is None:
        tail = " ".join(run.screen_text.split())[-300:]
        raise RuntimeError(f"markers {list(program.markers)} never appeared; screen ended: {tail!r}")
    return run


def first_frame_figure(app: Program, baseline: Program, runs: int, warmup: int) -> Result:
    for _ in range(warmup):
        _run(app)
        _run(baseline)
    app_ms, base_ms = [], []
    for _ in range(runs):
        app_ms.append(_run(app).first_frame_s * 1000)
        base_ms.append(_run(baseline).first_frame_s * 1000)
    return replace(FIRST_FRAME, samples=app_ms, baseline_samples=base_ms)


def idle_figures(live: Program, still: Program, baseline: Program, runs: int,
                 idle_s: float) -> list[Result]:
    """Bytes/s idling with live timers vs timers off; peak RSS vs the minimal app."""
    live_rate, still_rate, live_rss, base_rss = [], [], [], []
    for _ in range(runs):
        run = _run(live, idle_s)
        live_rate.append(run.idle_bytes_per_s)
        live_rss.append(run.peak_rss_mib)
        still_rate.append(_run(still, idle_s).idle_bytes_per_s)
        base_rss.append(_run(baseline, idle_s).peak_rss_mib)
    return [
        replace(IDLE_OUTPUT, samples=live_rate, baseline_samples=still_rate,
                note=f"{idle_s:g} s windows after a 1 s settle"),
        replace(PEAK_RSS, samples=live_rss, baseline_samples=base_rss),
    ]
