"""The chairs: one line each with state (symbol + word), patient, treatment and a live timer.

One widget draws every line (the Line API): a 40-chair clinic costs one widget, not ~240,
and only the visible lines are ever rendered. Lines are keyed by chair id; a tick or a
reload redraws only the lines whose text changed, so the timers cost a few bytes a minute.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..formatting import chair_state_text, chair_timer_text, literal, person, treatment_short

# Fixed columns (name, state, treatment); patient and timer share the rest as the old
# one-widget-per-part layout did: patient half (8..26 cells), timer the remainder (>= 12).
NAME_WIDTH, STATE_WIDTH, TREATMENT_WIDTH = 9, 17, 7
PATIENT_MIN, PATIENT_MAX, TIMER_MIN = 8, 26, 12
STATE_COLOURS = {
    "dosing": "accent",
    "monitoring": "accent",
    "ready_to_leave": "success",
    "turnover": "warning",
    "out_of_service": "warning",
}


@dataclass(frozen=True)
class ChairLineText:
    """What one chair line shows, compared whole to decide whether to redraw it."""

    chair_id: int
    parts: tuple[str, str, str, str, str]  # name, state, patient, treatment, timer
    state: str
    overdue: bool


def chair_line_text(chair, now: dt.datetime, tz, privacy: bool) -> ChairLineText:
    return ChairLineText(
        chair_id=chair.id,
        parts=(chair.name, chair_state_text(chair.state, chair.overdue),
               person(chair.patient_name, chair.patient_initials, privacy),
               treatment_short(chair.treatment_code), chair_timer_text(chair, now, tz)),
        state=chair.state,
        overdue=chair.overdue,
    )


def column_widths(width: int) -> tuple[int, int, int, int, int]:
    rest = max(0, width - NAME_WIDTH - STATE_WIDTH - TREATMENT_WIDTH)
    patient = max(PATIENT_MIN, min(PATIENT_MAX, rest // 2))
    return NAME_WIDTH, STATE_WIDTH, patient, TREATMENT_WIDTH, max(TIMER_MIN, rest - patient)


def fit(text: str, width: int, style: Style, padding_style: Style) -> list[Segment]:
    """The text in exactly ``width`` cells (shown literally, cut with an ellipsis), then plain padding."""
    shown = literal(text).plain
    if cell_len(shown) > width:
        cut = Text(shown)
        cut.truncate(width, overflow="ellipsis")
        shown = cut.plain
    # Padding unstyled, so an overdue state's reverse covers its word only.
    return [Segment(shown, style), Segment(" " * (width - cell_len(shown)), padding_style)]


class ChairPanel(ScrollView):
    """All chairs, in the clinic's order, drawn by one widget."""

    COMPONENT_CLASSES = {
        "chair-panel--name",
        "chair-panel--accent",
        "chair-panel--success",
        "chair-panel--warning",
        "chair-panel--overdue-state",
        "chair-panel--overdue-timer",
    }

    DEFAULT_CSS = """
    ChairPanel { height: auto; max-height: 12; padding: 0 1; scrollbar-size-vertical: 1; overflow-x: hidden; }
    ChairPanel > .chair-panel--name { text-style: bold; }
    ChairPanel > .chair-panel--accent { color: $accent; }
    ChairPanel > .chair-panel--success { color: $success; }
    ChairPanel > .chair-panel--warning { color: $warning; }
    ChairPanel > .chair-panel--overdue-state { text-style: bold reverse; }
    ChairPanel > .chair-panel--overdue-timer { text-style: bold; }
    """

    can_focus = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: list[ChairLineText] = []
        self._strips: dict[tuple[ChairLineText, int], Strip] = {}

    def show(self, chairs, now: dt.datetime, tz, privacy: bool) -> None:
        wanted = [chair_line_text(chair, now, tz, privacy) for chair in chairs]
        if [line.chair_id for line in wanted] != [line.chair_id for line in self.lines]:
            self.lines = wanted
            self._strips.clear()
            self.virtual_size = Size(0, len(wanted))
            self.refresh()
            return
        for index, (old, new) in enumerate(zip(self.lines, wanted)):
            if old != new:
                self.lines[index] = new
                self.refresh_line(index)
        if len(self._strips) > 4 * len(self.lines):  # old texts of lines since redrawn
            self._strips.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        index = y + self.scroll_offset.y
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        line = self.lines[index]
        key = (line, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._render_chair(line, width)
        return strip

    def _render_chair(self, line: ChairLineText, width: int) -> Strip:
        base = self.rich_style
        part_styles = [self._part("chair-panel--name"), self._state_style(line), Style(), Style(),
                       self._part("chair-panel--overdue-timer") if line.overdue else Style()]
        segments = [segment for text, cells, style in zip(line.parts, column_widths(width), part_styles)
                    for segment in fit(text, cells, base + style, base)]
        return Strip(segments).adjust_cell_length(width, base)

    def _state_style(self, line: ChairLineText) -> Style:
        colour = STATE_COLOURS.get(line.state)
        style = self._part(f"chair-panel--{colour}") if colour else Style()
        if line.overdue:
            style += self._part("chair-panel--overdue-state")
        return style

    def _part(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True)
