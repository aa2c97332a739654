"""PostgreSQL's driver (psycopg), loaded when something first uses it, not with peewee.

peewee imports psycopg at its own import when it is installed: about 150 ms and 17 MB
that every SQLite command (`keta today`, the board) would pay for nothing. keta imports
peewee with psycopg hidden, and the first later ``import psycopg`` (opening a
``postgresql://`` URL, or ``playhouse.db_url``) hands the driver to peewee exactly as
peewee's own import would have.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys

DRIVER = "psycopg"


def import_peewee() -> None:
    """Import peewee without its PostgreSQL driver; a no-op once peewee is loaded."""
    if "peewee" in sys.modules or DRIVER in sys.modules:
        return
    sys.modules[DRIVER] = None  # makes peewee's "import psycopg" fail as if absent
    try:
        import peewee  # noqa: F401
    finally:
        if sys.modules.get(DRIVER, False) is None:
            del sys.modules[DRIVER]
    sys.meta_path.insert(0, _HandOverOnImport())


def hand_driver_to_peewee() -> None:
    """Set what peewee's import sets when psycopg is present (see peewee's module head)."""
    import peewee
    from psycopg.pq import TransactionStatus
    from psycopg.types.json import Json, Jsonb

    if peewee.psycopg is not None:
        return
    peewee.psycopg = sys.modules[DRIVER]
    peewee.TransactionStatus = TransactionStatus
    peewee.Json_pg3, peewee.Jsonb_pg3 = Json, Jsonb
    adapter = peewee.Psycopg3Adapter
    adapter.txn_idle = TransactionStatus.IDLE
    adapter.txn_inerror = TransactionStatus.INERROR
    adapter.txn_unknown = TransactionStatus.UNKNOWN


class _HandOverOnImport(importlib.abc.MetaPathFinder):
    """Finds psycopg the usual way and, once it has run, hands it to peewee."""

    def find_spec(self, name, path=None, target=None):
        if name != DRIVER:
            return None
        sys.meta_path.remove(self)  # one hand-over per process
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            hand_driver_to_peewee()

        spec.loader.exec_module = exec_module
        return spec
