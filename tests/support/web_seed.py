"""A small district for the web tests: 5 sites, 5 devices, two days of data, 8 users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from qingshan.roles import CLI
from qingshan.services import deployment, permits
from qingshan.services.accounts import create_user
from qingshan.storage.models import (
    Device,
    Enterprise,
    Observation,
    Quarantine,
    Region,
    Resolution,
    Site,
)
from qingshan.storage.models_registry import OrgUnit

PASSWORD = "correct-horse-1"
ROLE_USERS = {
    "admin": {},
    "staff": {},
    "unit": {"unit": "水务局"},
    "unit2": {"unit": "自然资源局"},
    "grid": {},
    "ent1": {},
    "ent2": {},
    "leader": {},
}


SO2_LIMIT = "300"  # mg/m³, the SO2 limit of a coal-fired boiler (GB 13271-2014 表2)
# A square around the seeded sites (WGS-84), recorded as the district's outline.
OUTLINE = {
    "type": "Polygon",
    "coordinates": [[[106.5, 35.4], [106.9, 35.4], [106.9, 35.7], [106.5, 35.7], [106.5, 35.4]]],
}
TARGET_SOURCE = "崆峒区“十四五”生态环境保护规划 主要指标：中心城区空气质量优良天数比率 96.7%"


def seed(s: Session) -> dict[str, int]:
    now_utc = datetime.now(UTC).replace(tzinfo=None)
    now_cst = now_utc + timedelta(hours=8)
    hour = now_cst.replace(minute=0, second=0, microsecond=0)
    s.add(Region(code="620802", name="崆峒区", level="county"))
    s.flush()
    deployment.set_own_region(s, "620802")
    deployment.set_boundary(s, "620802", OUTLINE, source="test outline")
    deployment.set_target(
        s, "620802", "good_day_ratio", "96.7", "%", year_from=2021, source=TARGET_SOURCE
    )
    e1 = Enterprise(name="甲化工有限公司", credit_code="91620802000000001A", region_code="620802")
    e2 = Enterprise(name="乙水泥有限公司", credit_code="91620802000000002B", region_code="620802")
    s.add_all([e1, e2])
    s.flush()
    so2_mn, so2_limit = "62080212100188E63126B9C3", float(SO2_LIMIT)
    sites = {
        "air": Site(
            code="A01",
            name="城区监测站",
            kind="air_station",
            region_code="620802",
            longitude=106.68,
            latitude=35.54,
            control_level="国控",
        ),
        "micro": Site(
            code="M01",
            name="东关微站",
            kind="air_station",
            region_code="620802",
            longitude=106.70,
            latitude=35.55,
            control_level="微站",
        ),
        "water": Site(
            code="WS01",
            name="泾河八里桥",
            kind="surface_water_section",
            region_code="620802",
            longitude=106.715,
            latitude=35.542,
            control_level="省控",
            water_body="river",
            water_body_name="泾河",
            target_class="Ⅲ",
        ),
        "out1": Site(
            code="E1-DA001",
            name="甲化工 1#排气筒",
            kind="enterprise_outlet",
            region_code="620802",
            longitude=106.80,
            latitude=35.50,
            enterprise_id=e1.id,
            outlet_medium="gas",
        ),
        "out2": Site(
            code="E2-DW001",
            name="乙水泥 废水总排口",
            kind="enterprise_outlet",
            region_code="620802",
            longitude=106.60,
            latitude=35.45,
            enterprise_id=e2.id,
            outlet_medium="water",
        ),
    }
    s.add_all(sites.values())
    s.flush()
    mns = {
        "air": "620802010001AAAAAAAAAAAA",
        "micro": "620802090001BBBBBBBBBBBB",
        "water": "620802020001CCCCCCCCCCCC",
        "out1": so2_mn,
        "out2": "620802110002DDDDDDDDDDDD",
    }
    devs: dict[str, Device] = {}
    for key, site in sites.items():
        seen = now_utc - (timedelta(hours=3) if key == "out2" else timedelta(minutes=2))
        devs[key] = Device(
            mn=mns[key],
            pw="123456",
            st="22",
            edition="2017",
            encoding="gbk",
            site_id=site.id,
            active=True,
            created_at=now_utc - timedelta(days=5),
            last_seen_at=seen,
        )
    s.add_all(devs.values())
    s.flush()
    permit = permits.save_permit(
        s,
        enterprise_id=e1.id,
        number="91620802000000001A001P",
        management_class="重点管理",
        valid_from=(now_cst - timedelta(days=365)).date(),
        valid_to=(now_cst + timedelta(days=365)).date(),
    )
    permits.replace_limits(
        s,
        permit,
        [
            permits.LimitSpec(
                site_id=sites["out1"].id,
                pollutant="a21026",
                limit=SO2_LIMIT,
                unit="mg/m³",
                basis=permits.Basis.HOUR,
                standard="GB 13271-2014 锅炉大气污染物排放标准",
                source_table="表2（燃煤锅炉）",
                o2_ref="9",
            )
        ],
    )
    rows: list[Observation] = []
    air = {
        "a21026": "8",
        "a21004": "30",
        "a21005": "0.6",
        "a05024": "80",
        "a34002": "160",
        "a34004": "60",
    }
    for h in range(48):
        t = hour - timedelta(hours=h)
        for key in ("air", "micro"):
            for code, v in air.items():
                flag = "M" if (h == 5 and code == "a34002") else "N"
                rows.append(
                    Observation(
                        device_id=devs[key].id,
                        resolution=int(Resolution.HOUR),
                        data_time=t,
                        code=code,
                        value=v,
                        flag=flag,
                        derived=False,
                    )
                )
        rows.append(
            Observation(
                device_id=devs["out1"].id,
                resolution=int(Resolution.HOUR),
                data_time=t,
                code="a21026",
                value=f"{so2_limit * (1.5 if h == 0 else 0.5):.2f}",
                flag="N",
                derived=False,
            )
        )
        rows.append(
            Observation(
                device_id=devs["out2"].id,
                resolution=int(Resolution.HOUR),
                data_time=t,
                code="w01018",
                value="35.0",
                flag="N",
                derived=False,
            )
        )
    for m in range(0, 120, 10):
        t = now_cst.replace(second=0, microsecond=0) - timedelta(minutes=m)
        t = t.replace(minute=t.minute - t.minute % 10)
        rows.append(
            Observation(
                device_id=devs["air"].id,
                resolution=int(Resolution.MINUTE),
                data_time=t,
                code="a34004",
                value="55",
                flag="N",
                derived=False,
            )
        )
    water = {"w01001": "7.8", "w01009": "7.5", "w01019": "3.2", "w21003": "0.4", "w21011": "0.08"}
    for h in range(0, 48, 4):  # automatic water station: a sample every 4 hours
        t = hour - timedelta(hours=h)
        for code, v in water.items():
            rows.append(
                Observation(
                    device_id=devs["water"].id,
                    resolution=int(Resolution.HOUR),
                    data_time=t,
                    code=code,
                    value=v,
                    flag="N",
                    derived=False,
                )
            )
    s.add_all(rows)
    s.add(
        Quarantine(
            received_at=now_utc,
            peer="10.0.0.9:5000",
            mn=so2_mn,
            reason="bad_crc",
            detail="CRC mismatch",
            raw=b"##0101QN=1;ST=22;CN=2011;PW=123456;MN=" + so2_mn.encode() + b";CP=&&&&ABCD\r\n",
        )
    )
    s.add(
        Quarantine(
            received_at=now_utc,
            peer="10.0.0.8:5000",
            mn=mns["out2"],
            reason="bad_password",
            detail="wrong PW",
            raw=b"##0101QN=2;PW=999999\r\n",
        )
    )
    # the 责任单位 the unit users belong to (web_user.unit refers to org_unit)
    s.add_all(OrgUnit(code=u, name=u, kind="department") for u in ("水务局", "自然资源局"))
    s.flush()
    ids: dict[str, int] = {f"site_{k}": v.id for k, v in sites.items()}
    ids.update({"ent1": e1.id, "ent2": e2.id})
    for name, extra in ROLE_USERS.items():
        role = {"unit2": "unit", "ent1": "enterprise", "ent2": "enterprise"}.get(name, name)
        ent = {"ent1": e1.id, "ent2": e2.id}.get(name)
        u = create_user(
            s, CLI, username=name, password=PASSWORD, role=role, enterprise_id=ent, **extra
        )
        ids[f"user_{name}"] = u.id
    return ids


MNS = {"out2": "620802110002DDDDDDDDDDDD", "air": "620802010001AAAAAAAAAAAA"}
