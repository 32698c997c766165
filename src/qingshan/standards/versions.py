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
        """Whether the version is in force on a day (effective dates inclusive).

        Parameters
        ----------
        day : date
            The day (China Standard Time).

        Returns
        -------
        bool
        """
        ended = self.effective_to is not None and day > self.effective_to
        return self.effective_from <= day and not ended


@cache
def all_versions() -> dict[str, RuleVersion]:
    """Every rule-set version Qingshan implements, from ``data/versions.toml``.

    Returns
    -------
    dict of str to RuleVersion
        Version id (``HJ633-2026``, ``GB3838-2002`` …) → its family, title and effective dates.
    """
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
    """The versions of one family, oldest first.

    Parameters
    ----------
    family : str
        Rule family: ``HJ633``, ``HJ663``, ``GB3095``, ``GB3838``, ``GBT14848``, ``GB3096``.

    Returns
    -------
    list of RuleVersion
        Sorted by ``effective_from``; empty for an unknown family.
    """
    return sorted(
        (v for v in all_versions().values() if v.family == family), key=lambda v: v.effective_from
    )


def resolve(family: str, version: str, when: date | datetime | None = None) -> RuleVersion:
    """The rule version named ``version`` of ``family``, or with ``auto`` the one in force on
    ``when``.

    Parameters
    ----------
    family : str
        Rule family (``HJ633``, ``HJ663``, ``GB3095``, ``GB3838``, ``GBT14848``, ``GB3096``).
    version : str
        A version id of that family, or ``"auto"``.
    when : date or datetime, optional
        The data's date (a datetime is taken at its calendar date, China Standard Time); needed
        with ``auto``.

    Returns
    -------
    RuleVersion
        The version (its effective dates are inclusive).

    Raises
    ------
    UnknownVersionError
        For an id of another family or none, ``auto`` without a date, or no version in force on
        that date; the message lists the known ids.
    """
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
