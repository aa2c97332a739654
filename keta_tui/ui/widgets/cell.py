"""A one-line Static that redraws only when its text changes (timers tick cheaply)."""
from __future__ import annotations

from textual.widgets import Static

from ..formatting import literal


class Cell(Static):
    DEFAULT_CSS = """
    Cell { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self._shown: str | None = None

    @property
    def text(self) -> str:
        return self._shown or ""

    def show(self, text: str) -> None:
        if text != self._shown:
            self._shown = text
            self.update(literal(text))
