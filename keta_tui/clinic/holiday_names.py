"""Public holiday names by date from the `holidays` package, kept on disk per year.

Importing `holidays` loads every country's module (about 300 ms here), which each
`keta today` and each start of the board would pay to learn whether one day is a
holiday. A country's holidays for one year are computed once and kept in the user
cache folder, keyed by the installed `holidays` package (its file's size and time), so an
upgrade recomputes them.
"""
from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import json
import os
from pathlib import Path


def holiday_name(country: str, subdivision: str, day: dt.date) -> str | None:
    """The holiday's name on ``day`` ("Thanksgiving Day"), or None."""
    return year_holidays(country, subdivision, day.year).get(day.isoformat())


def check_known(country: str, subdivision: str = "") -> None:
    """Raises what `holidays` raises (NotImplementedError) for an unknown country or subdivision."""
    year_holidays(country, subdivision, dt.date.today().year)


@functools.lru_cache(maxsize=64)
def year_holidays(country: str, subdivision: str, year: int) -> dict[str, str]:
    """ISO date -> name for one country (and subdivision) and year."""
    path = _cache_path(country, subdivision, year)
    if path is not None:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # absent or unreadable: compute it again
    names = _computed(country, subdivision, year)
    if path is not None:
        _store(path, names)
    return names


def _computed(country: str, subdivision: str, year: int) -> dict[str, str]:
    import holidays

    calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return {day.isoformat(): str(name) for day, name in sorted(calendar.items())}


def _cache_path(country: str, subdivision: str, year: int) -> Path | None:
    # importlib.metadata would cost 20 ms to import; the package file identifies the install.
    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.origin:
        return None
    try:
        stat = os.stat(spec.origin)
    except OSError:
        return None
    version = f"{stat.st_size}-{stat.st_mtime_ns}"
    from platformdirs import user_cache_path

    safe = "".join(ch for ch in f"{country}-{subdivision}" if ch.isalnum() or ch == "-")
    return user_cache_path("keta", appauthor=False) / "holidays" / f"{version}-{safe}-{year}.json"


def _store(path: Path, names: dict[str, str]) -> None:
    # Written aside then renamed, so a desk reading at the same moment never sees half a file.
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError:
        return  # a read-only home only costs the next process the computation
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(names, out)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
