"""The day's sessions as a DataTable kept up to date by a keyed diff.

Rows are keyed by session id; a tick or a reload only calls ``update_cell`` for cells
whose text changed, adds and removes rows by key, and rebuilds only when the order of
sessions changed. Updating any cell redraws the visible table, so unchanged data must
cost nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

from ..formatting import course_of, flags_text, hhmm, literal, person, status_word, treatment_short

# (column key, label, width); the flags column takes what is left.
COLUMNS = (
    ("time", "Time", 5),
    ("patient", "Patient", 16),
    ("treatment", "Treat", 6),
    ("course", "n/N", 5),
    ("chair", "Chair", 7),
    ("status", "Status", 14),
    ("flags", "Flags", 10),
)
FIXED_WIDTH = sum(width for key, _, width in COLUMNS if key != "flags")
OVERDUE_FLAGS = ("late", "overdue_discharge", "rems_form_overdue", "gate_failed")


@dataclass(frozen=True)
class RowText:
    """The texts of one row, compared cell by cell."""

    cells: tuple[str, ...]
    overdue: bool


def row_text(row, tz, privacy: bool, flags_width: int) -> RowText:
    words = row.flag_words
    return RowText(
        cells=(
            hhmm(row.start, tz),
            person(row.patient_name, row.patient_initials, privacy),
            treatment_short(row.treatment_code),
            course_of(row.number, row.of),
            row.chair_name or "-",
            status_word(row.status),
            flags_text(words, flags_width),
        ),
        overdue=any(code in OVERDUE_FLAGS for code in row.flags),
    )


class SessionsTable(DataTable):
    """A cursor on whole rows; the highlighted session id is ``selected_session_id``."""

    DEFAULT_CSS = """
    SessionsTable { height: 1fr; overflow-x: hidden; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, cell_padding=1, **kwargs)
        self._shown: dict[int, RowText] = {}
        self._order: list[int] = []
        self.flags_width = COLUMNS[-1][2]
        self._needs_rebuild = False

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, width=width, key=key)

    @property
    def selected_session_id(self) -> int | None:
        if not self.row_count:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:  # cursor outside the rows while they change
            return None
        return int(key.value) if key.value is not None else None

    def fit_flags(self, total_width: int) -> bool:
        """Give the flags column the width left over; True when it changed."""
        padding = 2 * self.cell_padding * len(COLUMNS)
        # Room for the vertical scrollbar a busy day needs, so nothing scrolls sideways.
        scrollbar = self.styles.scrollbar_size_vertical or 2
        width = max(8, total_width - FIXED_WIDTH - padding - scrollbar)
        if width == self.flags_width:
            return False
        self.flags_width = width
        column = self.columns.get(self.columns_key("flags"))
        if column is not None:
            column.width = width
        self._needs_rebuild = True  # flags texts are clipped to the width: redo every row once
        return True

    def columns_key(self, name: str):
        for key in self.columns:
            if key.value == name:
                return key
        return None

    def show(self, sessions, tz, privacy: bool) -> None:
        """Bring the table to these sessions, touching only what changed."""
        wanted = {row.id: row_text(row, tz, privacy, self.flags_width) for row in sessions}
        order = [row.id for row in sessions]
        if self._needs_rebuild or (order != self._order and not self._is_append_of(order)):
            self._rebuild(order, wanted)
            return
        for session_id in [sid for sid in self._order if sid not in wanted]:
            self.remove_row(str(session_id))
            del self._shown[session_id]
        for session_id in order:
            new = wanted[session_id]
            old = self._shown.get(session_id)
            if old is None:
                self.add_row(*self._cells(new), key=str(session_id))
            elif old != new:
                for index, (key, _, _) in enumerate(COLUMNS):
                    if old.cells[index] != new.cells[index] or old.overdue != new.overdue:
                        self.update_cell(str(session_id), key, self._cell(new, index))
            self._shown[session_id] = new
        self._order = order

    def _is_append_of(self, order: list[int]) -> bool:
        """True when the new order keeps the shown rows in place (only removals or rows added at the end)."""
        still_there = set(order)
        kept = [sid for sid in self._order if sid in still_there]
        return order[: len(kept)] == kept

    def _rebuild(self, order, wanted) -> None:
        selected = self.selected_session_id
        self.clear()
        for session_id in order:
            self.add_row(*self._cells(wanted[session_id]), key=str(session_id))
        self._shown = dict(wanted)
        self._order = list(order)
        self._needs_rebuild = False
        if selected in wanted:
            self.move_cursor(row=order.index(selected), animate=False)

    def _cells(self, text: RowText) -> list[Text]:
        return [self._cell(text, index) for index in range(len(COLUMNS))]

    @staticmethod
    def _cell(text: RowText, index: int) -> Text:
        cell = literal(text.cells[index])
        # The flag words say what is overdue; bold only helps it stand out.
        if text.overdue and COLUMNS[index][0] in ("time", "status", "flags"):
            cell.stylize("bold")
        return cell
