"""A hand-computed heavy-pollution warning (SQLite and PostgreSQL).

橙色 warning over 620802 from 2026-11-20 08:00 to 12:00 (CST; 4 warning hours 08–11).
Baseline: the same clock hours (08–11) of the 7 days before: 13–19 November, 28 hours.
Every gas outlet carries SO2 (a21026, limit 200 mg/m³) unless said otherwise; one hour of
SO2 100 mg/m³ at flow 10 m³/s is 100 × 10 × 3600 / 10⁶ = 3.6 kg.

* 甲厂 (B级, 限产30%, 30): baseline SO2 100 / flow 10 in every hour but 11-15 09:00, a
  calibration (C) read that does not count → 27 hours, 3.6 kg/h. Warning: flow 5 at 08, 09,
  11 (1.8 kg each), stopped (F, 0) at 10 → 5.4 / 4 = 1.35 kg/h → reduction 62.5 % → 已落实.
* 乙厂 (C级, 限产30%, 30): baseline as 甲 (28 hours); warning flow 9.5 → 3.42 kg/h →
  reduction 5.0 % → 未见下降.
* 丙厂 (B级, 限产50%, 50): baseline as 乙; nothing received during the warning → 无数据.
* 丁厂 (D级, 停产, 100): an outlet without limits: flow alone, 10 m³/s = 36000 m³/h in the
  baseline, 2 m³/s = 7200 m³/h during → 80.0 % < 100 → 未见下降 (basis flow).
* 戊厂 in 620803 (another county) with an 橙色 measure: outside the warning's region.
* 己厂 in 620802 with a 黄色 measure only: nothing to do at 橙色.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from qingshan.clock import utcnow
from qingshan.services.permits import LimitSpec, replace_limits, save_permit
from qingshan.storage import partitions
from qingshan.storage.db import session_scope
from qingshan.storage.models import Device, Enterprise, Observation, Region, Site
from qingshan.storage.models_sources import SourceGrade, SourceMeasure

START = datetime(2026, 11, 20, 8)
END = datetime(2026, 11, 20, 12)
CUTOFF = datetime(2026, 11, 21, 0)
H = timedelta(hours=1)
NAMES = ("甲厂", "乙厂", "丙厂", "丁厂", "戊厂", "己厂")


def code(i: int) -> str:
    return f"91620802MA0000010{i}"


def _obs(dev: int, t: datetime, c: str, v: str, flag: str) -> Observation:
    return Observation(
        device_id=dev, resolution=2, data_time=t, code=c, value=v, flag=flag, derived=False
    )


def build(engine: Engine, *, with_measures: bool = True) -> dict[str, Any]:
    partitions.ensure_months(engine, [(2026, 11)])
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
        ids: dict[str, int] = {}
        devs: dict[str, int] = {}
        for i, name in enumerate(NAMES):
            region = "620803" if name == "戊厂" else "620802"
            e = Enterprise(name=name, credit_code=code(i), region_code=region)
            s.add(e)
            s.flush()
            site = Site(
                code=f"W{i}-DA001",
                name="排放口",
                kind="enterprise_outlet",
                enterprise_id=e.id,
                outlet_medium="gas",
                region_code=region,
            )
            s.add(site)
            s.flush()
            d = Device(
                mn=f"MNW{i:021d}", pw="123456", st="31", site_id=site.id, created_at=utcnow()
            )
            s.add(d)
            s.flush()
            ids[name], devs[name] = e.id, d.id
            if name != "丁厂":
                permit = save_permit(
                    s,
                    enterprise_id=e.id,
                    number=f"{code(i)}001P",
                    management_class="重点管理",
                    valid_from=date(2026, 1, 1),
                    valid_to=None,
                )
                replace_limits(
                    s,
                    permit,
                    [LimitSpec(site.id, "a21026", "200", "mg/m³", "小时均值", "GB 13271-2014")],
                )
        rows = []
        base = [START - timedelta(days=k) + j * H for k in range(1, 8) for j in range(4)]
        warn = [START + j * H for j in range(4)]
        for name in ("甲厂", "乙厂", "丙厂"):
            for t in base:
                flag = "C" if name == "甲厂" and t == datetime(2026, 11, 15, 9) else "N"
                rows += [_obs(devs[name], t, "a21026", "100", flag)]
                rows += [_obs(devs[name], t, "a00000", "10", flag)]
        for t in base:
            rows.append(_obs(devs["丁厂"], t, "a00000", "10", "N"))
        for t in warn:
            stopped = t.hour == 10
            rows.append(
                _obs(devs["甲厂"], t, "a21026", "0" if stopped else "100", "F" if stopped else "N")
            )
            rows.append(
                _obs(devs["甲厂"], t, "a00000", "0" if stopped else "5", "F" if stopped else "N")
            )
            rows.append(_obs(devs["乙厂"], t, "a21026", "100", "N"))
            rows.append(_obs(devs["乙厂"], t, "a00000", "9.5", "N"))
            rows.append(_obs(devs["丁厂"], t, "a00000", "2", "N"))
        s.add_all(rows)
        if with_measures:
            now = utcnow()
            for name, grade, level, measure, red in (
                ("甲厂", "B", "orange", "限产30%", "30"),
                ("乙厂", "C", "orange", "限产30%", "30"),
                ("丙厂", "B", "orange", "限产50%", "50"),
                ("丁厂", "D", "orange", "停产", "100"),
                ("戊厂", "A", "orange", "限产10%", "10"),
                ("己厂", "C", "yellow", "限产20%", "20"),
            ):
                s.add(SourceGrade(enterprise_id=ids[name], grade=grade, updated_at=now))
                s.add(
                    SourceMeasure(
                        enterprise_id=ids[name],
                        level=level,
                        measure=measure,
                        reduction=red,
                        updated_at=now,
                    )
                )
    return {"ids": ids, "devices": devs}
