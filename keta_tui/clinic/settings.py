"""Clinic settings: the TOML file a clinic writes, validated whole into frozen dataclasses.

A file with any error is refused with one message naming the file, the key and what
is wrong; nothing is half-loaded. The validated document is stored in the database
(see :mod:`keta_tui.clinic.setup`) so every desk shares one set of settings.
"""
from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import BadInput, NotFound
from .holiday_names import check_known, holiday_name

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROUTES = ("iv", "nasal")
GATE_ITEMS = ("escort", "fasting", "consent", "rems", "blood_pressure", "phq9")
GATE_LEVELS = ("required", "optional", "off")

EXAMPLE_PATH = Path(__file__).resolve().parent.parent / "clinic.example.toml"


class SettingsError(BadInput):
    """An invalid settings file: names the file, the key and what is wrong."""


@dataclass(frozen=True)
class ChairSpec:
    name: str
    routes: tuple[str, ...]


@dataclass(frozen=True)
class TreatmentSpec:
    code: str
    name: str
    route: str
    dosing_minutes: int
    monitoring_minutes: int
    turnover_minutes: int
    gate: Mapping[str, str] = field(compare=True, hash=False)
    # Where the minimum monitoring time counts from: "dosing_start" (esketamine: the
    # first device) or "dosing_end" (IV: after the infusion).
    monitoring_from: str = "dosing_start"

    @property
    def chair_minutes(self) -> int:
        """Minutes from the planned start to the earliest planned discharge."""
        if self.monitoring_from == "dosing_end":
            return self.dosing_minutes + self.monitoring_minutes
        return max(self.dosing_minutes, self.monitoring_minutes)

    @property
    def busy_minutes(self) -> int:
        """Minutes the chair is held, turnover included."""
        return self.chair_minutes + self.turnover_minutes

    def span(self, start: dt.datetime) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
        """(start, end of minimum monitoring, chair free after turnover) for a planned start."""
        end = start + dt.timedelta(minutes=self.chair_minutes)
        return start, end, end + dt.timedelta(minutes=self.turnover_minutes)

    def earliest_ready(self, dosing_at: dt.datetime) -> dt.datetime:
        """The earliest ready-to-leave time for a session whose dosing started at ``dosing_at``."""
        minutes = self.monitoring_minutes
        if self.monitoring_from == "dosing_end":
            minutes += self.dosing_minutes
        return dosing_at + dt.timedelta(minutes=minutes)

    def gate_level(self, item: str) -> str:
        return self.gate.get(item, "off")


@dataclass(frozen=True)
class PhaseSpec:
    name: str
    sessions: int
    weekdays: tuple[int, ...]  # 0 = Monday, as date.weekday()
    every_weeks: int


@dataclass(frozen=True)
class ProtocolSpec:
    code: str
    name: str
    treatment: str
    phases: tuple[PhaseSpec, ...]

    @property
    def total_sessions(self) -> int:
        return sum(p.sessions for p in self.phases)


@dataclass(frozen=True)
class Rules:
    late_cancel_hours: int = 24
    late_grace_minutes: int = 15
    slot_minutes: int = 15
    consent_warning_days: int = 30
    rems_form_days: int = 7
    pickup_call_minutes: int = 30
    bp_flag: tuple[int, int] = (140, 90)
    bp_hold: tuple[int, int] | None = None


@dataclass(frozen=True)
class ClinicSettings:
    name: str
    timezone: str
    hours: Mapping[int, tuple[dt.time, dt.time]] = field(hash=False)
    closure_country: str
    closure_subdivision: str
    closure_dates: frozenset[dt.date]
    # Dates the clinic opens although a weekend or holiday would close it.
    open_dates: frozenset[dt.date]
    chairs: tuple[ChairSpec, ...]
    treatments: Mapping[str, TreatmentSpec] = field(hash=False)
    protocols: Mapping[str, ProtocolSpec] = field(hash=False)
    rules: Rules
    # The validated document, as stored in the database.
    document: Mapping[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def treatment(self, code: str) -> TreatmentSpec:
        try:
            return self.treatments[code]
        except KeyError:
            known = ", ".join(self.treatments)
            raise NotFound(f"unknown treatment '{code}' (known: {known})") from None

    def protocol(self, code: str) -> ProtocolSpec:
        try:
            return self.protocols[code]
        except KeyError:
            known = ", ".join(self.protocols)
            raise NotFound(f"unknown protocol '{code}' (known: {known})") from None

    def opening(self, day: dt.date) -> tuple[dt.time, dt.time] | None:
        """Opening and closing time on a day, or None when the clinic is closed."""
        if self.closure_reason(day):
            return None
        if day in self.open_dates and day.weekday() not in self.hours:
            return next(iter(self.hours.values()))
        return self.hours.get(day.weekday())

    def is_open(self, day: dt.date) -> bool:
        return self.opening(day) is not None

    def closure_reason(self, day: dt.date) -> str | None:
        """Why the clinic is closed on a day ("weekend", a holiday's name...), or None."""
        if day in self.closure_dates:
            return "clinic closure"
        if day in self.open_dates:
            return None
        if self.closure_country:
            name = holiday_name(self.closure_country, self.closure_subdivision, day)
            if name:
                return name
        if day.weekday() not in self.hours:
            return "closed on " + WEEKDAYS[day.weekday()].capitalize()
        return None


def parse_weekdays(text: str) -> tuple[int, ...]:
    """"mon,wed,fri" as sorted date.weekday() numbers."""
    names = [part.strip().lower()[:3] for part in (text or "").split(",") if part.strip()]
    unknown = [n for n in names if n not in WEEKDAYS]
    if not names or unknown:
        raise BadInput(f"not a list of weekdays: {text!r} (use e.g. mon,wed,fri)")
    return tuple(sorted({WEEKDAYS.index(n) for n in names}))


# --- loading -----------------------------------------------------------------------


def example_settings() -> ClinicSettings:
    return load_settings_file(EXAMPLE_PATH)


def load_settings_file(path: str | Path) -> ClinicSettings:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such settings file") from None
    except IsADirectoryError:
        raise SettingsError(f"{path}: is a folder, not a settings file") from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not UTF-8 text") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    return settings_from_dict(document, source=str(path))


def settings_from_json(text: str, source: str = "stored settings") -> ClinicSettings:
    return settings_from_dict(json.loads(text), source=source)


def settings_to_json(settings: ClinicSettings) -> str:
    return json.dumps(settings.document, sort_keys=True, default=str)


class _Checker:
    """Reads one document, raising SettingsError with file and key on the first problem."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str):
        raise SettingsError(f"{self.source}: {key}: {problem}")

    def table(self, doc: Mapping, key: str, *, required: bool = True) -> Mapping:
        value = doc.get(key.rsplit(".", 1)[-1])
        if value is None:
            if required:
                self.fail(key, "missing section")
            return {}
        if not isinstance(value, Mapping):
            self.fail(key, "must be a table")
        return value

    def string(self, doc: Mapping, name: str, key: str, *, required: bool = True,
               default: str = "", max_len: int = 200) -> str:
        value = doc.get(name)
        if value is None:
            if required:
                self.fail(key, "missing")
            return default
        if not isinstance(value, str):
            self.fail(key, f"must be text, not {type(value).__name__}")
        value = value.strip()
        if required and not value:
            self.fail(key, "must not be empty")
        if len(value) > max_len:
            self.fail(key, f"longer than {max_len} characters")
        if any(ord(ch) < 32 for ch in value):
            self.fail(key, "must not contain control characters")
        return value

    def integer(self, doc: Mapping, name: str, key: str, *, default: int | None = None,
                low: int = 0, high: int = 10_000) -> int:
        value = doc.get(name, default)
        if value is None:
            self.fail(key, "missing")
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be a whole number, not {value!r}")
        if not low <= value <= high:
            self.fail(key, f"must be between {low} and {high}, not {value}")
        return value

    def check_unknown(self, doc: Mapping, allowed: tuple[str, ...], key: str) -> None:
        for name in doc:
            if name not in allowed:
                where = f"{key}.{name}" if key else name
                self.fail(where, "unknown setting (check the spelling)")


def _parse_clock(text: str) -> dt.time:
    hour, minute = text.split(":")
    if len(hour) != 2 or len(minute) != 2:
        raise ValueError(text)
    return dt.time(int(hour), int(minute))


def _parse_bp(check: _Checker, value: str, key: str, *, allow_empty: bool) -> tuple[int, int] | None:
    if value == "" and allow_empty:
        return None
    try:
        systolic, diastolic = (int(part) for part in value.split("/"))
    except ValueError:
        check.fail(key, f"must look like \"140/90\", not {value!r}")
    if not (50 <= systolic <= 300 and 30 <= diastolic <= 200 and diastolic < systolic):
        check.fail(key, f"{value!r} is not a plausible blood pressure")
    return systolic, diastolic


def _date_list(check: _Checker, doc: Mapping, name: str, key: str) -> set[dt.date]:
    raw = doc.get(name, [])
    if not isinstance(raw, list):
        check.fail(key, "must be a list of \"YYYY-MM-DD\" dates")
    dates = set()
    for index, value in enumerate(raw):
        item_key = f"{key}[{index}]"
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            dates.add(value)
            continue
        if not isinstance(value, str):
            check.fail(item_key, f"must be a date, not {value!r}")
        try:
            dates.add(dt.date.fromisoformat(value))
        except ValueError:
            check.fail(item_key, f"must be \"YYYY-MM-DD\", not {value!r}")
    return dates


def settings_from_dict(document: Mapping[str, Any], source: str = "settings") -> ClinicSettings:
    """Validate a whole settings document; raise SettingsError on the first problem."""
    check = _Checker(source)
    if not isinstance(document, Mapping):
        check.fail("(top)", "must be a table")
    check.check_unknown(document, ("clinic", "hours", "closures", "rules", "chairs", "treatments", "protocols"), "")

    clinic = check.table(document, "clinic")
    check.check_unknown(clinic, ("name", "timezone"), "clinic")
    name = check.string(clinic, "name", "clinic.name")
    timezone = check.string(clinic, "timezone", "clinic.timezone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        check.fail("clinic.timezone", f"unknown time zone {timezone!r} (use an IANA name such as \"America/New_York\")")

    hours_doc = check.table(document, "hours")
    check.check_unknown(hours_doc, WEEKDAYS, "hours")
    hours: dict[int, tuple[dt.time, dt.time]] = {}
    for day_name, span in hours_doc.items():
        key = f"hours.{day_name}"
        if not isinstance(span, str):
            check.fail(key, "must be \"HH:MM-HH:MM\"")
        try:
            opens_text, closes_text = span.split("-")
            opens, closes = _parse_clock(opens_text.strip()), _parse_clock(closes_text.strip())
        except ValueError:
            check.fail(key, f"must be \"HH:MM-HH:MM\", not {span!r}")
        if closes <= opens:
            check.fail(key, f"closes ({closes:%H:%M}) before it opens ({opens:%H:%M})")
        hours[WEEKDAYS.index(day_name)] = (opens, closes)
    if not hours:
        check.fail("hours", "the clinic must be open on at least one weekday")

    closures = check.table(document, "closures", required=False)
    check.check_unknown(closures, ("country", "subdivision", "dates", "open_dates"), "closures")
    country = check.string(closures, "country", "closures.country", required=False, max_len=3).upper()
    subdivision = check.string(closures, "subdivision", "closures.subdivision", required=False, max_len=10).upper()
    if country:
        try:
            check_known(country)
        except NotImplementedError:
            check.fail("closures.country", f"no public holidays known for {country!r}")
        try:
            check_known(country, subdivision)
        except Exception as exc:  # holidays raises NotImplementedError for unknown subdivisions too
            check.fail("closures.subdivision", f"{subdivision!r} is not known for {country}: {exc}")
    elif subdivision:
        check.fail("closures.subdivision", "needs closures.country")
    closure_dates = _date_list(check, closures, "dates", "closures.dates")
    open_dates = _date_list(check, closures, "open_dates", "closures.open_dates")
    if closure_dates & open_dates:
        check.fail("closures.open_dates", f"{min(closure_dates & open_dates)} is also listed as closed")

    rules_doc = check.table(document, "rules", required=False)
    defaults = Rules()
    rule_names = ("late_cancel_hours", "late_grace_minutes", "slot_minutes", "consent_warning_days",
                  "rems_form_days", "pickup_call_minutes", "bp_flag", "bp_hold")
    check.check_unknown(rules_doc, rule_names, "rules")
    rules = Rules(
        late_cancel_hours=check.integer(rules_doc, "late_cancel_hours", "rules.late_cancel_hours",
                                        default=defaults.late_cancel_hours, high=24 * 14),
        late_grace_minutes=check.integer(rules_doc, "late_grace_minutes", "rules.late_grace_minutes",
                                         default=defaults.late_grace_minutes, high=240),
        slot_minutes=check.integer(rules_doc, "slot_minutes", "rules.slot_minutes",
                                   default=defaults.slot_minutes, low=5, high=120),
        consent_warning_days=check.integer(rules_doc, "consent_warning_days", "rules.consent_warning_days",
                                           default=defaults.consent_warning_days, high=365),
        rems_form_days=check.integer(rules_doc, "rems_form_days", "rules.rems_form_days",
                                     default=defaults.rems_form_days, low=1, high=90),
        pickup_call_minutes=check.integer(rules_doc, "pickup_call_minutes", "rules.pickup_call_minutes",
                                          default=defaults.pickup_call_minutes, low=5, high=240),
        bp_flag=_parse_bp(check, check.string(rules_doc, "bp_flag", "rules.bp_flag", required=False,
                                               default="140/90"), "rules.bp_flag", allow_empty=False),
        bp_hold=_parse_bp(check, check.string(rules_doc, "bp_hold", "rules.bp_hold", required=False),
                          "rules.bp_hold", allow_empty=True),
    )
    if 60 % rules.slot_minutes:
        check.fail("rules.slot_minutes", "must divide an hour (5, 10, 15, 20, 30 or 60)")

    chairs_raw = document.get("chairs")
    if not isinstance(chairs_raw, list) or not chairs_raw:
        check.fail("chairs", "list at least one [[chairs]] entry")
    chairs = []
    for index, chair in enumerate(chairs_raw):
        key = f"chairs[{index}]"
        if not isinstance(chair, Mapping):
            check.fail(key, "must be a table")
        check.check_unknown(chair, ("name", "routes"), key)
        chair_name = check.string(chair, "name", f"{key}.name", max_len=60)
        routes = chair.get("routes", list(ROUTES))
        if not isinstance(routes, list) or not routes or any(r not in ROUTES for r in routes):
            check.fail(f"{key}.routes", f"must be a non-empty list of {', '.join(ROUTES)}")
        if any(c.name.lower() == chair_name.lower() for c in chairs):
            check.fail(f"{key}.name", f"chair {chair_name!r} is listed twice")
        chairs.append(ChairSpec(chair_name, tuple(dict.fromkeys(routes))))

    treatments_raw = document.get("treatments")
    if not isinstance(treatments_raw, list) or not treatments_raw:
        check.fail("treatments", "list at least one [[treatments]] entry")
    treatments: dict[str, TreatmentSpec] = {}
    for index, item in enumerate(treatments_raw):
        key = f"treatments[{index}]"
        if not isinstance(item, Mapping):
            check.fail(key, "must be a table")
        check.check_unknown(item, ("code", "name", "route", "dosing_minutes", "monitoring_minutes",
                                   "monitoring_from", "turnover_minutes", "gate"), key)
        code = check.string(item, "code", f"{key}.code", max_len=60)
        if code in treatments:
            check.fail(f"{key}.code", f"treatment {code!r} is listed twice")
        route = check.string(item, "route", f"{key}.route")
        if route not in ROUTES:
            check.fail(f"{key}.route", f"must be one of {', '.join(ROUTES)}, not {route!r}")
        if not any(route in c.routes for c in chairs):
            check.fail(f"{key}.route", f"no chair can host route {route!r}")
        monitoring_from = check.string(item, "monitoring_from", f"{key}.monitoring_from", required=False,
                                       default="dosing_start")
        if monitoring_from not in ("dosing_start", "dosing_end"):
            check.fail(f"{key}.monitoring_from", f"must be \"dosing_start\" or \"dosing_end\", not {monitoring_from!r}")
        gate_doc = item.get("gate", {})
        if not isinstance(gate_doc, Mapping):
            check.fail(f"{key}.gate", "must be a table of item = \"required\" | \"optional\" | \"off\"")
        check.check_unknown(gate_doc, GATE_ITEMS, f"{key}.gate")
        gate = {}
        for gate_item in GATE_ITEMS:
            level = gate_doc.get(gate_item, "off")
            if level not in GATE_LEVELS:
                check.fail(f"{key}.gate.{gate_item}", f"must be one of {', '.join(GATE_LEVELS)}, not {level!r}")
            gate[gate_item] = level
        treatments[code] = TreatmentSpec(
            code=code,
            name=check.string(item, "name", f"{key}.name"),
            route=route,
            dosing_minutes=check.integer(item, "dosing_minutes", f"{key}.dosing_minutes", low=1, high=600),
            monitoring_minutes=check.integer(item, "monitoring_minutes", f"{key}.monitoring_minutes",
                                             low=0, high=600),
            turnover_minutes=check.integer(item, "turnover_minutes", f"{key}.turnover_minutes", high=240),
            gate=gate,
            monitoring_from=monitoring_from,
        )

    protocols_raw = document.get("protocols", [])
    if not isinstance(protocols_raw, list):
        check.fail("protocols", "must be a list of [[protocols]] entries")
    protocols: dict[str, ProtocolSpec] = {}
    for index, item in enumerate(protocols_raw):
        key = f"protocols[{index}]"
        if not isinstance(item, Mapping):
            check.fail(key, "must be a table")
        check.check_unknown(item, ("code", "name", "treatment", "phases"), key)
        code = check.string(item, "code", f"{key}.code", max_len=60)
        if code in protocols:
            check.fail(f"{key}.code", f"protocol {code!r} is listed twice")
        treatment = check.string(item, "treatment", f"{key}.treatment")
        if treatment not in treatments:
            check.fail(f"{key}.treatment", f"unknown treatment {treatment!r}")
        phases_raw = item.get("phases")
        if not isinstance(phases_raw, list) or not phases_raw:
            check.fail(f"{key}.phases", "list at least one phase")
        phases = []
        for p_index, phase in enumerate(phases_raw):
            p_key = f"{key}.phases[{p_index}]"
            if not isinstance(phase, Mapping):
                check.fail(p_key, "must be a table")
            check.check_unknown(phase, ("name", "sessions", "weekdays", "every_weeks"), p_key)
            weekdays = phase.get("weekdays")
            if (not isinstance(weekdays, list) or not weekdays
                    or any(not isinstance(d, str) or d.lower() not in WEEKDAYS for d in weekdays)):
                check.fail(f"{p_key}.weekdays", f"must be a non-empty list of {', '.join(WEEKDAYS)}")
            day_numbers = tuple(sorted({WEEKDAYS.index(d.lower()) for d in weekdays}))
            if not any(d in hours for d in day_numbers):
                check.fail(f"{p_key}.weekdays", "the clinic is closed on all of these days")
            phases.append(PhaseSpec(
                name=check.string(phase, "name", f"{p_key}.name", max_len=40),
                sessions=check.integer(phase, "sessions", f"{p_key}.sessions", low=1, high=200),
                weekdays=day_numbers,
                every_weeks=check.integer(phase, "every_weeks", f"{p_key}.every_weeks", default=1,
                                          low=1, high=26),
            ))
        protocols[code] = ProtocolSpec(code, check.string(item, "name", f"{key}.name"), treatment, tuple(phases))

    # Store what was validated, normalised to JSON-friendly values.
    stored = json.loads(json.dumps(document, default=lambda v: v.isoformat()))
    return ClinicSettings(
        name=name,
        timezone=timezone,
        hours=hours,
        closure_country=country,
        closure_subdivision=subdivision,
        closure_dates=frozenset(closure_dates),
        open_dates=frozenset(open_dates),
        chairs=tuple(chairs),
        treatments=treatments,
        protocols=protocols,
        rules=rules,
        document=stored,
    )
