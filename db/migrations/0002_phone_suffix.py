"""Phone numbers searchable by their last digits: the digits reversed, indexed, so a
suffix search ("555-0143" for "646-555-0143") is an index range, not a scan."""
from peewee import *


def up(migrator, db):
    # Plain SQL: both SQLite and PostgreSQL add a NOT NULL column with a default in
    # place, where peewee's SQLite migrator would rebuild the table (and trip its FKs).
    db.execute_sql("ALTER TABLE patient ADD COLUMN phone_reversed VARCHAR(40) NOT NULL DEFAULT ''")
    migrator.migrate(migrator.add_index("patient", ("phone_reversed",), False))
    rows = db.execute_sql("SELECT id, phone_digits FROM patient WHERE phone_digits <> ''").fetchall()
    for patient_id, digits in rows:
        db.execute_sql("UPDATE patient SET phone_reversed = %s WHERE id = %s" % (db.param, db.param),
                       (digits[::-1], patient_id))


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("patient", "patient_phone_reversed"),
        migrator.drop_column("patient", "phone_reversed"),
    )
