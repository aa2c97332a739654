"""keta's storage layer: Peewee models, opening a database, numbered migrations.

Nothing here imports textual or any other part of keta_tui; nothing is opened at
import time. Call :func:`keta_tui.db.connection.open_database` once at start-up.
"""
from .base import database_proxy
from .errors import (
    DatabaseError,
    DatabaseLocked,
    DatabaseNotFound,
    DatabaseUnavailable,
    NotAKetaDatabase,
    SchemaTooNew,
)

__all__ = [
    "database_proxy",
    "DatabaseError",
    "DatabaseLocked",
    "DatabaseNotFound",
    "DatabaseUnavailable",
    "NotAKetaDatabase",
    "SchemaTooNew",
]
