"""The one database handle every model binds to, initialised at start-up."""
from peewee import DatabaseProxy, Model

database_proxy = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False
