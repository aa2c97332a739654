"""Initial schema: clinic settings, patients, chairs, treatments, protocols, courses,
sessions, status history, audit, and the overlap guards.

The models below are a frozen copy: later changes to db/models.py need a new
numbered migration, never an edit here.
"""
import datetime

from peewee import *


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)


ACTIVE = ("scheduled", "confirmed", "arrived", "seated", "dosing", "monitoring",
          "ready_to_leave", "discharged")
ACTIVE_SQL = ", ".join("'%s'" % s for s in ACTIVE)

# The database itself refuses an overlapping active session on a chair (span with
# turnover) or for a patient (span without turnover), whatever client writes it.
SQLITE_GUARD = """
CREATE TRIGGER IF NOT EXISTS session_overlap_{event}
BEFORE {event_sql} ON session
WHEN NEW.status IN ({active})
BEGIN
    SELECT RAISE(ABORT, 'keta: chair overlap')
    WHERE NEW.chair_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM session AS s
        WHERE s.chair_id = NEW.chair_id AND s.id IS NOT NEW.id
          AND s.status IN ({active})
          AND s.start_at < NEW.busy_until AND NEW.start_at < s.busy_until);
    SELECT RAISE(ABORT, 'keta: patient overlap')
    WHERE EXISTS (
        SELECT 1 FROM session AS s
        WHERE s.patient_id = NEW.patient_id AND s.id IS NOT NEW.id
          AND s.status IN ({active})
          AND s.start_at < NEW.end_at AND NEW.start_at < s.end_at);
END;
"""

POSTGRES_GUARD = """
CREATE OR REPLACE FUNCTION keta_session_overlap() RETURNS trigger AS $$
BEGIN
    IF NEW.status IN ({active}) THEN
        -- Serialise concurrent checkers: two transactions cannot both pass.
        PERFORM pg_advisory_xact_lock(hashtext('keta-session-overlap'));
        IF NEW.chair_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM session AS s
            WHERE s.chair_id = NEW.chair_id AND s.id IS DISTINCT FROM NEW.id
              AND s.status IN ({active})
              AND s.start_at < NEW.busy_until AND NEW.start_at < s.busy_until) THEN
            RAISE EXCEPTION 'keta: chair overlap' USING ERRCODE = '23P01';
        END IF;
        IF EXISTS (
            SELECT 1 FROM session AS s
            WHERE s.patient_id = NEW.patient_id AND s.id IS DISTINCT FROM NEW.id
              AND s.status IN ({active})
              AND s.start_at < NEW.end_at AND NEW.start_at < s.end_at) THEN
            RAISE EXCEPTION 'keta: patient overlap' USING ERRCODE = '23P01';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS session_overlap ON session;
CREATE TRIGGER session_overlap BEFORE INSERT OR UPDATE ON session
    FOR EACH ROW EXECUTE FUNCTION keta_session_overlap();
"""


def _models(db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Setting(Base):
        key = CharField(primary_key=True, max_length=64)
        value = TextField()
        updated_at = DateTimeField(default=_utcnow)

    class ChangeMarker(Base):
        id = IntegerField(primary_key=True)
        counter = IntegerField(default=0)
        changed_at = DateTimeField(null=True)

    class Patient(Base):
        id = AutoField()
        mrn = CharField(unique=True, max_length=32)
        first_name = CharField(max_length=200)
        last_name = CharField(max_length=200)
        search_name = CharField(max_length=400, index=True)
        dob = DateField(null=True, index=True)
        phone = CharField(max_length=40, default="")
        phone_digits = CharField(max_length=40, default="", index=True)
        email = CharField(max_length=200, default="")
        escort_name = CharField(max_length=200, default="")
        escort_phone = CharField(max_length=40, default="")
        consent_expires_on = DateField(null=True)
        rems_enrolled = BooleanField(default=False)
        phq9_baseline = IntegerField(null=True)
        notes = TextField(default="")
        active = BooleanField(default=True)
        version = IntegerField(default=1)
        created_at = DateTimeField(default=_utcnow)
        updated_at = DateTimeField(default=_utcnow)
        updated_by = CharField(max_length=100, default="")

    class Chair(Base):
        id = AutoField()
        name = CharField(unique=True, max_length=60)
        routes = CharField(max_length=60, default="iv,nasal")
        position = IntegerField(default=0)
        out_of_service_reason = CharField(max_length=200, null=True)
        retired = BooleanField(default=False)
        version = IntegerField(default=1)
        updated_at = DateTimeField(default=_utcnow)
        updated_by = CharField(max_length=100, default="")

    class Treatment(Base):
        id = AutoField()
        code = CharField(unique=True, max_length=60)
        name = CharField(max_length=200)
        route = CharField(max_length=20)
        dosing_minutes = IntegerField()
        monitoring_minutes = IntegerField()
        turnover_minutes = IntegerField()
        gate_json = TextField(default="{}")
        retired = BooleanField(default=False)

    class Protocol(Base):
        id = AutoField()
        code = CharField(unique=True, max_length=60)
        name = CharField(max_length=200)
        treatment = ForeignKeyField(Treatment, backref="protocols", on_delete="RESTRICT")
        phases_json = TextField()
        retired = BooleanField(default=False)

    class Course(Base):
        id = AutoField()
        patient = ForeignKeyField(Patient, backref="courses", on_delete="RESTRICT")
        protocol = ForeignKeyField(Protocol, backref="courses", on_delete="RESTRICT")
        treatment = ForeignKeyField(Treatment, backref="courses", on_delete="RESTRICT")
        status = CharField(max_length=20, default="planned", index=True)
        start_on = DateField()
        preferred_time = CharField(max_length=5, default="")
        weekdays = CharField(max_length=40, default="")
        planned_sessions = IntegerField()
        notes = TextField(default="")
        version = IntegerField(default=1)
        created_at = DateTimeField(default=_utcnow)
        created_by = CharField(max_length=100, default="")
        updated_at = DateTimeField(default=_utcnow)
        updated_by = CharField(max_length=100, default="")

    class Session(Base):
        id = AutoField()
        patient = ForeignKeyField(Patient, backref="sessions", on_delete="RESTRICT")
        treatment = ForeignKeyField(Treatment, backref="sessions", on_delete="RESTRICT")
        chair = ForeignKeyField(Chair, backref="sessions", null=True, on_delete="RESTRICT")
        course = ForeignKeyField(Course, backref="sessions", null=True, on_delete="RESTRICT")
        number = IntegerField(null=True)
        phase = CharField(max_length=40, default="")
        kind = CharField(max_length=20, default="course")
        status = CharField(max_length=30, default="scheduled")
        start_at = DateTimeField()
        end_at = DateTimeField()
        busy_until = DateTimeField()
        confirmed_at = DateTimeField(null=True)
        arrived_at = DateTimeField(null=True)
        seated_at = DateTimeField(null=True)
        dosing_at = DateTimeField(null=True)
        monitoring_at = DateTimeField(null=True)
        ready_at = DateTimeField(null=True)
        discharged_at = DateTimeField(null=True)
        closed_at = DateTimeField(null=True)
        late_cancel = BooleanField(default=False)
        close_reason = TextField(default="")
        escort_name = CharField(max_length=200, default="")
        escort_phone = CharField(max_length=40, default="")
        gate_json = TextField(default="{}")
        bp_systolic = IntegerField(null=True)
        bp_diastolic = IntegerField(null=True)
        phq9 = IntegerField(null=True)
        notes = TextField(default="")
        replaced_by = ForeignKeyField("self", null=True, backref="replaces", on_delete="SET NULL")
        form_due_on = DateField(null=True)
        form_filed_at = DateTimeField(null=True)
        form_filed_by = CharField(max_length=100, default="")
        version = IntegerField(default=1)
        created_at = DateTimeField(default=_utcnow)
        created_by = CharField(max_length=100, default="")
        updated_at = DateTimeField(default=_utcnow)
        updated_by = CharField(max_length=100, default="")

        class Meta:
            indexes = (
                (("start_at",), False),
                (("chair", "start_at"), False),
                (("patient", "start_at"), False),
                (("course", "number"), False),
                (("status", "start_at"), False),
                (("form_due_on",), False),
            )

    class StatusChange(Base):
        id = AutoField()
        session = ForeignKeyField(Session, backref="status_changes", on_delete="CASCADE")
        from_status = CharField(max_length=30)
        to_status = CharField(max_length=30)
        at = DateTimeField(default=_utcnow)
        actor = CharField(max_length=100, default="")
        undone = BooleanField(default=False)

        class Meta:
            indexes = ((("session", "at"), False),)

    class AuditEntry(Base):
        id = AutoField()
        at = DateTimeField(default=_utcnow)
        actor = CharField(max_length=100)
        action = CharField(max_length=60)
        entity = CharField(max_length=30)
        entity_id = IntegerField(null=True)
        before_json = TextField(default="{}")
        after_json = TextField(default="{}")

        class Meta:
            indexes = ((("entity", "entity_id"), False), (("at",), False))

    return [Setting, ChangeMarker, Patient, Chair, Treatment, Protocol, Course,
            Session, StatusChange, AuditEntry]


def up(migrator, db):
    models = _models(db)
    db.create_tables(models)
    db.execute_sql("INSERT INTO change_marker (id, counter) VALUES (1, 0)")
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(POSTGRES_GUARD.format(active=ACTIVE_SQL))
    else:
        for event, event_sql in (
            ("insert", "INSERT"),
            ("update", "UPDATE OF status, start_at, end_at, busy_until, chair_id, patient_id"),
        ):
            db.execute_sql(SQLITE_GUARD.format(event=event, event_sql=event_sql, active=ACTIVE_SQL))


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql("DROP TRIGGER IF EXISTS session_overlap ON session")
        db.execute_sql("DROP FUNCTION IF EXISTS keta_session_overlap()")
    db.drop_tables(list(reversed(_models(db))))
