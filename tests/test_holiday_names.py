"""Holiday names kept on disk per year answer exactly as the holidays package does."""
import datetime as dt

import holidays
import pytest

from keta_tui.clinic import holiday_names


@pytest.fixture(autouse=True)
def _fresh_memory():
    holiday_names.year_holidays.cache_clear()
    yield
    holiday_names.year_holidays.cache_clear()


def test_names_match_the_package_across_a_year_and_are_kept_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    package = holidays.country_holidays("US", subdiv="NY")
    day = dt.date(2027, 1, 1)
    while day.year == 2027:
        expected = package.get(day)
        assert holiday_names.holiday_name("US", "NY", day) == (str(expected) if expected else None)
        day += dt.timedelta(days=1)
    kept = list((tmp_path / "keta" / "holidays").glob("*-US-NY-2027.json"))
    assert len(kept) == 1


def test_a_damaged_cache_file_is_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert holiday_names.holiday_name("US", "", dt.date(2026, 11, 26)) == "Thanksgiving Day"
    kept = next((tmp_path / "keta" / "holidays").glob("*-US--2026.json"))
    kept.write_text("{not json")
    holiday_names.year_holidays.cache_clear()
    assert holiday_names.holiday_name("US", "", dt.date(2026, 11, 26)) == "Thanksgiving Day"
    assert "Thanksgiving" in kept.read_text()


def test_unknown_country_raises_like_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(NotImplementedError):
        holiday_names.check_known("XX")
