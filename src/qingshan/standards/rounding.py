"""Exact numbers and rounding as Chinese standards prescribe it.

GB/T 8170-2008 《数值修约规则与极限数值的表示和判定》 §3.2 ("四舍六入五成双"): a digit
below 5 is dropped, above 5 carries, and an exact 5 with nothing after it rounds so the kept
digit becomes even. That is IEEE "round half to even" applied to the *decimal* value as
written, so the work is done on :class:`decimal.Decimal` and :class:`fractions.Fraction`.

Floats are converted through their shortest round-tripping text (``repr``): ``4.05`` is
treated as the decimal 4.05 a person typed (→ 4.0), not as its binary neighbour
4.04999… . This is what the number on the page means. A float may *carry* a decimal value
between steps; it is never used for arithmetic whose result is published (sums, means,
quotients): those are exact (:func:`to_fraction`), and rounded once at the end
(docs/standards/arithmetic.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_EVEN,
    Decimal,
    Inexact,
    InvalidOperation,
    Rounded,
    localcontext,
)
from fractions import Fraction

__all__ = [
    "Exact",
    "NumberError",
    "ceil_int",
    "exact_mean",
    "round_half_even",
    "round_units",
    "to_decimal",
    "to_fraction",
]

Exact = Decimal | Fraction | float | int | str
"""Anything :func:`to_fraction` reads exactly."""


class NumberError(ValueError):
    """A value that is not a finite number."""


def to_decimal(value: Decimal | float | int | str) -> Decimal:
    """Exact decimal value of a number, as the number is written.

    Parameters
    ----------
    value : Decimal, float, int or str
        The number. A float stands for its shortest round-tripping text (``repr``), so
        ``to_decimal(4.05) == Decimal("4.05")``; text is read by :class:`~decimal.Decimal`
        (surrounding blanks ignored).

    Returns
    -------
    Decimal
        The finite decimal value.

    Raises
    ------
    NumberError
        For booleans, text that is not a number, NaN and infinities.
    """
    if isinstance(value, bool):
        raise NumberError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        out = value
    elif isinstance(value, int):
        out = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise NumberError(f"not a finite number: {value!r}")
        out = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            out = Decimal(value.strip())
        except InvalidOperation:
            raise NumberError(f"not a number: {value!r}") from None
    else:
        raise NumberError(f"not a number: {value!r}")
    if not out.is_finite():
        raise NumberError(f"not a finite number: {value!r}")
    return out


def to_fraction(value: Exact) -> Fraction:
    """Exact rational value of a number (docs/standards/arithmetic.md, rule 1).

    Parameters
    ----------
    value : Decimal, Fraction, float, int or str
        The number; a float stands for its shortest text (``to_fraction(0.1) == Fraction(1, 10)``).

    Returns
    -------
    Fraction
        The exact value, for arithmetic without rounding (means, quotients, comparisons).

    Raises
    ------
    NumberError
        For booleans, non-numbers, NaN and infinities.
    """
    if isinstance(value, Fraction):
        return value
    return Fraction(to_decimal(value))


def exact_mean(values: Sequence[Exact]) -> Fraction:
    """Exact arithmetic mean ``x̄ = Σxᵢ / n``.

    Decimals are summed as decimals (cheap) with every inexact step trapped; anything else, or a
    sum too long for the decimal context, is summed as fractions. The result is never rounded.

    Parameters
    ----------
    values : sequence of Decimal, Fraction, float, int or str
        The values (floats as their shortest text), in any unit.

    Returns
    -------
    Fraction
        The mean, exact, in the values' unit.

    Raises
    ------
    ValueError
        For an empty sequence.
    """
    if not values:
        raise ValueError("mean of no values")
    if all(type(v) is Decimal for v in values):
        with localcontext() as ctx:
            ctx.traps[Inexact] = True
            ctx.traps[Rounded] = True
            try:
                return Fraction(sum(values, Decimal(0))) / len(values)
            except (Inexact, Rounded):
                pass
    return sum((to_fraction(v) for v in values), Fraction(0)) / len(values)


def round_units(value: Exact, ndigits: int = 0) -> int:
    """Round half-even to ``ndigits`` decimals and count units of 10^-ndigits.

    GB/T 8170-2008 §3.2 (四舍六入五成双) on the exact value:
    ``round_units("4.05", 1) == 40``, ``round_units(Fraction(151, 2)) == 76``.

    Parameters
    ----------
    value : Decimal, Fraction, float, int or str
        The exact value to round (a float as its shortest text).
    ndigits : int, default 0
        Decimals kept; negative values round to tens, hundreds …

    Returns
    -------
    int
        The rounded value in units of 10^-ndigits.
    """
    q = to_fraction(value)
    scaled = q * 10**ndigits if ndigits >= 0 else q / 10**-ndigits
    num: int = scaled.numerator
    den: int = scaled.denominator
    floor, rest = divmod(num, den)
    twice = 2 * rest
    if twice > den or (twice == den and floor % 2 == 1):
        floor += 1
    return floor


def round_half_even(value: Exact, ndigits: int = 0) -> Decimal:
    """Round by GB/T 8170-2008 §3.2 (四舍六入五成双, round half to even) on the decimal value.

    ``round_half_even("60.5", 0) == Decimal("60")``, ``round_half_even(4.15, 1) ==
    Decimal("4.2")``, ``round_half_even(125, -1) == Decimal("1.2E+2")`` (tens),
    ``round_half_even(Fraction(81, 20), 1) == Decimal("4.0")`` (exact 4.05).

    Parameters
    ----------
    value : Decimal, Fraction, float, int or str
        The value, exact (a float as its shortest text).
    ndigits : int, default 0
        Decimals kept; negative values round to tens, hundreds …

    Returns
    -------
    Decimal
        The rounded value with exponent ``-ndigits``.

    Raises
    ------
    NumberError
        For non-numbers, NaN and infinities.
    """
    if isinstance(value, Fraction):
        return Decimal(round_units(value, ndigits)).scaleb(-ndigits)
    exp = Decimal(1).scaleb(-ndigits)
    return to_decimal(value).quantize(exp, rounding=ROUND_HALF_EVEN)


def ceil_int(value: Exact) -> int:
    """Round up to an integer (向上进位取整数).

    Used for IAQI and AQI: HJ 633-2012 §6.2, HJ 633-2026 §4.2.6.

    Parameters
    ----------
    value : Decimal, Fraction, float, int or str
        The exact value.

    Returns
    -------
    int
        The smallest integer ≥ ``value``.
    """
    if isinstance(value, Fraction):
        return math.ceil(value)
    return int(to_decimal(value).to_integral_value(rounding=ROUND_CEILING))
