"""PHQ-9 over time for one patient: the scores taken at check-in, and what they mean in words.

keta makes no clinical decision: response (a drop of 50% or more from baseline) and
remission (a score under 5) are the usual definitions, stated here as descriptions.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from keta_tui.db.models import Patient, Session

from .clock import to_local
from .errors import NotFound
from .gate import phq9_band
from .settings import ClinicSettings

RESPONSE_DROP = 0.5  # a fall of half the baseline or more
REMISSION_BELOW = 5


@dataclass(frozen=True)
class Phq9Point:
    day: dt.date  # clinic wall-clock date of the check-in
    score: int


@dataclass(frozen=True)
class Phq9Trend:
    points: tuple[Phq9Point, ...]
    baseline: int | None  # the patient's recorded baseline, else the first score
    latest: int | None

    @property
    def scores(self) -> list[int]:
        return [point.score for point in self.points]

    @property
    def response(self) -> bool:
        return bool(self.baseline) and self.latest is not None and \
            self.latest <= self.baseline * (1 - RESPONSE_DROP)

    @property
    def remission(self) -> bool:
        return self.latest is not None and self.latest < REMISSION_BELOW

    def words(self) -> str:
        """One line a desk can read aloud: baseline, latest, change, response/remission."""
        if not self.points:
            return "no PHQ-9 recorded yet"
        if self.baseline is None or self.latest is None:
            return f"latest PHQ-9 {self.latest}"
        change = self.latest - self.baseline
        percent = f" ({-change * 100 // self.baseline}% lower)" if self.baseline and change < 0 else ""
        parts = [f"PHQ-9 {self.baseline} ({phq9_band(self.baseline)}) at baseline, "
                 f"now {self.latest} ({phq9_band(self.latest)}){percent}"]
        if self.remission:
            parts.append("remission line reached (under 5)")
        elif self.response:
            parts.append("response line reached (50% drop); remission line is under 5")
        else:
            target = self.baseline // 2
            parts.append(f"response line is {target} or less (50% drop); remission under 5")
        return "; ".join(parts)


def phq9_trend(settings: ClinicSettings, patient_id: int, *, limit: int = 60) -> Phq9Trend:
    """The patient's PHQ-9 scores in check-in order (one indexed query)."""
    baseline_row = Patient.select(Patient.phq9_baseline).where(Patient.id == patient_id).tuples().first()
    if baseline_row is None:
        raise NotFound(f"no patient with id {patient_id}")
    rows = (Session.select(Session.arrived_at, Session.start_at, Session.phq9)
            .where(Session.patient == patient_id, Session.phq9.is_null(False))
            .order_by(Session.start_at.desc())
            .limit(limit)
            .tuples())
    points = tuple(Phq9Point(to_local(arrived or start, settings.tz).date(), score)
                   for arrived, start, score in reversed(list(rows)))
    baseline = baseline_row[0] if baseline_row[0] is not None else (points[0].score if points else None)
    return Phq9Trend(points=points, baseline=baseline, latest=points[-1].score if points else None)
