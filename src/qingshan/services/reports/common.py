"""Names and small arithmetic shared by the report modules."""

from __future__ import annotations

from typing import Any

from qingshan.standards.rounding import round_half_even, to_fraction

POL_NAMES = {
    "SO2": "SO₂",
    "NO2": "NO₂",
    "CO": "CO",
    "O3_1H": "O₃",
    "O3_8H": "O₃",
    "PM10": "PM₁₀",
    "PM2_5": "PM₂.₅",
    "O3": "O₃",
}


def rel_change(now: Any, before: Any) -> str:
    """Relative change in %, exact from the stored values, rounded once (``+3.2%``)."""
    if now is None or before is None or to_fraction(before) == 0:
        return "—"
    change = (to_fraction(now) - to_fraction(before)) / to_fraction(before)
    return f"{round_half_even(change * 100, 1):+}%"
