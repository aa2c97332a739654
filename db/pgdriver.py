"""PostgreSQL's driver (psycopg), loaded when something first uses it, not with peewee.

peewee (and playhouse's schema tools, through playhouse.postgres_ext) import psycopg
when it is installed: about 150 ms and 15 MB that every SQLite command (`keta today`,
the board) would pay for nothing. keta imports them with psycopg hidden, and the first
later ``import psycopg`` (opening a ``postgresql://`` URL, or ``playhouse.db_url``)
hands the driver to them exactly as their own imports would have.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys

DRIVER = "psycopg"
TRIGGERS = (DRIVER, "playhouse.db_url")


def import_peewee() -> None:
    """Import peewee and playhouse.migrate without the driver; a no-op once peewee is loaded."""
    if "peewee" in sys.modules or DRIVER in sys.modules:
        return
    sys.modules[DRIVER] = None  # makes their "import psycopg" fail as if absent
    try:
        import peewee  # noqa: F401
        import playhouse.migrate  # noqa: F401
    finally:
        if sys.modules.get(DRIVER, False) is None:
            del sys.modules[DRIVER]
    sys.meta_path.insert(0, _HandOverOnImport())


def hand_driver_to_peewee() -> None:
    """Set what peewee's and postgres_ext's imports set when psycopg is present."""
    import peewee
    from psycopg.pq import TransactionStatus
    from psycopg.types import TypeInfo
    from psycopg.types.hstore import register_hstore
    from psycopg.types.json import Json, Jsonb

    extensions = sys.modules.get("playhouse.postgres_ext")
    if extensions is not None and getattr(extensions, "TypeInfo", None) is None:
        extensions.TypeInfo, extensions.register_hstore_pg3 = TypeInfo, register_hstore
    if peewee.psycopg is not None:
        return
    peewee.psycopg = sys.modules[DRIVER]
    peewee.TransactionStatus = TransactionStatus
    peewee.Json_pg3, peewee.Jsonb_pg3 = Json, Jsonb
    adapter = peewee.Psycopg3Adapter
    adapter.txn_idle = TransactionStatus.IDLE
    adapter.txn_inerror = TransactionStatus.INERROR
    adapter.txn_unknown = TransactionStatus.UNKNOWN


def load_driver() -> bool:
    """Import psycopg and hand it over; False when it is not installed."""
    try:
        importlib.import_module(DRIVER)
    except ImportError:
        return False
    hand_driver_to_peewee()
    return True


class _HandOverOnImport:  # a sys.meta_path finder (importlib.abc costs 30 ms to import)
    """On the first import of psycopg or of playhouse.db_url (how keta and its tests open a
    postgresql:// URL), loads psycopg the usual way and hands it over."""

    def find_spec(self, name, path=None, target=None):
        if name not in TRIGGERS:
            return None
        sys.meta_path.remove(self)  # one hand-over per process
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module):
            if name == DRIVER:
                run_module(module)
                hand_driver_to_peewee()
            else:
                load_driver()
                run_module(module)

        spec.loader.exec_module = exec_module
        return spec
