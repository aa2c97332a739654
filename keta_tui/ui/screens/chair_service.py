"""Chair service (s): pick a chair, then take it out of service with a reason or put it back.

The dialog reads and writes in its own workers; it closes once a change went through (the
board reloads on return and shows the chair's new state) and stays open on a refusal.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from keta_tui.clinic.chairs import list_chairs, return_to_service, sessions_booked_on, set_out_of_service

from ..formatting import literal
from ..messages import DataLoaded, DeskActionDone, DeskActionFailed
from ..workers import ClinicCalls
from .confirm_dialog import ConfirmDialog
from .reason_dialog import ReasonDialog

OUT_OF_SERVICE_REASONS = ("pump fault", "spill being cleaned", "recliner broken")


def chair_line(chair) -> str:
    routes = "+".join(chair.routes)
    if chair.out_of_service_reason is None:
        return f"  {chair.name} ({routes}): in service"
    return f"✗ {chair.name} ({routes}): OUT of service, {chair.out_of_service_reason}"


def take_out(name: str, *, reason: str, actor: str, now, version: int):
    """Take the chair out and count what is still booked on it (the desk moves those)."""
    chair = set_out_of_service(name, reason=reason, actor=actor, now=now, version=version)
    return chair, sessions_booked_on(chair.id, now=now)


class ChairServiceDialog(ClinicCalls, ModalScreen[object]):
    BINDINGS = [Binding("escape", "back", "Back", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.chairs = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Chair service: which chair?", classes="dialog-title")
            yield OptionList(id="chair-list")
            yield Static("enter takes a chair out (asks why) or puts it back; esc goes back",
                         classes="dialog-detail")

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.read("chairs", list_chairs)

    def on_data_loaded(self, message: DataLoaded) -> None:
        if message.what != "chairs":
            return
        options = self.query_one("#chair-list", OptionList)
        highlighted = options.highlighted
        self.chairs = {str(chair.id): chair for chair in message.result}
        options.clear_options()
        options.add_options([Option(literal(chair_line(chair)), id=key) for key, chair in self.chairs.items()])
        if options.option_count:
            options.highlighted = min(highlighted or 0, options.option_count - 1)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chair = self.chairs.get(event.option.id)
        if chair is None:
            return
        actor = self.app.actor
        if chair.out_of_service_reason is None:
            def reason_given(reason: str | None) -> None:
                if reason:
                    now = self.app.clock.now()
                    self.write("chair_out", lambda: take_out(chair.name, reason=reason, actor=actor,
                                                             now=now, version=chair.version))

            self.app.push_screen(ReasonDialog(f"Take {chair.name} out of service: why?", confirm="Out of service",
                                              suggestions=OUT_OF_SERVICE_REASONS), reason_given)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                now = self.app.clock.now()
                self.write("chair_in", lambda: return_to_service(chair.name, actor=actor, now=now,
                                                                 version=chair.version))

        self.app.push_screen(ConfirmDialog(f"Put {chair.name} back in service?",
                                           detail=f"out of service: {chair.out_of_service_reason}",
                                           yes="Back in service", no="Keep out"), answered)

    def on_desk_action_done(self, message: DeskActionDone) -> None:
        if message.verb == "chair_out":
            chair, booked = message.result
            words = f"{chair.name} out of service ({chair.out_of_service_reason})"
            if booked:
                words += f"; {booked} session{'s' if booked != 1 else ''} still booked on it: reschedule them (r)"
            self.notify(words, severity="warning" if booked else "information", timeout=8)
        else:
            self.notify(f"{message.result.name} back in service", timeout=4)
        self.dismiss(message.result)

    def on_desk_action_failed(self, message: DeskActionFailed) -> None:
        self.notify(message.text, severity=message.severity, timeout=8)
        if message.verb != "chairs":
            self.action_reload()  # another desk may have changed the chair meanwhile

    def action_back(self) -> None:
        self.dismiss(None)
