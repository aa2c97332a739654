"""A checkbox that shows its value as a mark ("[x]" / "[ ]"), not by colour alone."""
from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class YesBox(Checkbox):
    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.assemble(("[x]" if self.value else "[ ]", style))
