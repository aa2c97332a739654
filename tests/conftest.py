"""Shared fixtures: a fresh migrated clinic database per test, on SQLite or PostgreSQL.

Set ``KETA_TEST_PG_URL=postgresql://user@127.0.0.1:5432/keta_test`` to run the whole
suite against PostgreSQL (``.ci/run`` does, after the SQLite run).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from keta_tui.clinic.clock import Clock
from keta_tui.clinic.settings import ClinicSettings, example_settings

PG_URL = os.environ.get("KETA_TEST_PG_URL", "")

# A fixed, ordinary clinic morning: Tuesday 2026-11-17 10:00 in New York (15:00 UTC).
FROZEN_NOW = dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.timezone.utc)


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", default=False,
                     help="run the long soak and crash modes")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="long mode: run with --long")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    # No test may touch the real user data folder or inherit a desk's settings.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("KETA_DB", raising=False)
    monkeypatch.delenv("KETA_NOW", raising=False)
    monkeypatch.setenv("KETA_ACTOR", "test-desk")
    monkeypatch.setenv("KETA_BUSY_TIMEOUT", "5")


def reset_postgres(url: str) -> None:
    """Empty the test database's public schema."""
    from playhouse.db_url import connect

    database = connect(url)
    database.connect()
    database.execute_sql("DROP SCHEMA IF EXISTS public CASCADE")
    database.execute_sql("CREATE SCHEMA public")
    database.close()


@dataclass
class ClinicDB:
    """A migrated database holding the example clinic's settings."""

    target: str  # file path or URL, for subprocesses and the CLI
    settings: ClinicSettings
    clock: Clock
    actor: str = "test-desk"

    @property
    def is_postgres(self) -> bool:
        return self.target.startswith("postgres")


def make_clinic_db(tmp_path: Path, settings: ClinicSettings | None = None) -> ClinicDB:
    from keta_tui.clinic.setup import apply_settings
    from keta_tui.db.connection import close_database, open_database

    close_database()
    if PG_URL:
        reset_postgres(PG_URL)
        target = PG_URL
    else:
        target = str(tmp_path / "clinic.db")
    open_database(target, create=True)
    settings = settings or example_settings()
    apply_settings(settings, "test-desk")
    return ClinicDB(target=target, settings=settings, clock=Clock(FROZEN_NOW))


@pytest.fixture
def clinic_db(tmp_path) -> ClinicDB:
    from keta_tui.db.connection import close_database

    db = make_clinic_db(tmp_path)
    yield db
    close_database()
