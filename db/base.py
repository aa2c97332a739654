"""The one database handle every model binds to, initialised at start-up."""
from .pgdriver import import_peewee

import_peewee()  # before anything else imports peewee: psycopg then loads only if used

from peewee import DatabaseProxy, Model  # noqa: E402

database_proxy = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False
