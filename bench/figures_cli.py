"""`keta today` from process start to exit, against the bare sqlite3 + rich script."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

from demo_cache import CACHE_DIR, Demo, keta_argv
from measure import BENCH_DIR, PYTHON, Result, repeat_interleaved, wall_ms

BARE_TODAY = BENCH_DIR / "baselines" / "bare_today.py"

DEMO_BUILD = Result("keta demo --size large (build)", "s", max_value=60)
TODAY = Result("keta today, large demo, to a file", "ms", baseline="bare sqlite3+rich script",
               max_ratio=1.3, max_value=100)
TODAY_SCALING = Result("keta today, large / small demo", "ms", baseline="keta today, small demo",
                       max_ratio=1.15)
FIGURES = (DEMO_BUILD, TODAY, TODAY_SCALING)


def today_figures(large: Demo, small: Demo, day: dt.date, timezone: str, env: dict[str, str],
                  runs: int, warmup: int) -> list[Result]:
    """``env`` freezes "now" on ``day``, so plain `keta today` prints the bench day."""
    output = CACHE_DIR / "today.out"

    def keta_today(demo: Demo):
        argv = [*keta_argv(), "--db", str(demo.path), "today"]
        return lambda: wall_ms(argv, env, output)

    bare = [PYTHON, str(BARE_TODAY), str(large.path), day.isoformat(), timezone]
    large_ms, bare_ms, small_ms = repeat_interleaved(
        runs, warmup, keta_today(large), lambda: wall_ms(bare, env, output), keta_today(small))
    return [replace(TODAY, samples=large_ms, baseline_samples=bare_ms),
            replace(TODAY_SCALING, samples=large_ms, baseline_samples=small_ms)]


def demo_build_figure(large: Demo) -> Result:
    if large.build_s is None:
        return replace(DEMO_BUILD, note="build time not recorded")
    note = "one build, recorded when cached" if large.reused else "one build, this run"
    return replace(DEMO_BUILD, samples=[large.build_s], note=note)
