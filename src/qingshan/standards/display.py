"""Display precision of monitored values, as the standards and national platforms report them.

The decimals per kind of site and factor code are data (``data/display-precision.toml``, each
group with its source); :func:`display_text` rounds a stored value once to them, GB/T 8170-2008
§3.2 (四舍六入五成双) on the exact decimal text, for people to read. Figures are never computed
from a displayed value (docs/standards/arithmetic.md); pages keep the stored value one click
away. See docs/standards/display.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import InvalidOperation
from functools import cache

from qingshan.standards._checks import load_toml
from qingshan.standards.rounding import NumberError, round_half_even, to_decimal

__all__ = ["DisplayGroup", "decimals_for", "display_groups", "display_text"]


@dataclass(frozen=True, slots=True)
class DisplayGroup:
    """Decimals of the factors of some kinds of site, with the source that prescribes them."""

    id: str
    kinds: frozenset[str]
    source: str
    decimals: dict[str, int]


@cache
def display_groups() -> tuple[DisplayGroup, ...]:
    raw = load_toml("display-precision.toml")
    out = []
    for g in raw["group"]:
        dec = {str(k): int(v) for k, v in g["decimals"].items()}
        if any(not 0 <= d <= 6 for d in dec.values()):
            raise ValueError(f"display precision of group {g['id']}: decimals must be 0–6")
        out.append(DisplayGroup(g["id"], frozenset(g["kinds"]), g["source"], dec))
    return tuple(out)


def decimals_for(kind: str | None, code: str) -> int | None:
    """Decimals a ``code`` (an HJ 212-2017 code) is shown with at a site of ``kind``; None when
    the table has no rule for it."""
    for g in display_groups():
        if kind in g.kinds and code in g.decimals:
            return g.decimals[code]
    return None


def display_text(value: str | None, decimals: int | None) -> str | None:
    """A stored value as shown: rounded half-even (GB/T 8170) to ``decimals``, in plain
    notation (never an exponent), "-0" shown as "0". Without decimals, or for a text that is
    not a finite decimal, the stored text is returned unchanged."""
    if value is None or decimals is None:
        return value
    try:
        d = round_half_even(to_decimal(value), decimals)
    except (NumberError, InvalidOperation):  # not a number, or too long to quantize
        return value
    text = f"{d:f}"
    if text.startswith("-") and not d:  # -0, -0.0: a sign on zero reads as a value below zero
        text = text[1:]
    return text
