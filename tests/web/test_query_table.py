"""The query page's API on SQLite and PostgreSQL: a site's factors by name and unit, its records
as a time × factor table (header 名称 (单位), values at the display precision with the stored
value beside them, flags, paging by time, several devices of one factor), the site page's
latest values with their display text, and Chinese messages for bad queries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from qingshan.storage.db import make_engine, session_scope
from qingshan.storage.models import Device, DeviceFactor, Observation, Resolution, Site
from qingshan.storage.partitions import ensure_months
from web.conftest import login

T0 = datetime(2026, 1, 15, 8, 0)  # CST; away from the seeded last two days
TIES_AIR = [  # (hour offset, PM2.5, CO, flag of PM2.5): ties round to even (GB/T 8170)
    (0, "34.5", "0.25", "N"),
    (1, "35.5", "0.35", "N"),
    (2, "36.50001", "1.05", "C"),
]


def _hour(device_id: int, t: datetime, code: str, value: str, flag: str = "N") -> Observation:
    return Observation(
        device_id=device_id,
        resolution=int(Resolution.HOUR),
        data_time=t,
        code=code,
        value=value,
        flag=flag,
        derived=False,
    )


@pytest.fixture(scope="module")
def seeded(web_db: tuple[str, dict[str, int]]) -> dict[str, Any]:
    url, _ = web_db
    engine = make_engine(url)
    ensure_months(engine, {(2026, 1)})
    with session_scope(engine) as s:
        air = s.scalar(select(Site).where(Site.code == "A01"))
        water = s.scalar(select(Site).where(Site.code == "WS01"))
        assert air is not None and water is not None
        air_dev = s.scalar(select(Device).where(Device.site_id == air.id))
        w1 = s.scalar(select(Device).where(Device.site_id == water.id))
        assert air_dev is not None and w1 is not None
        # a second analyser at the section measuring ammonia too
        w2 = Device(
            mn="620802020002EEEEEEEEEEEE",
            pw="123456",
            st="21",
            edition="2017",
            encoding="gbk",
            site_id=water.id,
            active=True,
            created_at=datetime(2026, 1, 1),
        )
        s.add(w2)
        s.flush()
        s.add_all(
            [
                DeviceFactor(device_id=w1.id, code="w21003"),
                DeviceFactor(device_id=w2.id, code="w21003"),
            ]
        )
        rows = []
        for h, pm, co, flag in TIES_AIR:
            t = T0 + timedelta(hours=h)
            rows += [_hour(air_dev.id, t, "a34004", pm, flag), _hour(air_dev.id, t, "a21005", co)]
        rows += [_hour(w1.id, T0, "w21003", "0.1235"), _hour(w2.id, T0, "w21003", "0.1225")]
        s.add_all(rows)
        out = {"air": air.id, "water": water.id, "w1": w1.mn, "w2": w2.mn}
    engine.dispose()
    return out


def _table(c: Any, **params: Any) -> Any:
    r = c.get("/api/v1/observations/table", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_site_factors_by_name_and_unit(app: Any, seeded: dict[str, Any]) -> None:
    c = login(app, "staff")
    r = c.get(f"/api/v1/sites/{seeded['air']}/factors")
    assert r.status_code == 200, r.text
    f = {x["code"]: x for x in r.json()["factors"]}
    assert {"a34004", "a21005", "a21026", "a05024"} <= set(f)
    # ambient air: μg/m³ (GB 3095), CO mg/m³, with the display precision of HJ 633
    assert f["a34004"]["unit"] == "μg/m³" and f["a34004"]["decimals"] == 0
    assert f["a34004"]["header"] == f"{f['a34004']['name']} (μg/m³)"
    assert "PM2.5" in f["a34004"]["name"]
    assert f["a21005"]["name"] == "一氧化碳" and f["a21005"]["unit"] == "mg/m³"
    assert f["a21005"]["decimals"] == 1
    w = c.get(f"/api/v1/sites/{seeded['water']}/factors").json()["factors"]
    nh3 = [x for x in w if x["code"] == "w21003"]
    assert sorted(x["mn"] for x in nh3) == sorted([seeded["w1"], seeded["w2"]])
    assert {x["decimals"] for x in nh3} == {3}
    assert c.get("/api/v1/sites/999999/factors").status_code == 404


def test_time_by_factor_table_with_display_values_and_flags(
    app: Any, seeded: dict[str, Any]
) -> None:
    c = login(app, "staff")
    t = _table(
        c,
        site_id=seeded["air"],
        start=T0.isoformat(),
        end=(T0 + timedelta(hours=2)).isoformat(),
        codes="a34004,a21005",
    )
    assert [col["code"] for col in t["columns"]] == ["a34004", "a21005"]
    assert t["columns"][0]["header"].endswith("(μg/m³)")
    assert t["columns"][1]["header"] == "一氧化碳 (mg/m³)"
    assert [r["time"] for r in t["rows"]] == [
        (T0 + timedelta(hours=h)).isoformat() + "+08:00" for h in range(3)
    ]
    pm = [r["cells"][0] for r in t["rows"]]
    co = [r["cells"][1] for r in t["rows"]]
    # GB/T 8170 四舍六入五成双 on the stored decimal text, which stays beside it
    assert [x["display"] for x in pm] == ["34", "36", "37"]
    assert [x["value"] for x in pm] == ["34.5", "35.5", "36.50001"]
    assert [x["display"] for x in co] == ["0.2", "0.4", "1.0"]
    assert [x["flag"] for x in pm] == ["N", "N", "C"]
    assert t["flag_labels"]["C"] == "校准"
    assert t["next_cursor"] is None


def test_paging_by_time_and_several_devices(app: Any, seeded: dict[str, Any]) -> None:
    c = login(app, "staff")
    base = {
        "site_id": seeded["air"],
        "start": T0.isoformat(),
        "end": (T0 + timedelta(hours=2)).isoformat(),
        "codes": "a34004",
        "limit": 2,
    }
    p1 = _table(c, **base)
    assert len(p1["rows"]) == 2 and p1["next_cursor"]
    p2 = _table(c, **base, cursor=p1["next_cursor"])
    assert [r["cells"][0]["value"] for r in p2["rows"]] == ["36.50001"]
    assert p2["next_cursor"] is None
    # two analysers of one factor: a column each, headed with its MN
    w = _table(c, site_id=seeded["water"], start=T0.isoformat(), end=T0.isoformat(), codes="w21003")
    cols = {col["mn"]: i for i, col in enumerate(w["columns"])}
    assert set(cols) == {seeded["w1"], seeded["w2"]}
    cells = w["rows"][0]["cells"]
    assert cells[cols[seeded["w1"]]]["display"] == "0.124"  # 0.1235 → 0.124 (3 odd: up)
    assert cells[cols[seeded["w2"]]]["display"] == "0.122"  # 0.1225 → 0.122 (2 even: stays)
    # unit from the HJ 212-2017 code table (the registry here has no factor rows)
    assert {col["header"] for col in w["columns"]} == {
        f"氨氮 (毫克/升) [{seeded[k]}]" for k in ("w1", "w2")
    }
    # without codes: every factor of the site, empty cells where a time lacks one
    allf = _table(c, site_id=seeded["air"], start=T0.isoformat(), end=T0.isoformat())
    assert {"a34004", "a21005", "a21026"} <= {col["code"] for col in allf["columns"]}
    row = allf["rows"][0]["cells"]
    assert None in row  # the seeded SO2 has no record at T0


def test_chinese_messages_for_bad_queries(app: Any, seeded: dict[str, Any]) -> None:
    c = login(app, "staff")
    q = {"site_id": seeded["air"], "codes": "a34004"}
    r = c.get(
        "/api/v1/observations/table",
        params={**q, "start": "2026-01-15T10:00", "end": "2026-01-15T08:00"},
    )
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "结束时间 2026-01-15 08:00 早于 开始时间 2026-01-15 10:00（北京时间）："
        "结束时间不能早于开始时间"
    )
    r = c.get(
        "/api/v1/observations/table",
        params={**q, "resolution": "minute", "start": "2026-01-01", "end": "2026-01-15"},
    )
    assert r.status_code == 422 and "分钟数据每次最多查询 7 天" in r.json()["detail"]
    r = c.get(
        "/api/v1/observations/table",
        params={**q, "start": "2026-01-15", "end": "2026-01-16", "cursor": "bm9wZQ=="},
    )
    assert r.status_code == 422 and r.json()["detail"] == "分页标记无效：请重新查询"
    r = c.get("/api/v1/observations", params={**q, "start": "2026-01-16", "end": "2026-01-15"})
    assert r.status_code == 422 and "结束时间不能早于开始时间" in r.json()["detail"]


def test_site_page_latest_values_carry_display_text(app: Any, seeded: dict[str, Any]) -> None:
    c = login(app, "staff")
    d = c.get(f"/api/v1/sites/{seeded['air']}").json()
    hour = next(x for x in d["latest"] if x["resolution"] == "hour")
    co = next(v for v in hour["values"] if v["code"] == "a21005")
    assert co["value"] == "0.6" and co["display"] == "0.6"
    pm = next(v for v in hour["values"] if v["code"] == "a34004")
    assert pm["value"] == "60" and pm["display"] == "60"
    w = c.get(f"/api/v1/sites/{seeded['water']}").json()
    wv = {v["code"]: v for v in next(x for x in w["latest"] if x["resolution"] == "hour")["values"]}
    assert wv["w01001"]["value"] == "7.8" and wv["w01001"]["display"] == "7.80"  # pH 2 decimals
    assert wv["w21011"]["display"] == "0.080"  # TP 3 decimals
