"""Data formats of HJ 212's numeric fields (``N14.6``…) and the check of a value against them.

``Nx.y`` (HJ 212-2017 §6.6 数据区字段表): a decimal number with at most ``x`` digits before the
point and at most ``y`` after it, an optional sign, no exponent, no ``NaN``/``inf``. The table
per edition is ``data/field_formats.csv`` (sources and what is unverified are cited there).

The check bounds every value the platform stores: a 400-digit number or ``1e400`` would become
infinity in any float arithmetic downstream (figures, charts, JSON), so it is refused at the
protocol boundary with :attr:`Reason.VALUE_OUT_OF_FORMAT` or :attr:`Reason.BAD_VALUE`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from qingshan.protocol.hj212._model import Edition, ProtocolError
from qingshan.protocol.hj212.codes import _rows
from qingshan.protocol.hj212.reasons import Reason

__all__ = ["FieldFormat", "check_value", "field_formats", "value_pattern"]

_FORMAT = re.compile(r"N([0-9]{1,2})(?:\.([0-9]))?")
#: A plain decimal number, ASCII digits only (``\d`` would admit "２" or "١").
DECIMAL = re.compile(r"[-+]?([0-9]+)(?:\.([0-9]+))?")


@dataclass(frozen=True, slots=True)
class FieldFormat:
    """``Nx.y``: at most ``digits`` before the point and ``decimals`` after it."""

    digits: int
    decimals: int

    @property
    def text(self) -> str:
        return f"N{self.digits}.{self.decimals}" if self.decimals else f"N{self.digits}"

    @property
    def pattern(self) -> str:
        """A regular expression (no groups) matching exactly the values in this format."""
        frac = rf"(?:\.[0-9]{{1,{self.decimals}}})?" if self.decimals else ""
        return rf"[-+]?[0-9]{{1,{self.digits}}}{frac}"


@cache
def field_formats(edition: Edition) -> Mapping[str, FieldFormat]:
    """Field suffix (``Rtd``, ``Avg``, ``RS``…) → its data format in ``edition``."""
    out: dict[str, FieldFormat] = {}
    for row in _rows("field_formats.csv"):
        if edition.value not in row["editions"].split():
            continue
        m = _FORMAT.fullmatch(row["format"])
        if m is None:  # a broken data file is a bug, found by the tests
            raise ValueError(f"field_formats.csv: bad format {row['format']!r}")
        out[row["suffix"]] = FieldFormat(int(m.group(1)), int(m.group(2) or 0))
    return out


def value_pattern(edition: Edition, suffix: str) -> str:
    """The regular expression of ``suffix``'s values in ``edition`` (see :class:`FieldFormat`)."""
    return field_formats(edition)[suffix].pattern


def check_value(edition: Edition, key: str, suffix: str, text: str) -> None:
    """Raise :class:`ProtocolError` unless ``text`` is a value of ``suffix``'s data format.

    ``key`` names the field in the message (``a21026-Rtd``). Not a decimal number (``NaN``,
    ``inf``, ``1e5``, ``1.2.3``): :attr:`Reason.BAD_VALUE`; more digits or decimals than the
    format allows: :attr:`Reason.VALUE_OUT_OF_FORMAT`. A suffix without a format is not checked.
    """
    fmt = field_formats(edition).get(suffix)
    if fmt is None:
        return
    m = DECIMAL.fullmatch(text)
    if m is None:
        raise ProtocolError(Reason.BAD_VALUE, f"{key}={text[:40]!r} is not a decimal number")
    whole, frac = m.group(1), m.group(2) or ""
    if len(whole) > fmt.digits or len(frac) > fmt.decimals:
        raise ProtocolError(
            Reason.VALUE_OUT_OF_FORMAT,
            f"{key}={text[:40]!r}{'…' if len(text) > 40 else ''} has {len(whole)} digits and "
            f"{len(frac)} decimals; HJ 212-{edition.value} allows {fmt.text}",
        )
