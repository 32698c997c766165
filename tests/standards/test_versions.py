import itertools
from datetime import date, datetime

import pytest

from qingshan.standards.versions import UnknownVersionError, resolve, versions_of


@pytest.mark.parametrize(
    ("family", "day", "expected"),
    [
        ("HJ633", date(2026, 2, 28), "HJ633-2012"),
        ("HJ633", date(2026, 3, 1), "HJ633-2026"),
        ("HJ663", date(2025, 12, 31), "HJ663-2013"),
        ("GB3095", date(2031, 1, 1), "GB3095-2026"),
        ("HJ212", date(2025, 12, 31), "HJ212-2017"),
        ("HJ212", date(2026, 1, 1), "HJ212-2025"),
    ],
)
def test_auto_picks_version_in_force(family: str, day: date, expected: str) -> None:
    assert resolve(family, "auto", day).id == expected


def test_datetime_is_taken_at_its_date() -> None:
    assert resolve("HJ633", "auto", datetime(2026, 2, 28, 23, 0)).id == "HJ633-2012"


def test_explicit_and_unknown_versions() -> None:
    assert resolve("HJ633", "HJ633-2012", date(2030, 1, 1)).id == "HJ633-2012"
    with pytest.raises(UnknownVersionError, match="known: HJ633-2012, HJ633-2026"):
        resolve("HJ633", "HJ633-2099")
    with pytest.raises(UnknownVersionError):
        resolve("HJ633", "GB3838-2002")
    with pytest.raises(UnknownVersionError, match="needs the data's date"):
        resolve("HJ633", "auto")


def test_families_do_not_overlap() -> None:
    for fam in ("GB3095", "HJ633", "HJ663", "HJ212"):
        vs = versions_of(fam)
        for a, b in itertools.pairwise(vs):
            assert a.effective_to is not None and a.effective_to < b.effective_from
