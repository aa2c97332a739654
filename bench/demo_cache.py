"""The demo clinics the figures run on, built with `keta demo` and kept in bench/.cache/.

A cached file is reused while the demo generator, the schema and the bench day are
unchanged (the key hashes them), so a rerun does not pay the large build again.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from measure import BENCH_DIR, PYTHON, ROOT, wall_ms

CACHE_DIR = BENCH_DIR / ".cache"
# What makes a cached demo stale: the generator, the example clinic, the schema.
KEY_SOURCES = ("keta_tui/clinic/demo.py", "keta_tui/clinic.example.toml", "db/migrations")


@dataclass(frozen=True)
class Demo:
    size: str
    path: Path
    build_s: float | None  # as recorded when it was built; None if unknown
    reused: bool


def keta_argv() -> list[str]:
    """The installed `keta` console script next to this Python, as a user runs it."""
    script = Path(PYTHON).parent / "keta"
    return [str(script)] if script.exists() else [PYTHON, "-m", "keta_tui"]


def code_version() -> str:
    digest = hashlib.sha256()
    for name in KEY_SOURCES:
        source = ROOT / name
        files = sorted(source.rglob("*.py")) if source.is_dir() else [source]
        for path in files:
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()[:12]


def demo_available() -> bool:
    return (ROOT / "keta_tui/clinic/demo.py").exists()


def ensure_demo(size: str, env: dict[str, str], *, rebuild: bool = False) -> Demo:
    """The ``size`` demo clinic built around the moment ``env``'s KETA_NOW names, if not cached."""
    CACHE_DIR.mkdir(exist_ok=True)
    moment = env["KETA_NOW"].replace(":", "")
    path = CACHE_DIR / f"demo-{size}-{moment}-{code_version()}.db"
    timing = path.with_name(path.name + ".build_s")
    if path.exists() and not rebuild:
        recorded = float(timing.read_text()) if timing.exists() else None
        return Demo(size, path, recorded, reused=True)
    for stale in CACHE_DIR.glob(f"demo-{size}-*"):
        stale.unlink()
    partial = path.with_name(path.name + ".partial")
    for leftover in CACHE_DIR.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    wall_ms([*keta_argv(), "--db", str(partial), "demo", "--size", size], env,
            CACHE_DIR / f"build-{size}.log")
    build_s = time.perf_counter() - started
    # Fold any write-ahead log into the file before it is renamed away from it.
    with contextlib.closing(sqlite3.connect(partial)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    os.replace(partial, path)
    timing.write_text(f"{build_s:.3f}\n")
    return Demo(size, path, build_s, reused=False)


def working_copy(demo: Demo, name: str) -> Path:
    """A throwaway copy of a cached demo for figures that write to it."""
    copy = CACHE_DIR / f"work-{name}.db"
    for old in CACHE_DIR.glob(copy.name + "*"):
        old.unlink()
    shutil.copyfile(demo.path, copy)
    os.chmod(copy, 0o600)
    return copy
