"""Baseline for `keta today`: the least a script can do to print a clinic day.

Opens the SQLite file with sqlite3, reads the day's chairs and sessions with one
indexed query each (session.start_at is indexed), prints them with rich.
Usage: bare_today.py DB_PATH YYYY-MM-DD TIMEZONE
"""
import datetime as dt
import sqlite3
import sys
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from rich.text import Text

UTC = dt.timezone.utc

DAY_SQL = """
SELECT s.start_at, s.end_at, p.last_name || ', ' || p.first_name, t.code, c.name,
       s.status, s.number, co.planned_sessions
FROM session AS s
JOIN patient AS p ON p.id = s.patient_id
JOIN treatment AS t ON t.id = s.treatment_id
LEFT JOIN chair AS c ON c.id = s.chair_id
LEFT JOIN course AS co ON co.id = s.course_id
WHERE s.start_at >= ? AND s.start_at < ?
ORDER BY s.start_at, c.position
"""


def day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[str, str]:
    start = dt.datetime.combine(day, dt.time(), zone).astimezone(UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(UTC)
    return start.strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%Y-%m-%d %H:%M:%S")


def main(path: str, day_text: str, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    day = dt.date.fromisoformat(day_text)
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    chairs = connection.execute(
        "SELECT name, out_of_service_reason FROM chair WHERE NOT retired ORDER BY position").fetchall()
    rows = connection.execute(DAY_SQL, day_bounds(day, zone)).fetchall()
    console = Console(width=80)
    console.print(f"{day:%A %d %B %Y}: {len(chairs)} chairs, {len(rows)} sessions")
    table = Table(box=None, pad_edge=False)
    for header in ("time", "patient", "treatment", "chair", "status", "n/N"):
        table.add_column(header)
    for start_at, end_at, patient, treatment, chair, status, number, planned in rows:
        start = dt.datetime.fromisoformat(start_at).replace(tzinfo=UTC).astimezone(zone)
        end = dt.datetime.fromisoformat(end_at).replace(tzinfo=UTC).astimezone(zone)
        course = f"{number} of {planned}" if number and planned else ""
        # Text() keeps a name that looks like rich markup printed literally.
        table.add_row(f"{start:%H:%M}-{end:%H:%M}", Text(patient), treatment, chair or "",
                      status, course)
    console.print(table)


if __name__ == "__main__":
    main(*sys.argv[1:4])
