"""Rule-set versions and their effective dates.

Every rule in :mod:`qingshan.standards` is selected by a version id such as ``HJ633-2012``
or by ``auto``, which picks the version of a family in force on the data's date. Versions
and dates live in ``data/versions.toml``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources

AUTO = "auto"


class UnknownVersionError(ValueError):
    """A version id that Qingshan does not implement, or no version in force on a date."""


@dataclass(frozen=True, slots=True)
class RuleVersion:
    id: str
    family: str
    title: str
    effective_from: date
    effective_to: date | None  # inclusive; None = still in force

    def in_force(self, day: date) -> bool:
        ended = self.effective_to is not None and day > self.effective_to
        return self.effective_from <= day and not ended


@cache
def all_versions() -> dict[str, RuleVersion]:
    raw = resources.files("qingshan.standards").joinpath("data/versions.toml").read_bytes()
    out: dict[str, RuleVersion] = {}
    for item in tomllib.loads(raw.decode("utf-8"))["version"]:
        out[item["id"]] = RuleVersion(
            id=item["id"],
            family=item["family"],
            title=item["title"],
            effective_from=item["effective_from"],
            effective_to=item.get("effective_to"),
        )
    return out


def versions_of(family: str) -> list[RuleVersion]:
    return sorted(
        (v for v in all_versions().values() if v.family == family), key=lambda v: v.effective_from
    )


def resolve(family: str, version: str, when: date | datetime | None = None) -> RuleVersion:
    """Return the rule version named ``version`` of ``family``, or with ``auto`` the one in
    force on ``when`` (a datetime is taken at its calendar date)."""
    if version != AUTO:
        found = all_versions().get(version)
        if found is None or found.family != family:
            known = ", ".join(v.id for v in versions_of(family)) or "none"
            raise UnknownVersionError(f"unknown {family} version {version!r}; known: {known}")
        return found
    if when is None:
        raise UnknownVersionError(f"{family}: 'auto' needs the data's date")
    day = when.date() if isinstance(when, datetime) else when
    for v in versions_of(family):
        if v.in_force(day):
            return v
    raise UnknownVersionError(f"no {family} version in force on {day.isoformat()}")
