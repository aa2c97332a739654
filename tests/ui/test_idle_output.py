"""Idle cost over SSH: bytes the board writes to an 80x24 pty per second with timers ticking.

A long-mode test (``pytest --long``) and a script (``python -m tests.ui.test_idle_output``)
that prints the figure. The board runs on the small demo clinic with the real clock.
"""
from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KETA = ROOT / ".venv" / "bin" / "keta"
BUDGET_BYTES_PER_SECOND = 1024


def _drain(fd: int, seconds: float) -> int:
    """Read everything the app writes for ``seconds``; returns the byte count."""
    total = 0
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            total += len(chunk)
    return total


def idle_bytes_per_second(data_home: Path, *, warm_up: float = 6.0, measure: float = 10.0,
                          size=(80, 24)) -> float:
    env = dict(os.environ, XDG_DATA_HOME=str(data_home), TERM="xterm-256color", COLORTERM="truecolor")
    env.pop("KETA_NOW", None)
    pid, fd = pty.fork()
    if pid == 0:  # child: the real launcher, as a desk would start it
        os.execve(str(KETA), [str(KETA), "--demo"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    try:
        first = _drain(fd, warm_up)  # first frame and the first loads
        if first < 1000:
            raise RuntimeError(f"the board drew only {first} bytes while starting; is it running?")
        return _drain(fd, measure) / measure
    finally:
        os.kill(pid, signal.SIGTERM)
        _drain(fd, 1.0)
        os.waitpid(pid, 0)
        os.close(fd)


@pytest.mark.slow
def test_idle_board_writes_under_a_kilobyte_per_second(tmp_path):
    from keta_tui.cli.main import resolve_db_target

    os.environ["XDG_DATA_HOME"] = str(tmp_path)
    from keta_tui.clinic.clock import Clock
    from keta_tui.clinic.demo import ensure_demo

    ensure_demo(resolve_db_target(None, True), clock=Clock())
    rate = idle_bytes_per_second(tmp_path)
    print(f"idle board: {rate:.0f} bytes/s written to an 80x24 pty")
    assert rate < BUDGET_BYTES_PER_SECOND


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/keta-idle")
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_DATA_HOME"] = str(folder)
    from keta_tui.cli.main import resolve_db_target
    from keta_tui.clinic.clock import Clock
    from keta_tui.clinic.demo import ensure_demo

    ensure_demo(resolve_db_target(None, True), clock=Clock())
    seconds = float(os.environ.get("KETA_IDLE_SECONDS", "10"))
    rate = idle_bytes_per_second(folder, measure=seconds)
    print(f"idle board: {rate:.0f} bytes/s written to an 80x24 pty over {seconds:g} s")
