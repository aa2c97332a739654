"""Patients: adding, editing (versioned), finding them fast, and resolving a REF.

Search uses the indexed columns only, with prefix range queries: ``search_name``
(accent-folded "last first"), ``phone_digits``, ``dob`` and ``mrn``. Text is stored
as typed (markup and control characters included); showing it safely is the
printer's job.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from peewee import fn

from keta_tui.db.connection import is_postgres
from keta_tui.db.models import Patient

from .clock import UTC
from .errors import BadInput, NotFound, Refused
from .store import audit, check_version, snapshot, writing

# Fields a desk may edit, with the longest text each holds.
TEXT_LIMITS = {"first_name": 200, "last_name": 200, "phone": 40, "email": 200, "escort_name": 200,
               "escort_phone": 40, "notes": 10_000, "mrn": 32}
EDITABLE = ("first_name", "last_name", "dob", "phone", "email", "escort_name", "escort_phone",
            "consent_expires_on", "rems_enrolled", "notes", "phq9_baseline", "mrn", "active")
MRN_PREFIX = "K"
# Beyond any code point a name holds: "abc" + this closes the prefix range [abc, abc\U0010ffff).
_RANGE_END = "\U0010ffff"
_DATE_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_PHONE_TEXT = re.compile(r"^[\d\s()+.\-]+$")
_MRN_TEXT = re.compile(r"^[A-Za-z]{0,4}\d+$")


@dataclass(frozen=True)
class PatientSummary:
    id: int
    mrn: str
    name: str  # "Last, First"
    first_name: str
    last_name: str
    initials: str
    dob: dt.date | None
    phone: str


@dataclass(frozen=True)
class PatientDetail:
    id: int
    mrn: str
    name: str
    first_name: str
    last_name: str
    initials: str
    dob: dt.date | None
    phone: str
    email: str
    escort_name: str
    escort_phone: str
    consent_expires_on: dt.date | None
    rems_enrolled: bool
    phq9_baseline: int | None
    notes: str
    active: bool
    version: int
    updated_by: str
    updated_at: dt.datetime  # aware UTC


def fold(text: str) -> str:
    """Lower-case, accents removed, apostrophes dropped, other punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    plain = re.sub(r"['\u2019`]", "", plain)
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def normalise_name(first: str, last: str) -> str:
    """The search key of a name: folded "last first"."""
    return " ".join(part for part in (fold(last), fold(first)) if part)


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())[:40]


def initials(first: str, last: str) -> str:
    return "".join(part.strip()[:1].upper() for part in (first, last) if part.strip()) or "?"


def display_name(first: str, last: str) -> str:
    return f"{last}, {first}" if first else last


def _summary(row: Patient) -> PatientSummary:
    return PatientSummary(id=row.id, mrn=row.mrn, name=display_name(row.first_name, row.last_name),
                          first_name=row.first_name, last_name=row.last_name,
                          initials=initials(row.first_name, row.last_name), dob=row.dob, phone=row.phone)


def _detail(row: Patient) -> PatientDetail:
    return PatientDetail(id=row.id, mrn=row.mrn, name=display_name(row.first_name, row.last_name),
                         first_name=row.first_name, last_name=row.last_name,
                         initials=initials(row.first_name, row.last_name), dob=row.dob, phone=row.phone,
                         email=row.email, escort_name=row.escort_name, escort_phone=row.escort_phone,
                         consent_expires_on=row.consent_expires_on, rems_enrolled=bool(row.rems_enrolled),
                         phq9_baseline=row.phq9_baseline, notes=row.notes, active=bool(row.active),
                         version=row.version, updated_by=row.updated_by,
                         updated_at=row.updated_at.replace(tzinfo=UTC))


# --- validation ----------------------------------------------------------------------


def _as_date(name: str, value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    parsed = parse_query_date(str(value).strip())
    if parsed is None:
        raise BadInput(f"{name}: not a date: {value!r} (use YYYY-MM-DD)")
    return parsed


def _clean(changes: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """Validated values for the given fields; BadInput names the first bad one."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise BadInput(f"cannot edit {', '.join(unknown)} (editable: {', '.join(EDITABLE)})")
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name in TEXT_LIMITS:
            text = "" if value is None else str(value)
            if name in ("first_name", "last_name", "mrn"):
                text = text.strip()
            if len(text) > TEXT_LIMITS[name]:
                raise BadInput(f"{name}: longer than {TEXT_LIMITS[name]} characters")
            clean[name] = text
        elif name in ("dob", "consent_expires_on"):
            clean[name] = _as_date(name, value)
        elif name in ("rems_enrolled", "active"):
            clean[name] = bool(value)
        elif name == "phq9_baseline":
            if value is None or value == "":
                clean[name] = None
            else:
                try:
                    score = int(value)
                except (TypeError, ValueError):
                    raise BadInput(f"phq9_baseline: not a number: {value!r} (0-27)") from None
                if not 0 <= score <= 27:
                    raise BadInput(f"phq9_baseline: {score} is outside 0-27")
                clean[name] = score
    if "last_name" in clean and not clean["last_name"]:
        raise BadInput("last name must not be empty")
    if "first_name" in clean and not clean["first_name"]:
        raise BadInput("first name must not be empty")
    if "mrn" in clean:
        clean["mrn"] = clean["mrn"].upper()
        if not clean["mrn"]:
            raise BadInput("MRN must not be empty")
    dob = clean.get("dob")
    if dob is not None and not dt.date(1900, 1, 1) <= dob <= today:
        raise BadInput(f"date of birth {dob.isoformat()} is not between 1900-01-01 and today")
    if clean.get("email") and "@" not in clean["email"]:
        raise BadInput(f"email: not an address: {clean['email']!r}")
    if "phone" in clean and clean["phone"] and len(phone_digits(clean["phone"])) < 3:
        raise BadInput(f"phone: too few digits in {clean['phone']!r}")
    return clean


def derived_search_columns(values: dict[str, Any], first_name: str, last_name: str) -> dict[str, Any]:
    """The search columns that follow from the written ones (names as they end up)."""
    derived = {}
    if "first_name" in values or "last_name" in values:
        derived["search_name"] = normalise_name(first_name, last_name)[:400]
    if "phone" in values:
        derived["phone_digits"] = phone_digits(values["phone"])
        derived["phone_reversed"] = derived["phone_digits"][::-1]
    return derived


def _refuse_taken_mrn(mrn: str, patient_id: int | None = None) -> None:
    query = Patient.select(Patient.id).where(Patient.mrn == mrn)
    if patient_id is not None:
        query = query.where(Patient.id != patient_id)
    if query.exists():
        raise Refused(f"refused: MRN {mrn} is already used by another patient", reason="duplicate")


# --- writes --------------------------------------------------------------------------


def add_patient(*, first_name: str, last_name: str, dob: dt.date | str | None = None, phone: str = "",
                email: str = "", escort_name: str = "", escort_phone: str = "",
                consent_expires_on: dt.date | str | None = None, rems_enrolled: bool = False,
                notes: str = "", mrn: str | None = None, actor: str, now: dt.datetime) -> PatientDetail:
    """Add a patient; without ``mrn`` one is made from the id ("K000123")."""
    values = dict(first_name=first_name, last_name=last_name, dob=dob, phone=phone, email=email,
                  escort_name=escort_name, escort_phone=escort_phone, consent_expires_on=consent_expires_on,
                  rems_enrolled=rems_enrolled, notes=notes)
    if mrn is not None:
        values["mrn"] = mrn
    stamp = now.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    clean = _clean(values, now.astimezone(UTC).date())
    with writing():
        if "mrn" in clean:
            _refuse_taken_mrn(clean["mrn"])
        row = Patient.create(**{**clean, "mrn": clean.get("mrn") or f"new-{uuid.uuid4().hex[:24]}"},
                             **derived_search_columns(clean, clean["first_name"], clean["last_name"]), created_at=stamp, updated_at=stamp, updated_by=actor)
        if "mrn" not in clean:
            row.mrn = f"{MRN_PREFIX}{row.id:06d}"
            Patient.update(mrn=row.mrn).where(Patient.id == row.id).execute()
        audit(actor, "patient.add", "patient", row.id, after=snapshot(row, ("mrn",) + tuple(values)), at=stamp)
    return _detail(row)


def update_patient(patient_id: int, *, version: int, changes: dict[str, Any], actor: str,
                   now: dt.datetime) -> PatientDetail:
    """Apply ``changes`` if the patient is still at ``version``; audit the changed fields.

    A stale version is refused with who changed the patient and when.
    """
    stamp = now.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    clean = _clean(changes, now.astimezone(UTC).date())
    with writing():
        row = _load(patient_id)
        check_version(row, version, "patient")
        before = snapshot(row, clean)
        changed = {name: value for name, value in clean.items() if before[name] != snapshot_value(value)}
        if not changed:
            return _detail(row)
        if "mrn" in changed:
            _refuse_taken_mrn(changed["mrn"], row.id)
        derived = derived_search_columns(changed, changed.get("first_name", row.first_name),
                           changed.get("last_name", row.last_name))
        Patient.update(**changed, **derived, version=Patient.version + 1, updated_at=stamp, updated_by=actor
                       ).where(Patient.id == row.id, Patient.version == row.version).execute()
        audit(actor, "patient.edit", "patient", row.id, before={k: before[k] for k in changed},
              after={k: snapshot_value(v) for k, v in changed.items()}, at=stamp)
        row = _load(patient_id)
    return _detail(row)


def snapshot_value(value: Any) -> Any:
    """A value as :func:`snapshot` stores it, so before/after compare like for like."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


# --- reads ---------------------------------------------------------------------------


def _load(patient_id: int) -> Patient:
    row = Patient.get_or_none(Patient.id == patient_id)
    if row is None:
        raise NotFound(f"no patient with id {patient_id}")
    return row


def get_patient(patient_id: int) -> PatientDetail:
    return _detail(_load(patient_id))


def summaries(patient_ids: Iterable[int]) -> dict[int, PatientSummary]:
    """Summaries of several patients in one query."""
    ids = list(patient_ids)
    if not ids:
        return {}
    return {row.id: _summary(row) for row in Patient.select().where(Patient.id.in_(ids))}


def parse_query_date(text: str) -> dt.date | None:
    """A typed date of birth: YYYY-MM-DD or MM/DD/YYYY, else None."""
    try:
        if _DATE_ISO.match(text):
            return dt.date.fromisoformat(text)
        match = _DATE_US.match(text)
        if match:
            month, day, year = (int(g) for g in match.groups())
            return dt.date(year, month, day)
    except ValueError:
        return None
    return None


def _prefix(column, text: str):
    """Values starting with ``text``: an index range on SQLite (binary order)."""
    if is_postgres():
        # A locale collation does not sort by code point, so a range could miss rows.
        return fn.starts_with(column, text)
    return (column >= text) & (column < text + _RANGE_END)


def _name_matches(query_words: list[str], name_words: list[str]) -> bool:
    """Every query word is a prefix of a different word of the name, in any order."""
    remaining = list(name_words)
    for word in sorted(query_words, key=len, reverse=True):
        hit = next((i for i, name_word in enumerate(remaining) if name_word.startswith(word)), None)
        if hit is None:
            return False
        remaining.pop(hit)
    return True


def _name_ids(text: str, limit: int) -> list[int]:
    words = fold(text).split()
    if not words:
        return []
    if len(words) == 1:
        # One word: a last-name prefix, straight off the index in name order.
        return [pid for (pid,) in Patient.select(Patient.id).where(_prefix(Patient.search_name, words[0]))
                .order_by(Patient.search_name, Patient.id).limit(limit).tuples()]
    # Several words: each one may be where the name starts, so one index range per
    # word, narrowed in SQL by the other words starting a later word of the name.
    found: dict[int, str] = {}
    for word in dict.fromkeys(words):
        query = Patient.select(Patient.id, Patient.search_name).where(_prefix(Patient.search_name, word))
        for other in words:
            if other != word:
                query = query.where(Patient.search_name.contains(" " + other))
        for pid, key in query.tuples():
            if pid not in found and _name_matches(words, key.split()):
                found[pid] = key
    # Names starting with the first word typed come first: "smi jo" lists Smith before Johnson.
    ranked = sorted(found.items(), key=lambda item: (not item[1].startswith(words[0]), item[1], item[0]))
    return [pid for pid, _key in ranked][:limit]


def _digit_ids(digits: str, limit: int) -> list[int]:
    """Phone numbers starting or ending with the digits (with or without a leading "1"), then MRNs."""
    # Index ranges only: "ends with" reads the reversed-digits column by prefix.
    variants = [digits, digits[1:] if digits.startswith("1") and len(digits) > 3 else "1" + digits]
    queries = [Patient.select(Patient.id).where(_prefix(Patient.phone_digits, variant)).order_by(Patient.phone_digits)
               for variant in variants]
    if len(digits) >= 4:
        # Typed without the area code: "555-0143" finds 646-555-0143.
        queries.append(Patient.select(Patient.id).where(_prefix(Patient.phone_reversed, digits[::-1]))
                       .order_by(Patient.phone_reversed))
    queries.append(Patient.select(Patient.id).where(_prefix(Patient.mrn, MRN_PREFIX + digits)))
    ids: list[int] = []
    for query in queries:
        for (pid,) in query.limit(limit).tuples():
            if pid not in ids:
                ids.append(pid)
    return ids[:limit]


def find_patients(query: str, limit: int = 20) -> list[PatientSummary]:
    """Patients by name prefix (any word order), date of birth, phone digits or MRN."""
    text = (query or "").strip()
    if not text or limit <= 0:
        return []
    dob = parse_query_date(text)
    if dob is not None:
        ids = [pid for (pid,) in Patient.select(Patient.id).where(Patient.dob == dob)
               .order_by(Patient.search_name).limit(limit).tuples()]
    elif _PHONE_TEXT.match(text) and len(phone_digits(text)) >= 3:
        ids = _digit_ids(phone_digits(text), limit)
    elif _MRN_TEXT.match(text):
        ids = [pid for (pid,) in Patient.select(Patient.id).where(_prefix(Patient.mrn, text.upper()))
               .order_by(Patient.mrn).limit(limit).tuples()]
        ids += [pid for pid in _name_ids(text, limit) if pid not in ids]
    else:
        ids = _name_ids(text, limit)
    found = summaries(ids[:limit])
    return [found[pid] for pid in ids[:limit] if pid in found]


def resolve_patient(ref: str) -> int:
    """A patient id from an id, an MRN, or a name that matches exactly one patient."""
    text = (ref or "").strip()
    if not text:
        raise BadInput("no patient given (use an id, an MRN or a name)")
    if text.isdigit():
        if Patient.select(Patient.id).where(Patient.id == int(text)).exists():
            return int(text)
        raise NotFound(f"no patient with id {text}")
    by_mrn = Patient.select(Patient.id).where(Patient.mrn == text.upper()).scalar()
    if by_mrn is not None:
        return by_mrn
    matches = find_patients(text, limit=6)
    if len(matches) > 1:
        # A name typed whole wins over longer names it is a prefix of.
        exact = [m for m in matches if normalise_name(m.first_name, m.last_name) in
                 (fold(text), " ".join(reversed(fold(text).split())))]
        if len(exact) == 1:
            return exact[0].id
    if not matches:
        raise NotFound(f"no patient matches '{text}'")
    if len(matches) > 1:
        listed = ", ".join(f"{m.id} ({m.mrn})" for m in matches[:5])
        more = " or more" if len(matches) > 5 else ""
        raise BadInput(f"'{text}' matches {len(matches)}{more} patients: {listed}; use an id or MRN")
    return matches[0].id
