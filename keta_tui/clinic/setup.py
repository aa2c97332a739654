"""Clinic settings in the database: loading a validated file into it, reading it back.

The settings document is stored whole (setting ``clinic``); chairs, treatments and
protocols are also rows so sessions can refer to them. Reloading updates rows in
place by name/code and retires the ones no longer listed (history keeps them).
"""
from __future__ import annotations

import json

from keta_tui.db.models import Chair, Protocol, Treatment

from .errors import BadInput
from .settings import ClinicSettings, settings_from_json, settings_to_json
from .store import audit, get_setting, put_setting, writing

SETTINGS_KEY = "clinic"
DEMO_KEY = "demo"

_cache: dict[str, ClinicSettings] = {}


class NoSettings(BadInput):
    pass


def apply_settings(settings: ClinicSettings, actor: str) -> None:
    """Store the settings and sync chairs, treatments and protocols, all or nothing."""
    with writing():
        before = get_setting(SETTINGS_KEY)
        for position, spec in enumerate(settings.chairs):
            chair = Chair.get_or_none(Chair.name == spec.name)
            if chair is None:
                Chair.create(name=spec.name, routes=",".join(spec.routes), position=position, updated_by=actor)
            else:
                Chair.update(routes=",".join(spec.routes), position=position, retired=False,
                             version=Chair.version + 1, updated_by=actor).where(Chair.id == chair.id).execute()
        names = [c.name for c in settings.chairs]
        Chair.update(retired=True).where(Chair.name.not_in(names)).execute()

        for spec in settings.treatments.values():
            values = dict(name=spec.name, route=spec.route, dosing_minutes=spec.dosing_minutes,
                          monitoring_minutes=spec.monitoring_minutes, turnover_minutes=spec.turnover_minutes,
                          gate_json=json.dumps(dict(spec.gate), sort_keys=True), retired=False)
            if not Treatment.update(**values).where(Treatment.code == spec.code).execute():
                Treatment.create(code=spec.code, **values)
        Treatment.update(retired=True).where(Treatment.code.not_in(list(settings.treatments))).execute()

        treatment_ids = dict(Treatment.select(Treatment.code, Treatment.id).tuples())
        for spec in settings.protocols.values():
            phases = [dict(name=p.name, sessions=p.sessions, weekdays=list(p.weekdays), every_weeks=p.every_weeks)
                      for p in spec.phases]
            values = dict(name=spec.name, treatment=treatment_ids[spec.treatment],
                          phases_json=json.dumps(phases), retired=False)
            if not Protocol.update(**values).where(Protocol.code == spec.code).execute():
                Protocol.create(code=spec.code, **values)
        Protocol.update(retired=True).where(Protocol.code.not_in(list(settings.protocols) or [""])).execute()

        text = settings_to_json(settings)
        put_setting(SETTINGS_KEY, text)
        audit(actor, "settings.load", "settings", None,
              before={"clinic": json.loads(before)["clinic"]} if before else {},
              after={"clinic": settings.document.get("clinic")})
    _cache.clear()


def load_settings() -> ClinicSettings:
    """The clinic's settings from the database (cached while unchanged)."""
    text = get_setting(SETTINGS_KEY)
    if text is None:
        raise NoSettings("this database has no clinic settings yet; run 'keta init --config FILE'")
    cached = _cache.get(text)
    if cached is None:
        _cache.clear()
        cached = _cache[text] = settings_from_json(text)
    return cached


def has_settings() -> bool:
    return get_setting(SETTINGS_KEY) is not None


def is_demo_database() -> bool:
    return get_setting(DEMO_KEY) == "true"


def mark_demo() -> None:
    """Call inside writing(): flags the database as synthetic demo data."""
    put_setting(DEMO_KEY, "true")
