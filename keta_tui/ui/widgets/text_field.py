"""An Input whose cursor blinks only when the app allows it (snapshots need a still cursor)."""
from __future__ import annotations

from textual.widgets import Input


class TextField(Input):
    """Input that follows ``app.cursor_blink`` and remembers whether the desk typed in it."""

    def on_mount(self) -> None:
        self.cursor_blink = getattr(self.app, "cursor_blink", True)

    @property
    def edited(self) -> bool:
        """True when the value differs from what the form was opened with."""
        return self.value != getattr(self, "_original", self.value)

    def start_with(self, value: str) -> None:
        """Set the value the form opened with; later typing makes it ``edited``."""
        self._original = value
        self.value = value
