"""Ask for a reason (cancel, defer, ...) in a small modal; dismisses with the text or None."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..formatting import literal
from ..widgets.text_field import TextField


class ReasonDialog(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "back", "Back", show=False)]

    def __init__(self, title: str, *, placeholder: str = "reason", confirm: str = "OK",
                 suggestions: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.confirm = confirm
        self.suggestions = suggestions

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(literal(self.title_text), classes="dialog-title")
            if self.suggestions:
                yield Static(literal("e.g. " + "; ".join(self.suggestions)), classes="dialog-detail")
            yield TextField(placeholder=self.placeholder, id="reason", max_length=500)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.confirm, id="ok", variant="primary")
                yield Button("Back (esc)", id="back")

    def has_unsaved_input(self) -> bool:
        return bool(self.query_one("#reason", TextField).value.strip())

    def on_input_submitted(self, event: TextField.Submitted) -> None:
        event.stop()
        self._finish()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._finish()
        else:
            self.dismiss(None)

    def _finish(self) -> None:
        reason = self.query_one("#reason", TextField).value.strip()
        if not reason:
            self.notify("type a reason first (it is kept with the session)", severity="warning")
            return
        self.dismiss(reason)

    def action_back(self) -> None:
        self.dismiss(None)
