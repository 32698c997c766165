"""GB 3838-2002 classifier against classes published by the national automatic surface-water
monitoring network (国家地表水水质自动监测实时数据发布系统).

Data: tests/data/oracles/water/ (a copy of ../shared/oracles/water/, see its README): rows
archived by the public repositories Jesse-dry/AquaDetective (commit 7e1c9498) and
jinxiaolong2025/water-scraper (commit 8c8fa3cb). The platform's class is the worst
single-item class of pH, DO, CODMn, NH3-N and TP on the displayed values, with lake/reservoir
TP limits at lake stations (station_type_inference.csv); TN is displayed but not counted.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from qingshan.standards.water import WaterbodyType, WaterClass, classify_sample

DATA = Path(__file__).resolve().parents[1] / "data" / "oracles" / "water"
COLUMNS = {
    "ph": "pH(无量纲)",
    "do": "溶解氧(mg/L)",
    "codmn": "高锰酸盐指数(mg/L)",
    "nh3n": "氨氮(mg/L)",
    "tp": "总磷(mg/L)",
    "tn": "总氮(mg/L)",
}
NO_CLASS = {"", "--", "-1"}


def _read(name: str) -> list[dict[str, str]]:
    path = DATA / name
    if not path.exists():
        pytest.fail(f"oracle file missing: {path} (copy it from ../shared/oracles/water/)")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _station_types() -> dict[tuple[str, str], WaterbodyType]:
    out = {}
    for row in _read("station_type_inference.csv"):
        kind = WaterbodyType.RIVER if row["inferred_type"] == "河流" else WaterbodyType.LAKE
        out[(row["省份"], row["断面名称"])] = kind
    return out


def _value(cell: str) -> float | None:
    cell = cell.strip()
    return None if cell in ("", "--", "*") else float(cell)


def _classed_rows() -> list[tuple[str, dict[str, str]]]:
    rows = []
    for name in ("cnemc_realtime_20260821_p1.csv", "cnemc_realtime_202511_202602.csv"):
        rows += [(name, r) for r in _read(name) if r["水质类别"].strip() not in NO_CLASS]
    return rows


def test_every_published_class_is_reproduced() -> None:
    types = _station_types()
    rows = _classed_rows()
    assert len(rows) == 3991  # the README's count: 479 + 3,512 classed rows
    mismatches = []
    per_class: Counter[WaterClass] = Counter()
    for name, row in rows:
        published = WaterClass.parse(row["水质类别"])
        body = types.get((row["省份"], row["断面名称"]), WaterbodyType.RIVER)
        values = {code: _value(row[col]) for code, col in COLUMNS.items()}
        got = classify_sample(values, body).water_class
        per_class[published] += 1
        if got != published:
            mismatches.append((name, row["省份"], row["断面名称"], published, got))
    assert mismatches == []
    # the oracle spans every class, so the test exercises every branch of the classifier
    assert set(per_class) == set(WaterClass)


def test_lake_tp_limits_matter_at_lake_stations() -> None:
    """At least one lake-station row is classed differently with river TP limits, so the
    lake/river distinction is really exercised (and needed) by the oracle."""
    types = _station_types()
    differing = 0
    for _, row in _classed_rows():
        body = types.get((row["省份"], row["断面名称"]), WaterbodyType.RIVER)
        if body is not WaterbodyType.LAKE:
            continue
        values = {code: _value(row[col]) for code, col in COLUMNS.items()}
        lake = classify_sample(values, WaterbodyType.LAKE).water_class
        river = classify_sample(values, WaterbodyType.RIVER).water_class
        differing += lake != river
    assert differing > 0


def test_total_nitrogen_is_not_counted_by_the_platform() -> None:
    """Counting TN at lakes (the method's separate evaluation) would change published classes:
    the platform does not count it, and neither does our default."""
    types = _station_types()
    changed = 0
    for _, row in _classed_rows():
        body = types.get((row["省份"], row["断面名称"]), WaterbodyType.RIVER)
        if body is not WaterbodyType.LAKE:
            continue
        values = {code: _value(row[col]) for code, col in COLUMNS.items()}
        with_tn = classify_sample(values, body, include_tn=True).water_class
        changed += with_tn != WaterClass.parse(row["水质类别"])
    assert changed > 0
