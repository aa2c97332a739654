"""Words and short texts the screens show: states, timers, names in privacy mode.

Pure functions of plain clinic data and "now", so they are tested without an app.
States and flags are always words or symbols, never colour alone (16 colours, NO_COLOR).
"""
from __future__ import annotations

import datetime as dt

from rich.text import Text

from keta_tui.clinic.states import LABELS

# A symbol before each chair state, so the state reads without colour.
CHAIR_SYMBOLS = {
    "available": "○",
    "reserved": "◔",
    "seated": "◑",
    "dosing": "●",
    "monitoring": "◕",
    "ready_to_leave": "✓",
    "turnover": "~",
    "out_of_service": "✗",
}
CHAIR_WORDS = {
    "available": "available",
    "reserved": "reserved",
    "seated": "seated",
    "dosing": "dosing",
    "monitoring": "monitoring",
    "ready_to_leave": "ready to leave",
    "turnover": "turnover",
    "out_of_service": "out of service",
}
OVERDUE_MARK = "!"


def hhmm(moment: dt.datetime | None, tz=None) -> str:
    """A clinic wall-clock time "HH:MM" ("" for none)."""
    if moment is None:
        return ""
    if tz is not None:
        moment = moment.astimezone(tz)
    return f"{moment:%H:%M}"


def duration_text(delta: dt.timedelta) -> str:
    """A span as "h:mm" (negative spans count as zero)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"{minutes // 60}:{minutes % 60:02d}"


def minutes_text(delta: dt.timedelta) -> str:
    """A span as whole minutes, rounded up so "0 min" only shows when it is over."""
    seconds = max(0, int(delta.total_seconds()))
    return f"{-(-seconds // 60)} min"


def person(name: str | None, initials: str | None, privacy: bool) -> str:
    """The name to show: initials only in privacy mode (a waiting room may see the screen)."""
    if not name:
        return ""
    if privacy:
        return initials or initials_of(name)
    return name


def initials_of(name: str) -> str:
    """ "Doe, Jane" -> "J.D." (used where a service gave no initials)."""
    if "," in name:
        last, first = (part.strip() for part in name.split(",", 1))
        parts = [first, last]
    else:
        parts = name.split()
    return "".join(f"{part[0].upper()}." for part in parts if part)


def status_word(status: str) -> str:
    return LABELS.get(status, status.replace("_", " "))


def treatment_short(code: str | None) -> str:
    """A treatment code short enough for the board: "esketamine-56" -> "esk-56"."""
    if not code:
        return ""
    head, _, tail = code.partition("-")
    if not tail or len(code) <= 6:
        return code[:6]
    return f"{head[:3]}-{tail[:2]}" if len(head) >= 3 else f"{head}-{tail[:5 - len(head)]}"


def chair_state_text(state: str, overdue: bool) -> str:
    """The chair's state as a symbol and a word, with "!" when something is overdue."""
    word = CHAIR_WORDS.get(state, state.replace("_", " "))
    mark = OVERDUE_MARK if overdue else CHAIR_SYMBOLS.get(state, " ")
    return f"{mark} {word}"


def chair_timer_text(chair, now: dt.datetime, tz) -> str:
    """The live timer beside a chair's state word ("0:47, may leave 11:32", "6 min left").

    Shown to the minute, so the text (and the terminal) changes once a minute at most.
    """
    state = chair.state
    at = chair.milestone_at
    overdue = " OVERDUE" if chair.overdue else ""
    if state == "out_of_service":
        return chair.reason or "out of service"
    if state == "turnover" and at is not None:
        if now >= at:
            return f"done{overdue}"
        return f"{minutes_text(at - now)} left{overdue}"
    if state == "reserved" and at is not None:
        return f"for {hhmm(at, tz)}{' LATE' if chair.overdue else ''}"
    if state == "available":
        return f"next {hhmm(at, tz)}" if at is not None else "free"
    if state == "ready_to_leave":
        return f"since {hhmm(chair.since or at, tz)}{overdue}"
    elapsed = duration_text(now - chair.since) if chair.since is not None else ""
    if at is None or not chair.milestone:
        return f"{elapsed}{overdue}"
    return f"{elapsed}, {chair.milestone} {hhmm(at, tz)}{overdue}".lstrip(", ")


def flags_text(words: tuple[str, ...], width: int | None = None) -> str:
    """Flags as words, comma-separated; clipped to ``width`` with "+N" for the rest."""
    if not words:
        return ""
    if width is None:
        return ", ".join(words)
    shown: list[str] = []
    for index, word in enumerate(words):
        rest = len(words) - index - 1
        candidate = ", ".join(shown + [word]) + (f" +{rest}" if rest else "")
        if len(candidate) > width and shown:
            return ", ".join(shown) + f" +{len(words) - index}"
        shown.append(word)
    return ", ".join(shown)


def literal(value: object) -> Text:
    """Database text shown exactly as typed: markup in a name stays brackets."""
    cleaned = "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in str(value))
    return Text(cleaned, no_wrap=True, overflow="ellipsis")


def literal_lines(text: str) -> Text:
    """Several lines shown literally (line breaks kept, other control characters replaced)."""
    return Text("\n".join("".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in line)
                          for line in str(text).split("\n")))


def course_of(number: int | None, of: int | None) -> str:
    if number is None:
        return ""
    return f"{number}/{of}" if of else str(number)


def day_title(day: dt.date, today: dt.date) -> str:
    """ "Tue 17 Nov 2026 (today)" """
    offset = (day - today).days
    relative = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(offset)
    if relative is None:
        relative = f"{offset:+d} days"
    return f"{day:%a} {day.day} {day:%b %Y} ({relative})"
