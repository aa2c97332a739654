"""Storage errors. Messages are one line, name the file, and never carry row data."""


class DatabaseError(Exception):
    """Base of every storage error keta reports to a user (exit code 4)."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be opened or used right now."""


class DatabaseNotFound(DatabaseUnavailable):
    """No database at the given path (and we were told not to create one)."""


class NotAKetaDatabase(DatabaseUnavailable):
    """The file exists but is not a SQLite database, or is damaged."""


class SchemaTooNew(DatabaseUnavailable):
    """The database was migrated by a newer keta than this one."""


class DatabaseLocked(DatabaseUnavailable):
    """Another writer held the lock past the busy timeout."""
