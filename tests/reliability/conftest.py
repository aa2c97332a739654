"""Fixtures for the reliability tests."""
from __future__ import annotations

import pytest

from .helpers import Run, run_main


@pytest.fixture
def keta(capsys, monkeypatch):
    """``keta(*args, db=..., **env) -> Run``: the CLI entry point in this process, with env set
    for the call. Real processes (``run_keta``) are kept for where the process boundary matters."""

    def run(*args: str, db: str | None = None, **env: str) -> Run:
        with monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            return run_main(capsys, *args, db=db)

    return run
