"""``keta`` without a command: open the front-desk app (``--demo``: on the demo clinic).

Textual is imported here, late, so the print commands never pay for it.
"""
from __future__ import annotations


def run_tui(ctx) -> int:
    if ctx.demo:
        from keta_tui.clinic.demo import ensure_demo

        ensure_demo(ctx.db_target, clock=ctx.clock)
    settings = ctx.settings()
    from keta_tui.ui.app import KetaApp

    app = KetaApp(settings, clock=ctx.clock, actor=ctx.actor)
    app.run()
    return app.return_code or 0
