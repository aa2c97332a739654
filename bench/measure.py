"""Timing primitives and the result row every figure produces.

A figure runs several times after a warm-up; its baseline runs interleaved with it
in the same run, so machine noise hits both alike and the ratio stays meaningful.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PYTHON = sys.executable


@dataclass
class Result:
    """One row of the table: a figure, its samples, its baseline's, and its budget."""

    figure: str
    unit: str
    samples: list[float] = field(default_factory=list)
    baseline: str = ""
    baseline_samples: list[float] = field(default_factory=list)
    max_ratio: float | None = None  # budget as a ratio to the baseline's median
    max_value: float | None = None  # budget as an absolute median, in ``unit``
    note: str = ""  # why a figure is missing, or what it measured exactly

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline_samples) if self.baseline_samples else None

    @property
    def ratio(self) -> float | None:
        base = self.baseline_median
        if self.median is None or not base:
            return None
        return self.median / base

    def budget_text(self) -> str:
        parts = []
        if self.max_ratio is not None:
            parts.append(f"<= {self.max_ratio:g}x")
        if self.max_value is not None:
            parts.append(f"<= {format_value(self.max_value, self.unit)}")
        return ", ".join(parts) or "-"

    def verdict(self) -> str:
        if not self.samples:
            return "not run"
        over = []
        if self.max_ratio is not None and self.ratio is not None and self.ratio > self.max_ratio:
            over.append(f"ratio +{(self.ratio / self.max_ratio - 1) * 100:.0f}%")
        if self.max_value is not None and self.median is not None and self.median > self.max_value:
            over.append(f"+{(self.median / self.max_value - 1) * 100:.0f}%")
        return "OVER " + ", ".join(over) if over else "ok"


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "B/s":
        return f"{value:.0f} B/s"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "queries":
        return f"{value:g} q"
    return f"{value:g} {unit}"


def repeat_interleaved(runs: int, warmup: int, *steps: Callable[[], float]) -> list[list[float]]:
    """Run each step ``warmup`` times, then ``runs`` rounds of every step in turn.

    Returns one sample list per step; interleaving keeps a noisy moment from
    landing on one side of a ratio only.
    """
    for _ in range(warmup):
        for step in steps:
            step()
    samples: list[list[float]] = [[] for _ in steps]
    for _ in range(runs):
        for index, step in enumerate(steps):
            samples[index].append(step())
    return samples


def bench_env(**extra: str) -> dict[str, str]:
    """The environment every measured process gets: no debug, no colour surprises."""
    # PYTHONDONTWRITEBYTECODE would make every run recompile keta's sources, as no user's does.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KETA_", "TEXTUAL")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("KETA_ACTOR", "bench")
    env.update(extra)
    return env


def wall_ms(argv: Sequence[str], env: dict[str, str], output: Path) -> float:
    """Process start to exit, stdout to a file (as a shell script would), in ms."""
    with open(output, "wb") as sink:
        started = time.perf_counter()
        completed = subprocess.run(list(argv), stdout=sink, stderr=subprocess.PIPE, env=env, cwd=ROOT)
        elapsed = (time.perf_counter() - started) * 1000
    if completed.returncode != 0:
        message = completed.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"{' '.join(argv[:3])}... exited {completed.returncode}: {message[-1] if message else ''}")
    return elapsed
