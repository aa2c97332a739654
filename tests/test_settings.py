"""Settings validation: every kind of error names the file and the key, and loads nothing."""
from __future__ import annotations

import copy
import tomllib

import pytest

from keta_tui.clinic.settings import EXAMPLE_PATH, SettingsError, example_settings, load_settings_file

EXAMPLE = tomllib.loads(EXAMPLE_PATH.read_text(encoding="utf-8"))


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + "".join(f"\\u{ord(ch):04x}" if ord(ch) < 32 else ch for ch in escaped) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


def dump_toml(document: dict) -> str:
    """Enough of a TOML writer for settings documents (tables, arrays of tables, inline values)."""
    lines = []
    for key, value in document.items():
        if not isinstance(value, (dict, list)) or (isinstance(value, list) and not all(isinstance(v, dict) for v in value)):
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in document.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in value.items())
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                lines.append(f"[[{key}]]")
                lines.extend(f"{k} = {_toml_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


def write_settings(tmp_path, change) -> str:
    document = copy.deepcopy(EXAMPLE)
    change(document)
    path = tmp_path / "clinic.toml"
    path.write_text(dump_toml(document), encoding="utf-8")
    return str(path)


def test_example_settings_load_and_round_trip(tmp_path):
    settings = example_settings()
    assert settings.name and settings.timezone == "America/New_York"
    assert [c.name for c in settings.chairs] == [f"Chair {n}" for n in range(1, 7)]
    assert set(settings.treatments) == {"iv-ketamine", "esketamine-56", "esketamine-84"}
    assert settings.protocol("spravato-trd").total_sessions == 16
    # The test writer produces an equivalent file.
    assert load_settings_file(write_settings(tmp_path, lambda d: None)).treatments == settings.treatments


def _set(path: tuple, value):
    def change(document):
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


def _delete(path: tuple):
    def change(document):
        target = document
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    return change


CASES = [
    # (id, change, key named in the message, words in the message)
    ("unknown-top-level", _set(("colour",), "blue"), "colour", "unknown setting"),
    ("missing-section", _delete(("clinic",)), "clinic", "missing section"),
    ("section-not-table", _set(("hours",), "mon"), "hours", "must be a table"),
    ("missing-name", _delete(("clinic", "name")), "clinic.name", "missing"),
    ("empty-name", _set(("clinic", "name"), "  "), "clinic.name", "must not be empty"),
    ("name-not-text", _set(("clinic", "name"), 12), "clinic.name", "must be text"),
    ("name-too-long", _set(("clinic", "name"), "x" * 201), "clinic.name", "longer than"),
    ("name-control-chars", _set(("clinic", "name"), "Clinic\u001b[31m"), "clinic.name", "control characters"),
    ("unknown-key-in-section", _set(("clinic", "nmae"), "x"), "clinic.nmae", "unknown setting"),
    ("unknown-timezone", _set(("clinic", "timezone"), "Mars/Olympus"), "clinic.timezone", "unknown time zone"),
    ("hours-not-text", _set(("hours", "mon"), 8), "hours.mon", "HH:MM-HH:MM"),
    ("hours-bad-format", _set(("hours", "mon"), "8-18"), "hours.mon", "HH:MM-HH:MM"),
    ("hours-closes-before-opens", _set(("hours", "mon"), "18:00-08:00"), "hours.mon", "before it opens"),
    ("hours-unknown-day", _set(("hours", "monday"), "08:00-18:00"), "hours.monday", "unknown setting"),
    ("no-open-day", _set(("hours",), {}), "hours", "at least one weekday"),
    ("unknown-country", _set(("closures", "country"), "ZZ"), "closures.country", "no public holidays"),
    ("unknown-subdivision", _set(("closures", "subdivision"), "QQ"), "closures.subdivision", "not known"),
    ("subdivision-without-country", lambda d: d["closures"].update(country="", subdivision="NY"),
     "closures.subdivision", "needs closures.country"),
    ("dates-not-list", _set(("closures", "dates"), "2026-12-24"), "closures.dates", "list"),
    ("date-bad-format", _set(("closures", "dates"), ["24/12/2026"]), "closures.dates[0]", "YYYY-MM-DD"),
    ("date-not-date", _set(("closures", "dates"), [20261224]), "closures.dates[0]", "must be a date"),
    ("open-date-also-closed", _set(("closures", "open_dates"), ["2026-12-24"]), "closures.open_dates",
     "also listed as closed"),
    ("rule-not-number", _set(("rules", "late_cancel_hours"), "24"), "rules.late_cancel_hours", "whole number"),
    ("rule-bool", _set(("rules", "late_grace_minutes"), True), "rules.late_grace_minutes", "whole number"),
    ("rule-out-of-range", _set(("rules", "rems_form_days"), 0), "rules.rems_form_days", "between"),
    ("slot-not-dividing-hour", _set(("rules", "slot_minutes"), 25), "rules.slot_minutes", "divide an hour"),
    ("bp-bad-format", _set(("rules", "bp_flag"), "140-90"), "rules.bp_flag", "140/90"),
    ("bp-implausible", _set(("rules", "bp_hold"), "90/140"), "rules.bp_hold", "plausible"),
    ("unknown-rule", _set(("rules", "max_chairs"), 3), "rules.max_chairs", "unknown setting"),
    ("no-chairs", _set(("chairs",), []), "chairs", "at least one"),
    ("chair-not-table", _set(("chairs",), ["Chair 1"]), "chairs[0]", "must be a table"),
    ("chair-bad-route", lambda d: d["chairs"][0].update(routes=["oral"]), "chairs[0].routes", "non-empty list"),
    ("chair-twice", lambda d: d["chairs"][1].update(name="chair 1"), "chairs[1].name", "listed twice"),
    ("no-treatments", _set(("treatments",), []), "treatments", "at least one"),
    ("treatment-twice", lambda d: d["treatments"][1].update(code="iv-ketamine"), "treatments[1].code",
     "listed twice"),
    ("treatment-bad-route", lambda d: d["treatments"][0].update(route="oral"), "treatments[0].route",
     "must be one of"),
    ("treatment-route-without-chair", lambda d: [c.update(routes=["nasal"]) for c in d["chairs"]],
     "treatments[0].route", "no chair can host"),
    ("treatment-monitoring-from", lambda d: d["treatments"][0].update(monitoring_from="arrival"),
     "treatments[0].monitoring_from", "dosing_start"),
    ("treatment-minutes-missing", lambda d: d["treatments"][0].pop("dosing_minutes"),
     "treatments[0].dosing_minutes", "missing"),
    ("treatment-minutes-range", lambda d: d["treatments"][0].update(dosing_minutes=0),
     "treatments[0].dosing_minutes", "between"),
    ("gate-not-table", lambda d: d["treatments"][0].update(gate="all"), "treatments[0].gate", "must be a table"),
    ("gate-unknown-item", lambda d: d["treatments"][0]["gate"].update(shoes="required"),
     "treatments[0].gate.shoes", "unknown setting"),
    ("gate-bad-level", lambda d: d["treatments"][0]["gate"].update(escort="yes"),
     "treatments[0].gate.escort", "must be one of"),
    ("protocols-not-list", _set(("protocols",), "iv"), "protocols", "must be a list"),
    ("protocol-twice", lambda d: d["protocols"][1].update(code="iv-induction"), "protocols[1].code",
     "listed twice"),
    ("protocol-unknown-treatment", lambda d: d["protocols"][0].update(treatment="oral-ketamine"),
     "protocols[0].treatment", "unknown treatment"),
    ("protocol-no-phases", lambda d: d["protocols"][0].update(phases=[]), "protocols[0].phases",
     "at least one phase"),
    ("phase-bad-weekdays", lambda d: d["protocols"][0]["phases"][0].update(weekdays=["funday"]),
     "protocols[0].phases[0].weekdays", "non-empty list"),
    ("phase-closed-weekdays", lambda d: d["protocols"][0]["phases"][0].update(weekdays=["sat", "sun"]),
     "protocols[0].phases[0].weekdays", "closed on all"),
    ("phase-sessions-range", lambda d: d["protocols"][0]["phases"][0].update(sessions=0),
     "protocols[0].phases[0].sessions", "between"),
    ("phase-unknown-key", lambda d: d["protocols"][0]["phases"][0].update(count=3),
     "protocols[0].phases[0].count", "unknown setting"),
]


@pytest.mark.parametrize("change,key,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_error_names_file_and_key(tmp_path, change, key, words):
    path = write_settings(tmp_path, change)
    with pytest.raises(SettingsError) as caught:
        load_settings_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert words in message
    assert "\n" not in message and caught.value.exit_code == 2


@pytest.mark.parametrize("content,words", [
    (None, "no such settings file"),
    (b"\xff\xfe not utf-8", "not UTF-8"),
    (b"[clinic\nname = 1", "not valid TOML"),
], ids=["missing-file", "not-utf8", "bad-toml"])
def test_unreadable_files_name_the_file(tmp_path, content, words):
    path = tmp_path / "clinic.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SettingsError) as caught:
        load_settings_file(path)
    assert str(caught.value).startswith(str(path)) and words in str(caught.value)


def test_a_folder_is_not_a_settings_file(tmp_path):
    with pytest.raises(SettingsError, match="is a folder"):
        load_settings_file(tmp_path)


def test_open_dates_open_a_holiday_and_a_weekend():
    import datetime as dt

    from keta_tui.clinic.settings import settings_from_dict

    document = copy.deepcopy(example_settings().document)
    document["closures"]["open_dates"] = ["2026-11-26", "2026-11-28"]
    settings = settings_from_dict(document)
    assert example_settings().closure_reason(dt.date(2026, 11, 26)) == "Thanksgiving Day"
    assert settings.opening(dt.date(2026, 11, 26)) == (dt.time(8), dt.time(18))
    assert settings.opening(dt.date(2026, 11, 28)) == (dt.time(8), dt.time(18))  # a Saturday
    assert settings.closure_reason(dt.date(2026, 12, 24)) == "clinic closure"
