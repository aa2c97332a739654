"""Property tests (hypothesis): the settings loader, date/time parsing and every CLI
command's arguments give a correct result or a clear error, never a traceback."""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import tomllib
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, event, given, settings, strategies as st

from keta_tui.cli.main import build_parser, main
from keta_tui.clinic.clock import day_bounds_utc, parse_clock_time, parse_date, parse_local_datetime, to_local, to_utc
from keta_tui.clinic.errors import BadInput
from keta_tui.clinic.settings import (
    EXAMPLE_PATH,
    ClinicSettings,
    SettingsError,
    load_settings_file,
    settings_from_dict,
    settings_from_json,
    settings_to_json,
)
from keta_tui.db.connection import close_database

from .invariants import record_results

EXAMPLE_TEXT = EXAMPLE_PATH.read_text(encoding="utf-8")
EXAMPLE_DOC = tomllib.loads(EXAMPLE_TEXT)
ZONES = ("America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kolkata")

# Values a TOML document can hold.
toml_scalars = (st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=40)
                | st.dates() | st.times() | st.sampled_from(["mon", "08:00", "18:00", "iv", "nasal", "required",
                                                              "America/New_York", "", "25:99", "US"]))
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def _slots(node, path=()):
    """Every (container, key) in a document, to pick one to change."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield node, key
        yield from _slots(value, path + (key,))


@st.composite
def mutated_documents(draw):
    """The example clinic with a few values replaced, removed or added anywhere in it."""
    document = copy.deepcopy(EXAMPLE_DOC)
    for _ in range(draw(st.integers(1, 4))):
        slots = list(_slots(document))
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            container[key] = draw(toml_values)
        elif action == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[draw(st.text(max_size=12))] = draw(toml_values)
        else:
            container.append(draw(toml_values))
    return document


def _loads_or_refuses(load) -> ClinicSettings | None:
    try:
        loaded = load()
    except SettingsError as exc:
        # Names the file, then the key and the problem (the CLI shows it on one line).
        assert ": " in str(exc) and str(exc).rsplit(": ", 1)[1].strip(), str(exc)
        return None
    assert isinstance(loaded, ClinicSettings)
    # What validates survives being stored and read back unchanged.
    assert settings_from_json(settings_to_json(loaded)) == loaded
    return loaded


@settings(max_examples=300, deadline=None)
@given(mutated_documents())
def test_settings_loader_accepts_or_names_the_problem(document):
    _loads_or_refuses(lambda: settings_from_dict(document, source="clinic.toml"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_settings_file_text_edits(tmp_path, data):
    lines = EXAMPLE_TEXT.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(lines) - 1))
        edit = data.draw(st.sampled_from(["drop", "double", "garble", "random"]))
        if edit == "drop":
            del lines[index]
        elif edit == "double":
            lines.insert(index, lines[index])
        elif edit == "garble":
            cut = data.draw(st.integers(0, len(lines[index])))
            lines[index] = lines[index][:cut] + data.draw(st.text(max_size=8)) + lines[index][cut:]
        else:
            lines[index] = data.draw(st.text(max_size=60))
    path = tmp_path / "clinic.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    _loads_or_refuses(lambda: load_settings_file(path))


def test_the_example_itself_loads():
    assert _loads_or_refuses(lambda: load_settings_file(EXAMPLE_PATH)) is not None


# --- date and time parsing ---------------------------------------------------------

clinic_days = st.dates(dt.date(1990, 1, 1), dt.date(2090, 12, 31))
date_texts = (st.text(max_size=20)
              | st.from_regex(r"\A[+-]?\d{1,6}d?\Z")
              | st.sampled_from(["today", "Tomorrow", " yesterday ", "t", "", "2026-02-30", "2026-13-01"])
              | st.dates().map(dt.date.isoformat))
time_texts = st.text(max_size=10) | st.from_regex(r"\A\d{1,3}:\d{1,3}\Z")


@settings(max_examples=400, deadline=None)
@given(date_texts, clinic_days)
def test_parse_date(text, today):
    try:
        parsed = parse_date(text, today)
    except BadInput as exc:
        assert "not a date" in str(exc)
    else:
        assert isinstance(parsed, dt.date)


@settings(max_examples=300, deadline=None)
@given(time_texts)
def test_parse_clock_time(text):
    try:
        parsed = parse_clock_time(text)
    except BadInput as exc:
        assert "not a time" in str(exc)
    else:
        hours, minutes = text.strip().split(":")
        assert parsed == dt.time(int(hours), int(minutes))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), st.tuples(date_texts, time_texts).map(" ".join)), clinic_days)
def test_parse_local_datetime(text, today):
    try:
        parsed = parse_local_datetime(text, today)
    except BadInput:
        return
    assert parsed.tzinfo is None and parsed.second == 0


@settings(max_examples=400, deadline=None)
@given(st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2040, 12, 31)), st.sampled_from(ZONES))
def test_wall_clock_round_trip(local, zone):
    tz = ZoneInfo(zone)
    local = local.replace(second=0, microsecond=0)
    stored = to_utc(local, tz)
    assert stored.tzinfo is None
    shown = to_local(stored, tz).replace(tzinfo=None)
    if shown != local:
        # Only a wall time skipped by a DST jump may move, and only forward past the gap.
        assert dt.timedelta(0) < shown - local <= dt.timedelta(hours=1)
        assert local.replace(tzinfo=tz).astimezone(dt.timezone.utc).astimezone(tz).replace(tzinfo=None) != local


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)), st.sampled_from(ZONES))
def test_day_bounds_cover_the_whole_day(day, zone):
    start, end = day_bounds_utc(day, ZoneInfo(zone))
    assert dt.timedelta(hours=22) <= end - start <= dt.timedelta(hours=26)
    assert day_bounds_utc(day + dt.timedelta(days=1), ZoneInfo(zone))[0] == end


# --- every CLI command's arguments --------------------------------------------------

def _commands(parser: argparse.ArgumentParser, path=()):
    """(command words, parser) for every leaf command of the CLI."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield path, parser
        return
    for name, child in subparsers[0].choices.items():
        yield from _commands(child, path + (name,))


# "demo" writes a whole clinic (seconds each): its own tests cover it.
COMMANDS = [(words, sub) for words, sub in _commands(build_parser()) if words and words[0] != "demo"]
plausible = st.sampled_from(["1", "2", "3", "0", "-1", "99999", "today", "+1", "2026-11-18", "2026-11-18 10:00",
                             "10:00", "iv-ketamine", "esketamine-56", "iv-induction", "spravato-trd", "Chair 1",
                             "mon,wed", "K000001", "Avery", "128/82", "x.db", "", "--", "-", "[bold]x[/]"])
arg_values = plausible | st.text(max_size=20) | st.integers(-5, 10**12).map(str)


# Values that mean something in the fixture clinic, so commands get past parsing to the rules.
MEANINGFUL = {
    "patient": ["1", "2", "3", "5", "K000002", "Avery", "quill", "Nobody"],
    "ref": ["1", "2", "3", "K000002", "Avery", "Blake Rowan", "999"],
    "session_id": [str(n) for n in range(1, 16)],
    "course_id": ["1", "2", "3"],
    "treatment": ["iv-ketamine", "esketamine-56", "esketamine-84", "nope"],
    "protocol": ["iv-induction", "iv-booster", "spravato-trd"],
    "at": ["2026-11-18 10:00", "2026-11-17 11:00", "2026-11-17 09:00", "today 12:00", "+1 08:00", "2026-11-21 10:00",
           "10:00", "13:15"],
    "start": ["2026-11-18", "+1", "2026-11-23", "today", "2026-11-26"],
    "date": ["today", "tomorrow", "2026-11-18", "-1"],
    "chair": [f"Chair {n}" for n in range(1, 8)],
    "state": ["seated", "dosing", "monitoring", "ready_to_leave", "discharged", "arrived", "no_show", "bogus"],
    "status": ["induction", "maintenance", "paused", "completed", "discontinued", "bogus"],
    "version": ["1", "2", "3", "7"],
    "reason": ["patient unwell", "", "[bold]x[/]"],
    "bp": ["120/80", "150/95", "999/1", "12080"],
    "phq9": ["0", "12", "27", "28"],
    "days": ["mon,wed", "3", "fri", "xyz"],
}


@st.composite
def command_lines(draw):
    words, parser = draw(st.sampled_from(COMMANDS))
    tokens = list(words)

    def value_for(action):
        pool = MEANINGFUL.get(action.dest)
        return draw(st.sampled_from(pool) if pool and draw(st.booleans()) | draw(st.booleans()) else arg_values)

    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    chosen = [a for a in options if a.required and draw(st.integers(0, 9))]
    chosen += draw(st.lists(st.sampled_from(options), max_size=4)) if options else []
    for action in chosen:
        tokens.append(draw(st.sampled_from(action.option_strings)))
        if action.nargs != 0:
            tokens.append(value_for(action))
    for action in (a for a in parser._actions if not a.option_strings):
        if draw(st.integers(0, 9)):
            tokens.append(value_for(action))
    tokens += draw(st.lists(arg_values, max_size=1))
    return tokens


@pytest.fixture
def argv_clinic(clinic_db, tmp_path, monkeypatch):
    from ..ui.conftest import build_clinic

    build_clinic(clinic_db)
    close_database()
    monkeypatch.chdir(tmp_path)  # FILE arguments (backup, restore, init --config) land here
    monkeypatch.setenv("KETA_NOW", "2026-11-17T15:00:00Z")
    monkeypatch.setenv("KETA_BUSY_TIMEOUT", "2")
    return clinic_db


TRIED: list[int] = []


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_every_command_gives_a_result_or_one_clear_line(argv_clinic, capsys, argv):
    assume("restore" not in argv[:1])  # would replace the shared database between examples
    try:
        code = main(["--db", argv_clinic.target, *argv])
    except SystemExit as exc:  # only --help / --version exit through argparse
        code = exc.code
        assert code == 0
    finally:
        close_database()
    out, err = capsys.readouterr()
    TRIED.append(1)
    event(f"exit {code}")
    assert code in (0, 2, 3, 4), (argv, code, err)
    assert "Traceback" not in err + out
    if code:
        assert err.count("\n") == 1 and err.startswith("keta"), (argv, err)
    assert "\x1b" not in out, argv


def test_record_inputs_tried():
    record_results("properties", {"cli_command_lines": len(TRIED), "commands_covered": len(COMMANDS)})
