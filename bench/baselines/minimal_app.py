"""Baseline for the TUI figures: a minimal Textual app showing a 40-row DataTable.

Its sixth row carries the marker the pty harness waits for, so "first complete
frame" means the same thing for it as for keta's board.
"""
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header

ROWS = 40
MARKER = "Chair 6"


class MinimalApp(App):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("time", "patient", "treatment", "n of N", "chair", "status")
        for index in range(ROWS):
            chair = f"Chair {index % 6 + 1}"
            table.add_row(f"{8 + index // 4:02d}:{index % 4 * 15:02d}", f"Patient {index:03d}",
                          "iv-ketamine", f"{index % 6 + 1} of 6", chair, "scheduled")


if __name__ == "__main__":
    MinimalApp().run()
