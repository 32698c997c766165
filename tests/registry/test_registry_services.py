"""The registry services on SQLite and PostgreSQL: validated create / update / list, the
change record, and every kind of bad input refused with a clear message and nothing written."""

from __future__ import annotations

import json
from datetime import date

import pytest
from reghelpers import CHEM, OUTLINE, STEEL
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from qingshan.roles import CLI
from qingshan.services import accounts, deployment
from qingshan.services.registry import enterprises, permits, regions, sites, units
from qingshan.services.registry.common import RegistryConflict, RegistryError
from qingshan.storage.db import session_scope
from qingshan.storage.models import Enterprise, Region, Site
from qingshan.storage.models_registry import OrgUnit, PermitLimit
from qingshan.storage.models_web import AuditEntry


def _base(s: Session) -> None:
    regions.create_region(s, CLI, regions.RegionRecord("620000", "甘肃省"))
    regions.create_region(s, CLI, regions.RegionRecord("620200", "嘉峪关市", "620000"))
    regions.create_region(s, CLI, regions.RegionRecord("620201100", "新城镇", "620200"))


def _enterprise(credit: str = STEEL, **kw: object) -> enterprises.EnterpriseRecord:
    fields: dict[str, object] = dict(
        credit_code=credit,
        name="嘉峪关某钢铁有限公司",
        region_code="620200",
        industry_code="C3120",
        industry="炼钢",
        control_level="国控",
        permit_class="重点管理",
        key_discharger=True,
        longitude="98.30",
        latitude="39.80",
        address="嘉峪关市雄关东路",
        legal_representative="张三",
        env_contact="李四",
        contact_phone="0937-0000000",
    )
    fields.update(kw)
    return enterprises.EnterpriseRecord(**fields)  # type: ignore[arg-type]


def _outlet(**kw: object) -> sites.SiteRecord:
    fields: dict[str, object] = dict(
        code="JYG-E1/DA001",
        name="烧结机头排放口",
        kind="enterprise_outlet",
        region_code="620200",
        longitude="98.301",
        latitude="39.801",
        enterprise=STEEL,
        outlet_medium="废气",
        control_level="国控",
    )
    fields.update(kw)
    return sites.SiteRecord(**fields)  # type: ignore[arg-type]


def _audit(engine: Engine) -> list[tuple[str, str, str | None]]:
    with session_scope(engine) as s:
        return [
            (a.entity, a.action, a.entity_id)
            for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_create_update_list_and_the_change_record(engine: Engine) -> None:
    with session_scope(engine) as s:
        _base(s)
        regions.set_boundary(s, CLI, "620200", OUTLINE, source="测试轮廓")
        regions.set_own_region(s, CLI, "620200")
        units.create_unit(s, CLI, units.UnitRecord("SHJJ", "嘉峪关市生态环境局", "部门", "620200"))
        units.create_unit(
            s, CLI, units.UnitRecord("XCZ", "新城镇人民政府", "乡镇（街道）", "620201100", "SHJJ")
        )
        enterprises.create_enterprise(s, CLI, _enterprise())
        sites.create_site(s, CLI, _outlet())
        sites.create_site(
            s,
            CLI,
            sites.SiteRecord(
                "JYG-W1",
                "讨赖河断面",
                "地表水监测断面",
                "620200",
                "98.25",
                "39.75",
                control_level="国控",
                water_body="河流",
                water_body_name="讨赖河",
                target_class="Ⅱ类",
            ),
        )
        p, outcome = permits.save_permit(
            s, CLI, permits.PermitRecord("91620200PERMIT001P", STEEL, "重点管理", date(2024, 1, 1))
        )
        assert outcome == "created"
        permits.save_limits(
            s,
            CLI,
            p.number,
            [
                permits.LimitRecord(
                    "JYG-E1/DA001",
                    "a21026",
                    "50",
                    "mg/m³",
                    "小时均值",
                    "GB 28662-2012",
                    o2_ref="16",
                )
            ],
        )
        permits.save_annual_amounts(
            s, CLI, p.number, [permits.AmountRecord("a21026", 2026, "120.5")]
        )
    with session_scope(engine) as s:
        own = deployment.own_region(s)
        assert own is not None and (own.code, own.level, own.recorded) == ("620200", "city", True)
        assert [r.code for r in regions.list_regions(s, under="6202")] == ["620200", "620201100"]
        assert [u.code for u in units.list_units(s, kind="township")] == ["XCZ"]
        e = enterprises.list_enterprises(s, CLI)[0]
        assert (e.credit_code, e.control_level, e.permit_class, e.key_discharger) == (
            STEEL,
            "国控",
            "重点管理",
            True,
        )
        assert (str(e.longitude), str(e.latitude)) == ("98.300000", "39.800000")
        listed = {x.code: (x.kind, c) for x, c in sites.list_sites(s)}
        assert listed == {
            "JYG-E1/DA001": ("enterprise_outlet", STEEL),
            "JYG-W1": ("surface_water_section", None),
        }
        w = s.scalar(select(Site).where(Site.code == "JYG-W1"))
        assert w is not None and (w.water_body, w.target_class) == ("river", "II")
        # an update changes what is given and records before/after; repeating it records nothing
        enterprises.update_enterprise(s, CLI, _enterprise(env_contact="王五"))
        enterprises.update_enterprise(s, CLI, _enterprise(env_contact="王五"))
    log = _audit(engine)
    assert ("enterprise", "update", STEEL) in log
    assert sum(1 for x in log if x[0] == "enterprise") == 2  # create + one real update
    assert {x[0] for x in log} >= {
        "region",
        "region_boundary",
        "deployment",
        "org_unit",
        "enterprise",
        "site",
        "permit",
        "permit_limits",
        "permit_annual_amounts",
    }
    with session_scope(engine) as s:
        entry = s.scalar(
            select(AuditEntry).where(
                AuditEntry.entity == "enterprise", AuditEntry.action == "update"
            )
        )
        assert entry is not None and entry.username == "cli"
        assert json.loads(entry.before or "")["env_contact"] == "李四"
        assert json.loads(entry.after or "")["env_contact"] == "王五"


def _refused(engine: Engine, action: object, message: str, field: str | None = None) -> None:
    before = _counts(engine)
    with pytest.raises(RegistryError) as info, session_scope(engine) as s:
        action(s)  # type: ignore[operator]
    assert message in str(info.value), str(info.value)
    if field is not None:
        assert info.value.field == field
    assert _counts(engine) == before  # nothing written


def _counts(engine: Engine) -> tuple[int, ...]:
    with session_scope(engine) as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m)) or 0
            for m in (Region, OrgUnit, Enterprise, Site, PermitLimit, AuditEntry)
        )


def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(engine: Engine) -> None:
    with session_scope(engine) as s:
        _base(s)
        enterprises.create_enterprise(s, CLI, _enterprise())
        sites.create_site(s, CLI, _outlet())
        permits.save_permit(
            s, CLI, permits.PermitRecord("P-1", STEEL, "重点管理", date(2024, 1, 1))
        )
    cases = [
        (
            lambda s: regions.create_region(s, CLI, regions.RegionRecord("620281", "X", "629900")),
            "上级区划 629900 不存在",
            "parent_code",
        ),
        (
            lambda s: regions.create_region(s, CLI, regions.RegionRecord("620200", "重复")),
            "已存在",
            "code",
        ),
        (
            lambda s: regions.create_region(
                s, CLI, regions.RegionRecord("620802", "崆峒区", "620200")
            ),
            "不在上级区划",
            "parent_code",
        ),
        (
            lambda s: units.create_unit(s, CLI, units.UnitRecord("U1", "某局", "部门", "629900")),
            "所属区划 629900 不存在",
            "region_code",
        ),
        (
            lambda s: units.create_unit(s, CLI, units.UnitRecord("U1", "某局", "处室")),
            "单位类别",
            "kind",
        ),
        (
            lambda s: units.create_unit(
                s, CLI, units.UnitRecord("U1", "某局", "部门", parent_code="NONE")
            ),
            "上级单位 NONE 不存在",
            "parent_code",
        ),
        (
            lambda s: enterprises.create_enterprise(
                s, CLI, _enterprise(credit_code=STEEL[:-1] + ("0" if STEEL[-1] != "0" else "1"))
            ),
            "校验码错误",
            "credit_code",
        ),
        (lambda s: enterprises.create_enterprise(s, CLI, _enterprise()), "已登记", "credit_code"),
        (
            lambda s: enterprises.create_enterprise(
                s, CLI, _enterprise(CHEM, region_code="629900")
            ),
            "所在区划 629900 不存在",
            "region_code",
        ),
        (
            lambda s: enterprises.create_enterprise(
                s, CLI, _enterprise(CHEM, control_level="国家级")
            ),
            "重点源级别",
            "control_level",
        ),
        (
            lambda s: enterprises.create_enterprise(s, CLI, _enterprise(CHEM, longitude="8.3")),
            "不在中国境内",
            "longitude",
        ),
        (
            lambda s: enterprises.create_enterprise(s, CLI, _enterprise(CHEM, latitude=None)),
            "须同时填写",
            "latitude",
        ),
        (lambda s: sites.create_site(s, CLI, _outlet()), "已存在", "code"),
        (
            lambda s: sites.create_site(
                s, CLI, _outlet(code="X1", longitude="39.8", latitude="98.3")
            ),
            "填反",
            "longitude",
        ),
        (
            lambda s: sites.create_site(
                s,
                CLI,
                _outlet(
                    code="X1",
                    kind="air_station",
                    enterprise=None,
                    outlet_medium=None,
                    noise_zone="1",
                ),
            ),
            "声环境功能区只适用于声环境质量监测点",
            "noise_zone",
        ),
        (
            lambda s: sites.create_site(
                s, CLI, _outlet(code="X1", kind="air_station", outlet_medium=None)
            ),
            "所属企业统一社会信用代码只适用于排放口",
            "enterprise",
        ),
        (
            lambda s: sites.create_site(s, CLI, _outlet(code="X1", outlet_medium=None)),
            "须填写类别",
            "outlet_medium",
        ),
        (
            lambda s: sites.create_site(s, CLI, _outlet(code="X1", enterprise=CHEM)),
            f"所属企业 {CHEM} 未登记",
            "enterprise",
        ),
        (lambda s: sites.create_site(s, CLI, _outlet(code="X1", kind="水站")), "点位类型", "kind"),
        (
            lambda s: permits.save_limits(
                s,
                CLI,
                "P-1",
                [
                    permits.LimitRecord(
                        "JYG-E1/DA001", "a21026", "50", "", "小时均值", "GB 28662-2012"
                    )
                ],
            ),
            "须填写单位",
            "unit",
        ),
        (
            lambda s: permits.save_limits(
                s,
                CLI,
                "P-1",
                [permits.LimitRecord("JYG-E1/DA001", "a21026", "50", "mg/m³", "", "GB 28662-2012")],
            ),
            "须填写均值类型",
            "basis",
        ),
        (
            lambda s: permits.save_limits(
                s,
                CLI,
                "P-1",
                [
                    permits.LimitRecord(
                        "JYG-E1/DA001", "SO2", "50", "mg/m³", "小时均值", "GB 28662-2012"
                    )
                ],
            ),
            "HJ 212-2017",
            "pollutant",
        ),
        (
            lambda s: permits.save_permit(
                s, CLI, permits.PermitRecord("P-2", CHEM, "重点管理", date(2024, 1, 1))
            ),
            "未登记",
            "enterprise",
        ),
    ]
    for action, message, field in cases:
        _refused(engine, action, message, field)


def test_duplicate_is_a_conflict(engine: Engine) -> None:
    with session_scope(engine) as s:
        _base(s)
    with pytest.raises(RegistryConflict), session_scope(engine) as s:
        regions.create_region(s, CLI, regions.RegionRecord("620000", "甘肃省"))


def test_unit_users_belong_to_registered_units(engine: Engine) -> None:
    with session_scope(engine) as s:
        _base(s)
        units.create_unit(s, CLI, units.UnitRecord("SWJ", "嘉峪关市水务局", "department"))
        u = accounts.create_user(
            s, CLI, username="shui", password="long-enough-pw", role="unit", unit="SWJ"
        )
        assert u.unit == "SWJ"
    with pytest.raises(accounts.AccountError, match="未知的责任单位"), session_scope(engine) as s:
        accounts.create_user(
            s, CLI, username="other", password="long-enough-pw", role="unit", unit="交通局"
        )
