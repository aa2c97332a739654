"""Running clinic services inside thread workers and posting what happened.

Every worker thread gets its own connection from the shared proxy (peewee keeps one
per thread) and closes it when its job ends. A refusal or a database error becomes a
message, never an exception on the event loop.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import get_current_worker

from keta_tui.clinic.errors import DatabaseError, KetaError
from keta_tui.clinic.store import release_connection

from .messages import DataLoaded, DeskActionDone, DeskActionFailed


def failure_text(error: BaseException) -> tuple[str, str]:
    """(one line for the desk, notification severity) for any error a service raised."""
    if isinstance(error, KetaError):  # refused by a rule, bad input, stale edit
        return error.message, "warning"
    if isinstance(error, DatabaseError):
        return f"database problem: {error}", "error"
    name = type(error).__name__
    if "OperationalError" in name or "InterfaceError" in name:
        return "database problem: the database could not be reached; try again", "error"
    return f"unexpected error ({name}); nothing was changed", "error"


def run_in_worker(node: MessagePump, verb: str, call: Callable[[], Any],
                  done: Callable[[Any], Message]) -> None:
    """Run ``call`` in the current worker thread; post ``done(result)`` or a failure."""
    worker = get_current_worker()
    try:
        result = call()
    except Exception as error:  # every failure becomes one line in the app
        if not worker.is_cancelled:
            text, severity = failure_text(error)
            node.post_message(DeskActionFailed(verb, text, error, severity))
        return
    finally:
        release_connection()
    if not worker.is_cancelled:
        node.post_message(done(result))


class ClinicCalls:
    """Mixin for screens: clinic reads and writes in thread workers, results as messages.

    ``read(what, call)`` posts :class:`DataLoaded`; ``write(verb, call)`` posts
    :class:`DeskActionDone`; both post :class:`DeskActionFailed` on any error. One
    write at a time per screen, so a double key press cannot send a stale second write.
    """

    def read(self, what: str, call: Callable[[], Any]) -> None:
        self.run_worker(functools.partial(run_in_worker, self, what, call, functools.partial(DataLoaded, what)),
                        thread=True, exclusive=True, group=f"read:{what}", name=what)

    def write(self, verb: str, call: Callable[[], Any], session_id: int | None = None) -> bool:
        if self.writing_now():
            self.notify("still saving the last change; try again in a moment", severity="warning")
            return False
        done = functools.partial(DeskActionDone, verb, session_id=session_id)
        self.run_worker(functools.partial(run_in_worker, self, verb, call, done),
                        thread=True, exclusive=True, group="write", name=verb)
        return True

    def writing_now(self) -> bool:
        return any(worker.group == "write" and worker.node is self and not worker.is_finished
                   for worker in self.app.workers)

    def on_desk_action_failed(self, message: DeskActionFailed) -> None:
        """Default: say what happened; screens that need more handle the message first."""
        self.notify(message.text, severity=message.severity, timeout=8)
