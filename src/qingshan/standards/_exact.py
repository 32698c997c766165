"""Exact arithmetic on numpy arrays: decimal values as integers over one common denominator.

A float array in the rule packages *carries* decimal values: each float stands for its
shortest text (``repr``), the convention of :mod:`qingshan.standards.rounding`. Before any
arithmetic whose result is published, :meth:`ExactArray.from_floats` turns such an array into
integers ``num`` with a denominator ``den`` (value = num / den) — e.g. CO 3.7 mg/m³ becomes
37 / 10 — so sums, means, percentiles and comparisons with limits are integer arithmetic and
exact. The integers are int64 where the magnitudes are checked to fit and Python ints
(``dtype=object``, slower, unbounded) otherwise; both give the same numbers.

Private to :mod:`qingshan.standards`; the policy is in docs/standards/arithmetic.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[Any]  # int64 or object (Python ints)
BoolArray = npt.NDArray[np.bool_]

# int64 intermediate values stay below this bound (headroom for one more addition).
_INT64_SAFE = 2**62
# A float x is read on the 10^-d grid only while |x|·10^d < 2^50: then 10^-d is more than
# four ulps of x, so at most one d-decimal number rounds to x and it is x's shortest text.
_GRID_BOUND = 2.0**50
_MAX_DECIMALS = 9


def _max_abs(a: IntArray) -> int:
    if a.size == 0:
        return 0
    if a.dtype == object:
        return int(max(abs(int(v)) for v in a.ravel()))
    return int(np.abs(a).max())


def fits(a: IntArray, factor: int) -> bool:
    """True when every ``|a| · factor`` stays in the int64 safe range (and ``a`` is int64)."""
    return a.dtype != object and _max_abs(a) * factor < _INT64_SAFE


def widen(a: IntArray, factor: int) -> IntArray:
    """``a`` itself when ``|a|·factor`` fits int64, else the same integers as Python ints."""
    return a if fits(a, factor) else a.astype(object)


@dataclass(frozen=True, slots=True)
class ExactArray:
    """Exact values ``num / den``; ``num`` is 0 where ``valid`` is False (missing)."""

    num: IntArray
    den: int
    valid: BoolArray
    bound: int = -1  # an upper bound of |num| when known (saves a pass over big arrays)

    def max_abs(self) -> int:
        return self.bound if self.bound >= 0 else _max_abs(self.num)

    def widened(self, factor: int) -> IntArray:
        """``num``, as Python ints when ``|num|·factor`` could leave the int64 safe range."""
        if self.num.dtype != object and self.max_abs() * factor < _INT64_SAFE:
            return self.num
        return self.num.astype(object)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.num.shape)

    @classmethod
    def from_floats(cls, values: npt.ArrayLike) -> ExactArray:
        """Read a float array (NaN = missing) exactly; infinities raise ``ValueError``."""
        a = np.asarray(values, dtype=np.float64)
        valid = ~np.isnan(a)
        x = a if valid.all() else np.where(valid, a, 0.0)
        top = float(max(x.max(), -x.min())) if x.size else 0.0
        if not math.isfinite(top):
            raise ValueError("infinite value")
        for d in range(_first_decimals(x), _MAX_DECIMALS + 1):
            scale = 10.0**d  # exact for d ≤ 22
            if top * scale >= _GRID_BOUND:
                break
            if d == 0:
                m = x.astype(np.int64)  # truncation; equal to x only for whole numbers
                if np.array_equal(m, x):
                    return cls(m, 1, valid, math.ceil(top))
                continue
            mf = np.rint(x * scale)
            if np.array_equal(mf / scale, x):
                return cls(mf.astype(np.int64), 10**d, valid, math.ceil(top * scale))
        # Many decimals or large magnitudes: read every value's text (slow, exact).
        decs = [Decimal(repr(float(v))) for v in a[valid].tolist()]
        d = max(0, max((-int(dec.as_tuple().exponent) for dec in decs), default=0))
        num_o = np.zeros(a.shape, dtype=object)
        num_o[valid] = [int(dec.scaleb(d)) for dec in decs]
        return cls(num_o, 10**d, valid)

    def with_den(self, den: int) -> ExactArray:
        """The same values over ``den`` (a multiple of ``self.den``)."""
        if den == self.den:
            return self
        if den % self.den:
            raise ValueError(f"{den} is not a multiple of {self.den}")
        k = den // self.den
        bound = self.bound * k if self.bound >= 0 else -1
        return ExactArray(self.widened(k) * k, den, self.valid, bound)

    def to_floats(self) -> FloatArray:
        """Nearest floats of the exact values, NaN where missing."""
        return ratio_floats(self.num, self.den, self.valid)


def _first_decimals(x: FloatArray) -> int:
    """The decimals a small sample of ``x`` needs: the full check starts there."""
    sample = x.ravel()[:2048]
    for d in range(_MAX_DECIMALS + 1):
        scale = 10.0**d
        if np.array_equal(np.rint(sample * scale) / scale, sample):
            return d
    return _MAX_DECIMALS


def common_den(arrays: Sequence[ExactArray]) -> list[ExactArray]:
    """The arrays over one denominator (the least common multiple of theirs)."""
    den = 1
    for a in arrays:
        den = math.lcm(den, a.den)
    return [a.with_den(den) for a in arrays]


def stack(arrays: Sequence[ExactArray], axis: int = 0) -> ExactArray:
    parts = common_den(arrays)
    obj = any(p.num.dtype == object for p in parts)
    nums = [p.num.astype(object) if obj else p.num for p in parts]
    return ExactArray(
        np.stack(nums, axis=axis), parts[0].den, np.stack([p.valid for p in parts], axis=axis)
    )


def ratio_floats(num: IntArray, den: IntArray | int, valid: BoolArray) -> FloatArray:
    """Nearest float of ``num / den`` (correctly rounded), NaN where not ``valid``."""
    num = np.asarray(num)
    valid = np.asarray(valid)
    out = np.full(np.shape(num), np.nan)
    d_arr = np.broadcast_to(np.asarray(den), np.shape(num))
    if num.dtype != object and d_arr.dtype != object:
        small = (np.abs(num) < 2**53) & (np.abs(d_arr) < 2**53)
        if small.all():
            with np.errstate(invalid="ignore", divide="ignore"):
                q = num.astype(np.float64) / np.where(valid, d_arr, 1).astype(np.float64)
            out[valid] = q[valid]
            return out
    # Python's int / int is correctly rounded whatever the size.
    for idx in np.ndindex(out.shape):
        if valid[idx]:
            out[idx] = int(num[idx]) / int(d_arr[idx])
    return out


def round_ratio(num: IntArray, den: IntArray | int, ndigits: int = 0) -> IntArray:
    """GB/T 8170 half-even rounding of ``num / den`` to ``ndigits`` decimals, as integers in
    units of 10^-ndigits; exact. ``den`` must be positive where the result is used (callers
    pass 1 where there is no value)."""
    n = np.asarray(num)
    d = np.asarray(den)
    scale = 10**ndigits if ndigits >= 0 else 1
    if ndigits < 0:
        d = d * 10**-ndigits
    big = n.dtype == object or d.dtype == object
    if not big:
        big = not (fits(n, 2 * scale) and fits(d, 2 * scale))
    if big:
        n, d = n.astype(object), d.astype(object)
    scaled = n * scale
    q = scaled // d
    twice = 2 * (scaled - q * d)
    up = (twice > d) | ((twice == d) & (q % 2 == 1))
    out: IntArray = q + up.astype(q.dtype if q.dtype != object else object)
    return out


def exceeds(num: IntArray, den: IntArray | int, limit: Decimal | Fraction) -> BoolArray:
    """Exactly ``num / den > limit`` (``den`` > 0)."""
    lim = Fraction(limit)
    n = np.asarray(num)
    d = np.asarray(den)
    a, b = lim.numerator, lim.denominator
    if n.dtype == object or d.dtype == object or not (fits(n, b) and fits(d, abs(a) + 1)):
        n, d = n.astype(object), d.astype(object)
    out: BoolArray = np.asarray(n * b > d * a, dtype=np.bool_)
    return out
