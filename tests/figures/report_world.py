"""The seeded world of the periodic-report tests (日报, 周报, 月报 additions).

The demo district's registry; simulated hourly data of the five national air stations, two
micro-stations and the three water sections for 2026-01-20 … 2026-03-01 and for
2025-02-01 … 2025-02-16 (last year's same days); a station "JC01" in the sibling county
泾川县 (620821) whose hours are a copy of AQ03's, so the county's stored figures equal AQ03's;
a PM2.5 target (≤ 40 μg/m³ from 2026) beside the demo's 96.7 % good-day target; one gas
outlet with three hours above its SO2 hourly limit on 2026-02-12 (one episode). Then every
figure is recomputed and stored.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from qingshan.demo import loader as demo_loader
from qingshan.demo.district import load_district
from qingshan.demo.synth import generate
from qingshan.services import deployment
from qingshan.services.figures import recompute_all
from qingshan.services.permits import Basis, limits_by_site
from qingshan.storage.db import session_factory, session_scope
from qingshan.storage.models import Device, Resolution, Site
from qingshan.storage.models_sources import SourceEpisode

AIR_SITES = ("AQ01", "AQ02", "AQ03", "AQ04", "AQ05", "WZ01", "WZ02")
SIBLING = "620821"  # 泾川县
SIBLING_SITE = "JC01"
EPISODE_DAY = date(2026, 2, 12)
EPISODE_HOURS = (10, 11, 12)


def _obs(dev: int, t: datetime, code: str, value: str) -> dict[str, Any]:
    return {
        "device_id": dev,
        "resolution": int(Resolution.HOUR),
        "data_time": t,
        "code": code,
        "value": value,
        "vmin": None,
        "vmax": None,
        "cou": None,
        "zs": None,
        "flag": "N",
        "derived": False,
        "samples": None,
    }


def _outlet_rows(engine: Engine) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A gas outlet with an SO2 (a21026) hourly limit: a day at half the limit, three hours
    at 1.5 × the limit (O2 at the limit's reference content, so compared = measured)."""
    with session_scope(engine) as s:
        day = EPISODE_DAY
        found = None
        for site_id, lims in sorted(limits_by_site(s, day).items()):
            for lim in lims:
                if lim.pollutant == "a21026" and lim.basis == Basis.HOUR:
                    found = (site_id, lim)
                    break
            if found:
                break
        assert found is not None, "the demo has a gas outlet with an SO2 hourly limit"
        site_id, lim = found
        site = s.get(Site, site_id)
        assert site is not None and site.enterprise is not None
        dev = s.scalar(select(Device.id).where(Device.site_id == site_id, Device.active))
        assert dev is not None
        info = {
            "site_id": site_id,
            "enterprise_id": site.enterprise_id,
            "outlet": site.code,
            "enterprise": site.enterprise.name,
            "limit": lim.upper,
            "o2": lim.o2_ref,
        }
    rows: list[dict[str, Any]] = []
    limit = lim.upper
    for h in range(24):
        t = datetime.combine(EPISODE_DAY, datetime.min.time()) + timedelta(hours=h)
        v = limit * Decimal("1.5") if h in EPISODE_HOURS else limit / 2
        rows.append(_obs(dev, t, "a21026", str(v)))
        if info["o2"] is not None:
            rows.append(_obs(dev, t, "a19001", str(info["o2"])))
        rows.append(_obs(dev, t, "a00000", "10"))
    info["peak"] = limit * Decimal("1.5")
    return info, rows


def seed(engine: Engine) -> dict[str, Any]:
    d = load_district()
    ids = demo_loader.load_registry(engine, d)
    keep = set(AIR_SITES) | {s.id for s in d.sections}
    rows: list[dict[str, Any]] = []
    for a, b in (
        (datetime(2025, 2, 1), datetime(2025, 2, 17)),
        (datetime(2026, 1, 20), datetime(2026, 3, 2)),
    ):
        res = generate(d, a, b, kinds=("air", "micro", "section"))
        rows += demo_loader.result_rows(res, ids, keep)
    with session_scope(engine) as s:
        aq03 = s.scalar(
            select(Device.id).join(Site, Site.id == Device.site_id).where(Site.code == "AQ03")
        )
        site = Site(
            code=SIBLING_SITE,
            name="泾川县城站",
            kind="air_station",
            region_code=SIBLING,
            control_level="国控",
            longitude=Decimal("107.36"),
            latitude=Decimal("35.33"),
        )
        s.add(site)
        s.flush()
        dev = Device(
            mn="62082101000199A9C7E3B21F",
            pw="123456",
            st="22",
            site_id=site.id,
            active=True,
            created_at=datetime(2025, 1, 1),
        )
        s.add(dev)
        s.flush()
        sibling_dev = dev.id
        deployment.set_target(
            s,
            "620802",
            "pm2_5",
            "40",
            "μg/m³",
            year_from=2026,
            comparison="at_most",
            source="测试用 PM2.5 年均浓度目标",
        )
    rows += [
        {**r, "device_id": sibling_dev}
        for r in rows
        if r["device_id"] == aq03 and r["data_time"] >= datetime(2026, 1, 1)
    ]
    outlet, orow = _outlet_rows(engine)
    demo_loader.ingest_rows(engine, rows + orow)
    recompute_all(session_factory(engine))
    _episodes(engine, outlet)
    return {"outlet": outlet}


def _episodes(engine: Engine, outlet: dict[str, Any]) -> None:
    """Stored alarm episodes as the detection leaves them: the 02-12 exceedance (confirmed),
    a 离线 episode of the same outlet from 01-25 still open, one that ended in January."""
    t0 = datetime(2026, 2, 12, 10)
    stamp = datetime(2026, 2, 13)

    def ep(kind: str, start: datetime, end: datetime | None, **kw: Any) -> SourceEpisode:
        return SourceEpisode(
            site_id=outlet["site_id"], enterprise_id=outlet["enterprise_id"], kind=kind,
            started_at=start, last_at=start, ended_at=end, periods=kw.pop("periods", 1),
            detected_at=stamp, updated_at=stamp, **kw,
        )  # fmt: skip

    with session_scope(engine) as s:
        s.add_all(
            [
                ep("exceedance", t0, t0 + timedelta(hours=3), periods=3, pollutant="a21026",
                   basis="小时均值", peak_value="300.00", limit_value="200.0", unit="mg/m³",
                   status="closed", confirmed_name="张三", confirm_note="窑尾脱硫检修，已复测达标",
                   confirmed_at=stamp),
                ep("offline", datetime(2026, 1, 25, 8), None, status="open"),
                ep("offline", datetime(2026, 1, 10, 8), datetime(2026, 1, 11), status="closed"),
            ]
        )  # fmt: skip
