"""Time: "now", the clinic's wall clock, and parsing what people type.

Instants are stored as naive UTC; the clinic plans and shows in its own zone. "Now"
is always passed in (a :class:`Clock`), so tests and the demo can freeze it.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .errors import BadInput

UTC = dt.timezone.utc


@dataclass(frozen=True)
class Clock:
    """Where "now" comes from. ``fixed`` freezes it (tests, ``KETA_NOW``)."""

    fixed: dt.datetime | None = None

    def now(self) -> dt.datetime:
        """Now as an aware UTC datetime with whole seconds."""
        if self.fixed is not None:
            return self.fixed
        return dt.datetime.now(UTC).replace(microsecond=0)

    def now_utc_naive(self) -> dt.datetime:
        return self.now().replace(tzinfo=None)

    @classmethod
    def from_env(cls) -> "Clock":
        """``KETA_NOW`` (ISO 8601, UTC unless it has an offset) freezes time for scripts and tests."""
        text = os.environ.get("KETA_NOW", "").strip()
        if not text:
            return cls()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise BadInput(f"KETA_NOW: not an ISO date and time: {text!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return cls(moment.astimezone(UTC).replace(microsecond=0))


def to_local(moment_utc: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A stored naive-UTC instant as an aware datetime in the clinic's zone."""
    if moment_utc.tzinfo is None:
        moment_utc = moment_utc.replace(tzinfo=UTC)
    return moment_utc.astimezone(tz)


def to_utc(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A clinic wall-clock time as naive UTC for storage.

    A wall time skipped by a DST jump moves forward by the gap; an ambiguous one
    (clocks going back) takes its first occurrence.
    """
    if local.tzinfo is not None:
        return local.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    aware = local.replace(tzinfo=tz, fold=0)
    roundtrip = aware.astimezone(UTC).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != local:
        # Nonexistent wall time (spring forward): use the instant after the gap.
        aware = local.replace(tzinfo=tz, fold=1)
    return aware.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def local_today(clock: Clock, tz: ZoneInfo) -> dt.date:
    return clock.now().astimezone(tz).date()


def day_bounds_utc(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a clinic day as naive UTC, right across DST changes."""
    start = to_utc(dt.datetime.combine(day, dt.time()), tz)
    end = to_utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), tz)
    return start, end


_RELATIVE = re.compile(r"^([+-])(\d{1,4})d?$")


def parse_date(text: str, today: dt.date) -> dt.date:
    """"YYYY-MM-DD", "today", "tomorrow", "yesterday", "+3" or "-2" (days)."""
    value = (text or "").strip().lower()
    if value in ("today", "t", ""):
        return today
    if value == "tomorrow":
        return today + dt.timedelta(days=1)
    if value == "yesterday":
        return today - dt.timedelta(days=1)
    match = _RELATIVE.match(value)
    if match:
        days = int(match.group(2))
        return today + dt.timedelta(days=days if match.group(1) == "+" else -days)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"not a date: {text!r} (use YYYY-MM-DD, today, tomorrow or +N)") from None


def parse_clock_time(text: str) -> dt.time:
    """"HH:MM" (24-hour) as a time."""
    value = (text or "").strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise BadInput(f"not a time: {text!r} (use HH:MM, 24-hour)")
    return dt.time(int(match.group(1)), int(match.group(2)))


def parse_local_datetime(text: str, today: dt.date) -> dt.datetime:
    """"YYYY-MM-DD HH:MM" (or "today 10:30", "+1 09:00") as a naive clinic wall time."""
    parts = (text or "").strip().replace("T", " ").split()
    if len(parts) != 2:
        raise BadInput(f"not a date and time: {text!r} (use \"YYYY-MM-DD HH:MM\")")
    return dt.datetime.combine(parse_date(parts[0], today), parse_clock_time(parts[1]))
