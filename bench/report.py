"""The results table (markdown, readable in a terminal too) and bench/results/latest.md."""
from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Sequence

from measure import BENCH_DIR, Result, format_value

HEADERS = ("figure", "median", "min", "max", "baseline median", "ratio", "budget", "verdict")


def machine_summary() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            kib = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
            memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"


def software_summary() -> str:
    parts = [f"Python {platform.python_version()}"]
    for package in ("textual", "peewee", "rich"):
        try:
            parts.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(parts)


def _row(result: Result) -> list[str]:
    if not result.samples:
        return [result.figure, "-", "-", "-", "-", "-", result.budget_text(), result.note or "not run"]
    ratio = f"{result.ratio:.2f}x" if result.ratio is not None else "-"
    baseline = format_value(result.baseline_median, result.unit)
    if result.baseline:
        baseline = f"{baseline} ({result.baseline})"
    return [result.figure, format_value(result.median, result.unit),
            format_value(min(result.samples), result.unit), format_value(max(result.samples), result.unit),
            baseline, ratio, result.budget_text(), result.verdict()]


def markdown_table(results: Sequence[Result]) -> str:
    rows = [list(HEADERS)] + [_row(result) for result in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    notes = [f"- {r.figure}: {r.note}" for r in results if r.samples and r.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def write_latest(table: str, day: dt.date, args) -> Path:
    path = BENCH_DIR / "results" / "latest.md"
    path.parent.mkdir(exist_ok=True)
    ran_at = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    text = (
        "# keta benchmark: latest run\n\n"
        f"- ran: {ran_at}, clinic day {day}, {args.runs} measured runs per figure after "
        f"{args.warmup} warm-up, idle windows {args.idle_seconds:g} s\n"
        f"- machine: {machine_summary()}\n"
        f"- software: {software_summary()}\n"
        "- rerun: `make bench` (or `.venv/bin/python bench/run.py`; `--quick` for a smoke run)\n\n"
        f"{table}\n"
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
