"""The command palette (ctrl+p): every desk verb, by the same words as the help screen."""
from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .keymap import DESK_VERBS, key_label


class DeskCommands(Provider):
    """Desk verbs; board verbs act on the board's selected session."""

    def _commands(self):
        for verb in DESK_VERBS:
            if verb.id == "keta.open":
                continue  # "enter" on a row; the menu's verbs are listed one by one
            yield f"{verb.title} ({key_label(verb.key)})", verb.help, partial(self.app.run_desk_verb, verb)
        yield "Book a walk-in", "Find the patient, then offer free slots", self.app.book_walk_in

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = max(matcher.match(title), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
