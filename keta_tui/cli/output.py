"""Printing for the CLI: JSON, and text made safe for a terminal.

User-typed text (names, notes, reasons) may hold escape sequences or control
characters; :func:`safe` shows them literally instead of letting a terminal act on them.
"""
from __future__ import annotations

import json
import sys
import unicodedata
from typing import Any, Iterable, Sequence

_BIDI_CONTROLS = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}


def safe(text: Any) -> str:
    """One line of text with control characters shown as escapes (\\x1b -> '\\x1b')."""
    text = str(text)
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing to neutralise
    out = []
    for ch in text:
        if ch in ("\n", "\r", "\t"):
            out.append(" ")
        elif ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cf") and ch not in ("\u200d",):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def clip(text: str, width: int) -> str:
    """Cut to a display width, marking the cut with an ellipsis."""
    if width <= 0:
        return ""
    if display_width(text) <= width:
        return text
    if text.isascii():
        return text[:width - 1] + "…"
    out, used = [], 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    # Every ASCII character is one cell wide (safe() has already escaped control characters).
    return len(text) if text.isascii() else sum(_char_width(ch) for ch in text)


def pad(text: str, width: int) -> str:
    text = clip(text, width)
    return text + " " * (width - display_width(text))


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int]) -> None:
    """A plain fixed-width table; the last column takes what is left of its width."""
    write = sys.stdout.write
    write("  ".join(pad(h, w) for h, w in zip(headers, widths)).rstrip() + "\n")
    for row in rows:
        write("  ".join(pad(safe(cell), w) for cell, w in zip(row, widths)).rstrip() + "\n")
