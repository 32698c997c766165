"""Shared by the registry tests: a valid credit code, the 嘉峪关市 records."""

from __future__ import annotations

from qingshan.services.registry.rules import credit_check_char


def credit(body: str) -> str:
    """A valid 统一社会信用代码 with the given first 17 characters."""
    return body + credit_check_char(body)


STEEL = credit("91620200MA71ABCD1")  # invented
CHEM = credit("91620200MA72EFGH2")  # invented
OUTLINE = {
    "type": "Polygon",
    "coordinates": [
        [[97.95, 39.65], [98.55, 39.65], [98.55, 40.05], [97.95, 40.05], [97.95, 39.65]]
    ],
}
