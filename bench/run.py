"""keta's benchmark suite: `make bench` (or `.venv/bin/python bench/run.py`).

Builds or reuses the large and small demo clinics, runs every figure several times
after a warm-up with its baseline interleaved in the same run, prints the table and
writes it to bench/results/latest.md. It asserts nothing: a budget that does not
hold is reported as OVER, a figure that cannot run says why.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import traceback
from pathlib import Path
from dataclasses import replace
from typing import Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_cache import Demo, demo_available, ensure_demo, keta_argv, working_copy  # noqa: E402
from measure import BENCH_DIR, PYTHON, ROOT, Result, bench_env  # noqa: E402
from report import machine_summary, markdown_table, write_latest  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs per figure (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs first (default 1)")
    parser.add_argument("--quick", action="store_true", help="3 runs (one idle window): a smoke run")
    parser.add_argument("--only", default="", help="run only figures whose group contains this text")
    # Timers show minutes: a window shorter than one would miss their redraw entirely.
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="idle window for bytes/s (default 60)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached demo clinics")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results/latest.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 3
    return args


# "Now" for every figure: an ordinary Tuesday morning, so every run sees the same busy
# day (the demo is built around it) whatever the real date; the cache outlives the day.
BENCH_DAY = dt.date(2026, 11, 17)
BENCH_WALL_TIME = dt.time(11, 0)


def bench_moment(settings) -> dt.datetime:
    """The bench's "now" as aware UTC."""
    return dt.datetime.combine(BENCH_DAY, BENCH_WALL_TIME, settings.tz).astimezone(dt.timezone.utc)


class Suite:
    """Runs figure groups in turn; a group that fails becomes a row saying why."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results: list[Result] = []

    def group(self, name: str, figures: Sequence[Result], build: Callable[[], list[Result]]) -> None:
        if self.args.only and self.args.only not in name:
            return
        started = time.perf_counter()
        print(f"  {name} ...", end="", flush=True)
        try:
            self.results.extend(build())
            print(f" {time.perf_counter() - started:.0f} s", flush=True)
        except Unavailable as exc:
            print(f" skipped: {exc}", flush=True)
            self.results.extend(replace(figure, note=str(exc)) for figure in figures)
        except Exception as exc:  # one broken figure must not hide the others
            print(f" FAILED: {exc}", flush=True)
            traceback.print_exc(limit=3, file=sys.stderr)
            self.results.extend(replace(figure, note=f"failed: {exc}"[:160]) for figure in figures)


class Unavailable(Exception):
    """A figure's code has not landed yet (or its prerequisite is missing)."""


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from keta_tui.clinic.settings import example_settings

    settings = example_settings()
    day, moment = BENCH_DAY, bench_moment(settings)
    frozen_env = bench_env(KETA_NOW=moment.isoformat())
    suite = Suite(args)
    print(f"keta bench: {machine_summary()}; clinic now {moment:%Y-%m-%d %H:%M} UTC; "
          f"{args.runs} runs after {args.warmup} warm-up")

    demos: dict[str, Demo] = {}

    def need_demo(size: str) -> Demo:
        if not demo_available():
            raise Unavailable("waiting for keta demo (keta_tui/clinic/demo.py)")
        if size not in demos:
            print(f" [building {size} demo]", end="", flush=True)
            demos[size] = ensure_demo(size, frozen_env, rebuild=args.rebuild)
        return demos[size]

    import figures_cli
    import figures_inprocess
    import figures_tui

    def cli_group() -> list[Result]:
        if not (ROOT / "keta_tui/cli/cmd_day.py").exists():
            raise Unavailable("waiting for keta today (keta_tui/cli/cmd_day.py)")
        large, small = need_demo("large"), need_demo("small")
        return [figures_cli.demo_build_figure(large),
                *figures_cli.today_figures(large, small, day, settings.timezone, frozen_env,
                                             args.runs, args.warmup)]

    suite.group("cli", figures_cli.FIGURES, cli_group)

    def engine_group() -> list[Result]:
        return figures_inprocess.engine_figures(need_demo("large").path, moment, args.runs, args.warmup)

    suite.group("engine", figures_inprocess.ENGINE_FIGURES, engine_group)

    def pilot_group() -> list[Result]:
        if not (ROOT / "keta_tui/ui/app.py").exists():
            raise Unavailable("waiting for the TUI (keta_tui/ui/app.py)")
        copy = working_copy(need_demo("large"), "pilot")
        return figures_inprocess.pilot_figures(copy, moment, args.runs, args.warmup)

    suite.group("pilot", figures_inprocess.PILOT_FIGURES, pilot_group)

    def tui_group() -> list[Result]:
        if not (ROOT / "keta_tui/ui/app.py").exists():
            raise Unavailable("waiting for the TUI (keta_tui/ui/app.py)")
        db = need_demo("large").path
        markers = figures_tui.board_markers(keta_argv(), db, frozen_env)
        keta = figures_tui.Program([*keta_argv(), "--db", str(db)], frozen_env, markers)
        minimal = figures_tui.minimal_program()
        wall = f"{BENCH_DAY}T{BENCH_WALL_TIME:%H:%M}"
        launch = [PYTHON, str(BENCH_DIR / "tui_launcher.py"), str(db), wall]
        live = figures_tui.Program([*launch, "live"], bench_env(), markers)
        still = figures_tui.Program([*launch, "still"], bench_env(), markers)
        return [figures_tui.first_frame_figure(keta, minimal, args.runs, args.warmup),
                *figures_tui.idle_figures(live, still, minimal, max(1, args.runs // 3), args.idle_seconds)]

    suite.group("tui", figures_tui.FIGURES, tui_group)

    write = not args.no_write and not args.only
    table = markdown_table(suite.results)
    print()
    print(table)
    if write:
        path = write_latest(table, day, args)
        print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
