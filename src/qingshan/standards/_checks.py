"""Input checks shared by the non-air rule modules (water, groundwater, noise, emissions).

Private: the public error type is :class:`InvalidValueError`, re-exported by each module.
Also holds a small GB/T 8170 round-half-even helper used by the water rules until the shared
``qingshan.standards.rounding`` module lands (the lead will unify the two).
"""

from __future__ import annotations

import math
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from qingshan.standards.rounding import round_half_even as _round_decimal


class InvalidValueError(ValueError):
    """A measured value that cannot be evaluated: not a number, negative, out of range."""


class UnknownItemError(KeyError):
    """An item (pollutant, indicator, zone, industry) that the rule set does not define."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown item"


def as_number(value: object, what: str) -> float:
    """Return ``value`` as a finite float or raise :class:`InvalidValueError`.

    Booleans and strings are refused on purpose: a silent ``True → 1`` or ``"" → 0`` would turn
    bad input into a plausible concentration.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValueError(f"{what}: not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidValueError(f"{what}: not a finite number: {value!r}")
    return number


def non_negative(value: object, what: str) -> float:
    number = as_number(value, what)
    if number < 0:
        raise InvalidValueError(f"{what}: negative value {number!r} is impossible")
    return number


def parse_cell(text: str, what: str) -> float | None:
    """Parse one CSV cell: empty → ``None`` (missing); otherwise a finite number or an error."""
    stripped = text.strip()
    if stripped == "":
        return None
    try:
        number = float(stripped)
    except ValueError:
        raise InvalidValueError(f"{what}: not a number: {text!r}") from None
    if not math.isfinite(number):
        raise InvalidValueError(f"{what}: not a finite number: {text!r}")
    return number


def round_half_even(value: float, decimals: int) -> float:
    """GB/T 8170 half-even rounding for float pipelines; the rule itself lives in
    :func:`qingshan.standards.rounding.round_half_even` (one place per rule)."""
    return float(_round_decimal(value, decimals))


@cache
def load_toml(name: str) -> dict[str, Any]:
    raw = resources.files("qingshan.standards").joinpath(f"data/{name}").read_bytes()
    return tomllib.loads(raw.decode("utf-8"))
