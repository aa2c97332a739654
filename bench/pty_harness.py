"""Run a full-screen program in a real pseudo-terminal and watch what it writes.

Measures, for one run: the time from process start until every marker text has
appeared on screen (the first complete frame), the bytes per second it writes while
left alone, and its peak resident memory. A marker is found in the output with the
escape sequences removed: a Textual cell or label is written as one run of text.
"""
from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from typing import Sequence

# CSI ... final byte, OSC ... BEL/ST, DCS/APC ... ST, and two-byte escapes.
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[P\]X^_].*?(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x1b[()][0-9A-B]", re.S)
QUIT_KEYS = (b"q", b"\x11")  # the app's quit key, then Textual's ctrl+q


@dataclass
class PtyRun:
    first_frame_s: float | None  # None: a marker never appeared
    idle_bytes_per_s: float | None  # None: no idle window asked for
    peak_rss_mib: float
    screen_text: str  # everything shown, escapes removed (for diagnosing a miss)


def screen_text(raw: bytes) -> str:
    return ESCAPES.sub(b"", raw).decode("utf-8", errors="replace")


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _peak_rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _Reader:
    """Drains the pty's master side, keeping every byte and when it arrived."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.raw = bytearray()
        self.closed = False

    def pump(self, seconds: float) -> int:
        """Read for up to ``seconds``; returns the bytes read."""
        deadline = time.perf_counter() + seconds
        count = 0
        while not self.closed:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                break
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the program closed the terminal
                chunk = b""
            if not chunk:
                self.closed = True
                break
            self.raw.extend(chunk)
            count += len(chunk)
        return count


def run_in_pty(argv: Sequence[str], env: dict[str, str], markers: Sequence[str], *,
               idle_s: float = 0.0, settle_s: float = 1.0, timeout_s: float = 30.0,
               cols: int = 80, rows: int = 24) -> PtyRun:
    """Start ``argv`` in a ``cols`` x ``rows`` pty, wait for ``markers``, then idle and quit."""
    master, slave = os.openpty()
    _set_size(slave, cols, rows)
    env = dict(env, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
    started = time.perf_counter()
    process = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, env=env,
                               start_new_session=True, close_fds=True)
    os.close(slave)
    reader = _Reader(master)
    first_frame = None
    idle_rate = None
    try:
        wanted = [m.encode() for m in markers]
        scanned_to = 0
        while time.perf_counter() - started < timeout_s and not reader.closed:
            reader.pump(0.005)
            if len(reader.raw) == scanned_to:
                continue
            scanned_to = len(reader.raw)
            text = ESCAPES.sub(b"", bytes(reader.raw))
            if all(m in text for m in wanted):
                first_frame = time.perf_counter() - started
                break
        if first_frame is not None and idle_s > 0:
            _pump_for(reader, settle_s)
            window_start = time.perf_counter()
            counted = _pump_for(reader, idle_s)
            idle_rate = counted / (time.perf_counter() - window_start)
        peak = _peak_rss_mib(process.pid)
    finally:
        _quit(process, reader)
        os.close(master)
    return PtyRun(first_frame, idle_rate, peak, screen_text(bytes(reader.raw)))


def _pump_for(reader: _Reader, seconds: float) -> int:
    deadline = time.perf_counter() + seconds
    total = 0
    while not reader.closed and time.perf_counter() < deadline:
        total += reader.pump(deadline - time.perf_counter())
        if not reader.closed and time.perf_counter() < deadline:
            time.sleep(0.001)
    return total


def _quit(process: subprocess.Popen, reader: _Reader) -> None:
    """Ask politely with the quit keys, then terminate, then kill: never leave it running."""
    for key in QUIT_KEYS:
        if process.poll() is not None:
            break
        try:
            os.write(reader.fd, key)
        except OSError:
            break
        deadline = time.perf_counter() + 2.0
        while process.poll() is None and time.perf_counter() < deadline:
            reader.pump(0.05)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            continue
    process.wait()
