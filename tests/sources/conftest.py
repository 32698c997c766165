"""A small registry with hand-computed data: two enterprises, a gas and a water outlet with
permits and limits, and one day of hourly values (2026-11-01, CST).

Gas outlet DA001 (coal boiler, 基准含氧量 9 %), SO2 limit 200 mg/m³ (小时均值):
  hours 0–9   N  100 at O2 9 (compared 100)
  hours 10–12 N  190 / 195 / 190 at O2 11: measured below 200, 折算 ×12/10 → 228 / 234 / 228
  hour 13     C  400 (calibration read: invalid, never an exceedance)
  hours 14–17 F  0 (stopped: not due, not invalid)
  hours 18–19 missing
  hour 20     M  100
  hours 21–23 N  100 at O2 9
  → SO2 expected 20, received 18, valid 16; one 3-hour episode 10:00–13:00, peak 234 at 11:00.
Dust a34013 limit 30: N 10 every hour but F at 14–17 → expected 20, received 20, valid 20.
Flow a00000 10 m³/s (N; F 0 when stopped): SO2 = 0.036 kg per mg/m³·h →
  (10 × 100 + 575 + 3 × 100) × 0.036 = 67.5 kg over 16 hours, 4 hours missing (13, 18, 19, 20).
Water outlet DW001, COD w01018 limit 50 mg/L (日均值): 12 h at 60 and 12 h at 50 → mean 55 → 1
exceedance day; flow 5 L/s → (12 × 60 + 12 × 50) × 0.018 = 23.76 kg.
Second enterprise (another county): one gas outlet, SO2 limited, no data at all.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from qingshan.clock import utcnow
from qingshan.services.permits import LimitSpec, replace_limits, save_permit
from qingshan.storage import partitions
from qingshan.storage.db import session_scope
from qingshan.storage.models import Device, Enterprise, Observation, Region, Site

DAY0 = datetime(2026, 11, 1)
H = timedelta(hours=1)


def obs(
    dev: int, hour: int, code: str, value: str | None, flag: str, zs: str | None = None
) -> Observation:
    return Observation(
        device_id=dev,
        resolution=2,
        data_time=DAY0 + hour * H,
        code=code,
        value=value,
        zs=zs,
        flag=flag,
        derived=False,
    )


def so2(hour: int) -> tuple[str | None, str, str]:
    """(value, flag, O2) of the SO2 hour."""
    if hour <= 9 or hour >= 21:
        return "100", "N", "9"
    if hour in (10, 12):
        return "190", "N", "11"
    if hour == 11:
        return "195", "N", "11"
    if hour == 13:
        return "400", "C", "9"
    if 14 <= hour <= 17:
        return "0", "F", "20.6"
    if hour == 20:
        return "100", "M", "9"
    return None, "", ""  # 18, 19 missing


def build(engine: Engine) -> dict[str, Any]:
    partitions.ensure_months(engine, [(2026, 11)])  # PostgreSQL: the month's partition
    with session_scope(engine) as s:
        s.add_all(
            [
                Region(code="620000", name="甘肃省", level="province"),
                Region(code="620800", name="平凉市", level="city", parent_code="620000"),
                Region(code="620802", name="崆峒区", level="county", parent_code="620800"),
                Region(code="620803", name="另一县", level="county", parent_code="620800"),
            ]
        )
        s.flush()
        e1 = Enterprise(name="甲热力公司", credit_code="91620802MA00000001", region_code="620802")
        e2 = Enterprise(name="乙砖厂", credit_code="91620803MA00000002", region_code="620803")
        s.add_all([e1, e2])
        s.flush()
        sites = {
            "DA001": Site(
                code="E1-DA001",
                name="锅炉排放口",
                kind="enterprise_outlet",
                enterprise_id=e1.id,
                outlet_medium="gas",
                region_code="620802",
            ),
            "DW001": Site(
                code="E1-DW001",
                name="废水总排口",
                kind="enterprise_outlet",
                enterprise_id=e1.id,
                outlet_medium="water",
                region_code="620802",
            ),
            "E2": Site(
                code="E2-DA001",
                name="隧道窑排放口",
                kind="enterprise_outlet",
                enterprise_id=e2.id,
                outlet_medium="gas",
                region_code="620803",
            ),
        }
        s.add_all(sites.values())
        s.flush()
        devs = {}
        for i, (k, site) in enumerate(sites.items()):
            d = Device(
                mn=f"MN{i:022d}",
                pw="123456",
                st="31" if k != "DW001" else "32",
                site_id=site.id,
                created_at=utcnow(),
            )
            s.add(d)
            s.flush()
            devs[k] = d.id
        p1 = save_permit(
            s,
            enterprise_id=e1.id,
            number="91620802MA00000001001P",
            management_class="重点管理",
            valid_from=date(2026, 1, 1),
            valid_to=None,
        )
        replace_limits(
            s,
            p1,
            [
                LimitSpec(
                    sites["DA001"].id,
                    "a21026",
                    "200",
                    "mg/m³",
                    "小时均值",
                    "GB 13271-2014",
                    o2_ref="9",
                ),
                LimitSpec(
                    sites["DA001"].id,
                    "a34013",
                    "30",
                    "mg/m³",
                    "小时均值",
                    "GB 13271-2014",
                    o2_ref="9",
                ),
                LimitSpec(sites["DW001"].id, "w01018", "50", "mg/L", "日均值", "GB 8978-1996"),
            ],
        )
        p2 = save_permit(
            s,
            enterprise_id=e2.id,
            number="91620803MA00000002001P",
            management_class="重点管理",
            valid_from=date(2026, 1, 1),
            valid_to=None,
        )
        replace_limits(
            s,
            p2,
            [
                LimitSpec(
                    sites["E2"].id,
                    "a21026",
                    "300",
                    "mg/m³",
                    "小时均值",
                    "GB 29620-2013",
                    o2_ref="18",
                ),
            ],
        )
        rows = []
        g, w = devs["DA001"], devs["DW001"]
        for h in range(24):
            v, f, o2 = so2(h)
            if v is not None:
                rows.append(obs(g, h, "a21026", v, f))
                rows.append(obs(g, h, "a19001", o2, f))
            stopped = 14 <= h <= 17
            rows.append(obs(g, h, "a34013", "0" if stopped else "10", "F" if stopped else "N"))
            rows.append(obs(g, h, "a00000", "0" if stopped else "10", "F" if stopped else "N"))
            rows.append(obs(w, h, "w01018", "60" if h < 12 else "50", "N"))
            rows.append(obs(w, h, "w00000", "5", "N"))
        s.add_all(rows)
    return {"devices": devs, "e1": e1.credit_code, "e2": e2.credit_code}


@pytest.fixture
def world(engine: Engine) -> dict[str, Any]:
    return build(engine)
