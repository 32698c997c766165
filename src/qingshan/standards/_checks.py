"""Input checks shared by the non-air rule modules (water, groundwater, noise, emissions).

Private: the public error type is :class:`InvalidValueError`, re-exported by each module.
Measured values are read exactly (:func:`exact_number`: a float stands for its shortest
decimal text, see :mod:`qingshan.standards.rounding`); arithmetic on them is done on the exact
:class:`~fractions.Fraction`, never on floats (docs/standards/arithmetic.md).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

from qingshan.standards.rounding import NumberError, to_decimal, to_fraction
from qingshan.standards.rounding import round_half_even as _round_decimal

Number = int | float | Decimal | Fraction
_INF = float("inf")
"""A measured value as the rule modules accept it (never text, never a bool)."""


class InvalidValueError(ValueError):
    """A measured value that cannot be evaluated: not a number, negative, out of range."""


class UnknownItemError(KeyError):
    """An item (pollutant, indicator, zone, industry) that the rule set does not define."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown item"


def exact_number(value: object, what: str) -> Fraction:
    """The exact value of ``value`` or :class:`InvalidValueError`.

    Booleans and strings are refused on purpose: a silent ``True → 1`` or ``"" → 0`` would turn
    bad input into a plausible concentration. NaN and infinities are refused.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Fraction):
        raise InvalidValueError(f"{what}: not a number: {value!r}")
    try:
        return to_fraction(value)
    except NumberError:
        raise InvalidValueError(f"{what}: not a finite number: {value!r}") from None


def exact_value(value: object, what: str) -> Decimal | Fraction:
    """Like :func:`exact_number`, but decimal values stay :class:`Decimal` (cheaper to compare
    with the data files' decimal limits); only fractions (e.g. exact means) stay fractions."""
    kind = type(value)
    if kind is float:  # the common case first (plain type checks are cheap)
        if value != value or value in (_INF, -_INF):
            raise InvalidValueError(f"{what}: not a finite number: {value!r}")
        return Decimal(repr(value))
    if kind is Decimal or kind is int:
        if kind is Decimal and not value.is_finite():  # type: ignore[attr-defined]
            raise InvalidValueError(f"{what}: not a finite number: {value!r}")
        return Decimal(value)  # type: ignore[arg-type]
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidValueError(f"{what}: not a number: {value!r}")
    try:
        return to_decimal(value)
    except NumberError:
        raise InvalidValueError(f"{what}: not a finite number: {value!r}") from None


def non_negative_value(value: object, what: str) -> Decimal | Fraction:
    number = exact_value(value, what)
    if number < 0:
        raise InvalidValueError(f"{what}: negative value {value!r} is impossible")
    return number


def non_negative(value: object, what: str) -> Fraction:
    number = exact_number(value, what)
    if number < 0:
        raise InvalidValueError(f"{what}: negative value {value!r} is impossible")
    return number


def as_number(value: object, what: str) -> float:
    """:func:`exact_number` carried as a float (for values that are only compared or shown)."""
    return float(exact_number(value, what))


def parse_cell(text: str, what: str) -> Decimal | None:
    """Parse one CSV cell: empty → ``None`` (missing); otherwise its exact decimal value, or an
    error for text that is not a finite number."""
    stripped = text.strip()
    if stripped == "":
        return None
    try:
        number = Decimal(stripped)
    except InvalidOperation:
        raise InvalidValueError(f"{what}: not a number: {text!r}") from None
    if not number.is_finite():
        raise InvalidValueError(f"{what}: not a finite number: {text!r}")
    return number


def limit_value(raw: object) -> Decimal:
    """A limit read from a data file (TOML number) as the decimal written there."""
    if isinstance(raw, float) and raw == float("inf"):
        return Decimal("Infinity")  # "no upper limit" (e.g. radioactivity Ⅳ)
    return to_decimal(raw)  # type: ignore[arg-type]


def round_half_even(value: float, decimals: int) -> float:
    """GB/T 8170 half-even rounding for callers that carry floats; the rule itself lives in
    :func:`qingshan.standards.rounding.round_half_even` (one place per rule)."""
    return float(_round_decimal(value, decimals))


@cache
def load_toml(name: str) -> dict[str, Any]:
    raw = resources.files("qingshan.standards").joinpath(f"data/{name}").read_bytes()
    return tomllib.loads(raw.decode("utf-8"))
