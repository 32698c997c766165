"""The registry workbook: one sheet per entity, Chinese headers, every field of the registry.

``export`` writes the database's registry as a workbook, ``template`` the same sheets empty,
and ``validate`` / ``apply`` read one back (through :mod:`qingshan.services.excel_import`, so
nothing is half-imported) and write every row through the registry services — the same
checks and change records as the command line and the web. Rows are matched by their natural
keys (region code, unit code, 统一社会信用代码, site code, MN, permit number …): importing a
workbook again updates instead of duplicating, and export → import into an empty database →
export gives the same cells.

Sheets, in the order they are written (a row may refer to rows of earlier sheets, and within
行政区划 and 责任单位 to its parent anywhere in the same sheet): 行政区划, 区划边界, 本级区划,
责任单位, 企业, 点位, 设备, 排污许可证, 许可限值, 年许可排放量, 考核目标.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services import deployment
from qingshan.services.excel_import import (
    Column,
    Context,
    ParsedSheet,
    Plan,
    Report,
    Row,
    SheetSpec,
    run_in,
    write_workbook,
)
from qingshan.services.excel_import import (
    apply as apply_plan,
)
from qingshan.services.excel_import import (
    validate as validate_plan,
)
from qingshan.services.registry import devices as dev
from qingshan.services.registry import permits as reg_permits
from qingshan.services.registry.common import RegistryError, decimal_text
from qingshan.services.registry.enterprises import EnterpriseRecord, save_enterprise
from qingshan.services.registry.regions import (
    RegionRecord,
    TargetRecord,
    geometry_from_geojson,
    save_region,
    save_target,
    set_boundary,
    set_own_region,
)
from qingshan.services.registry.rules import LEVEL_LABELS
from qingshan.services.registry.sites import (
    KIND_LABELS,
    MEDIA,
    SOURCE_TYPES,
    WATER_BODIES,
    SiteRecord,
    save_site,
)
from qingshan.services.registry.units import UNIT_KIND_LABELS, UnitRecord, save_unit
from qingshan.storage.db import READONLY, session_scope
from qingshan.storage.models import (
    Device,
    DeviceFactor,
    DeviceGroup,
    Enterprise,
    Region,
    Site,
)
from qingshan.storage.models_registry import (
    Deployment,
    IndicatorTarget,
    OrgUnit,
    Permit,
    PermitAnnualAmount,
    PermitLimit,
    RegionBoundary,
)

CLIENT = "import"
SEGMENT = 30_000  # characters of GeoJSON per cell (Excel holds at most 32 767)
COMPARISON_LABELS = {"at_least": "不低于", "at_most": "不高于"}
STATUS_LABELS = {True: "在用", False: "停用"}
_LIST_SPLIT = re.compile(r"[\s,，;；、]+")


def _c(key: str, header: str, kind: str = "text", *, req: bool = False, alias: str = "") -> Column:
    aliases = tuple(a for a in alias.split("|") if a)
    return Column(key, header, kind, req, aliases)


REGIONS = SheetSpec(
    "行政区划",
    (
        _c("code", "区划代码", req=True, alias="行政区划代码|代码"),
        _c("name", "区划名称", req=True, alias="名称"),
        _c("level", "级别", alias="区划级别"),
        _c("parent_code", "上级区划代码", alias="上级代码"),
    ),
    key=("code",),
    title=(
        "行政区划：GB/T 2260 代码（6 位），乡级用统计用区划代码（9 位）；级别可留空（按代码推断）"
    ),
)
BOUNDARIES = SheetSpec(
    "区划边界",
    (
        _c("region_code", "区划代码", req=True),
        _c("segment", "段号", "int", alias="分段"),
        _c("geometry", "边界（GeoJSON）", req=True, alias="边界|GeoJSON|几何"),
        _c("source", "来源", alias="数据来源"),
    ),
    key=("region_code", "segment"),
    aliases=("边界",),
    title="区划边界：GeoJSON Polygon/MultiPolygon，WGS-84；超过 30000 字符的按段号分行续写",
)
OWN = SheetSpec(
    "本级区划",
    (
        _c("region_code", "本级区划代码", req=True, alias="区划代码"),
        _c("data_notice", "报告说明", alias="数据说明"),
    ),
    key=("region_code",),
    aliases=("部署",),
    title="本级区划：本系统服务的区县（或不设区的市）；驾驶舱、一张图和报告只显示它",
)
UNITS = SheetSpec(
    "责任单位",
    (
        _c("code", "单位代码", req=True, alias="代码|统一社会信用代码"),
        _c("name", "单位名称", req=True, alias="名称"),
        _c("kind", "单位类别", req=True, alias="类别"),
        _c("region_code", "所属区划代码", alias="区划代码"),
        _c("parent_code", "上级单位代码"),
        _c("contact", "联系人"),
        _c("phone", "联系电话", alias="电话"),
    ),
    key=("code",),
    title="责任单位：类别为 部门、乡镇（街道）、园区 或 县（区）",
)
ENTERPRISES = SheetSpec(
    "企业",
    (
        _c("credit_code", "统一社会信用代码", req=True, alias="信用代码"),
        _c("name", "企业名称", req=True, alias="单位名称|排污单位名称"),
        _c("region_code", "所在区划代码", req=True, alias="区划代码"),
        _c("industry_code", "行业代码", alias="国民经济行业代码"),
        _c("industry", "行业类别", alias="行业|行业名称"),
        _c("control_level", "重点源级别", alias="监管级别|控制级别"),
        _c("permit_class", "排污许可管理类别", alias="管理类别"),
        _c("key_discharger", "重点排污单位", "bool"),
        _c("longitude", "经度"),
        _c("latitude", "纬度"),
        _c("address", "地址", alias="生产经营场所地址"),
        _c("legal_representative", "法定代表人"),
        _c("env_contact", "环保负责人", alias="环保联系人"),
        _c("contact_phone", "联系电话", alias="电话"),
    ),
    key=("credit_code",),
    aliases=("企业名录", "排污单位"),
    title=(
        "企业（一企一档）：重点源级别 国控/省控/市控/区控/县控；管理类别 重点管理/简化管理/登记管理"
    ),
)
SITES = SheetSpec(
    "点位",
    (
        _c("code", "点位编码", req=True, alias="编码|点位代码"),
        _c("name", "点位名称", req=True, alias="名称"),
        _c("kind", "点位类型", req=True, alias="类型"),
        _c("region_code", "所在区划代码", req=True, alias="区划代码"),
        _c("longitude", "经度", req=True),
        _c("latitude", "纬度", req=True),
        _c("control_level", "控制级别"),
        _c("water_body", "水体类型"),
        _c("water_body_name", "所在水体", alias="河流（湖库）"),
        _c("target_class", "水质目标"),
        _c("source_level", "水源地级别"),
        _c("source_type", "水源类型"),
        _c("noise_zone", "声环境功能区"),
        _c("enterprise", "所属企业统一社会信用代码", alias="企业统一社会信用代码"),
        _c("outlet_medium", "排放口类别", alias="排放类别"),
    ),
    key=("code",),
    aliases=("点位排放口", "点位/排放口", "排放口"),
    title="点位/排放口：坐标为 WGS-84 十进制度；排放口须填所属企业和类别（废气/废水）",
)
DEVICES = SheetSpec(
    "设备",
    (
        _c("mn", "设备编号（MN）", req=True, alias="MN|设备编号"),
        _c("pw", "访问密码（PW）", req=True, alias="PW|访问密码"),
        _c("st", "系统编码（ST）", req=True, alias="ST|系统编码"),
        _c("edition", "协议版本", alias="HJ212版本"),
        _c("encoding", "字符编码"),
        _c("site", "点位编码", alias="所在点位编码"),
        _c("group", "设备组"),
        _c("sm4_key", "SM4密钥"),
        _c("minute_interval", "分钟数据间隔", "int"),
        _c("factors", "监测因子", alias="监测因子编码"),
        _c("status", "状态", alias="在用状态"),
        # last: workbooks filled by position before this column existed still read right
        _c("report_interval", "数据上报间隔（分钟）", "int", alias="上报间隔"),
    ),
    key=("mn",),
    aliases=("数采仪",),
    title="设备（数采仪）：本表含访问密码和密钥，请妥善保管；状态为 在用 或 停用",
)
PERMITS = SheetSpec(
    "排污许可证",
    (
        _c("number", "许可证编号", req=True, alias="证书编号"),
        _c("enterprise", "统一社会信用代码", req=True),
        _c("management_class", "管理类别", req=True),
        _c("valid_from", "有效期起", "date", req=True, alias="有效期自"),
        _c("valid_to", "有效期止", "date", alias="有效期至"),
        _c("note", "备注"),
    ),
    key=("number",),
    aliases=("许可证",),
    title="排污许可证：管理类别 重点管理/简化管理/登记管理；有效期止含当日，留空为长期",
)
LIMITS = SheetSpec(
    "许可限值",
    (
        _c("number", "许可证编号", req=True),
        _c("outlet", "排放口编码", req=True, alias="点位编码"),
        _c("pollutant", "污染物代码", req=True, alias="污染物编码"),
        _c("limit", "限值", req=True, alias="许可排放浓度限值"),
        _c("lower", "下限"),
        _c("unit", "单位", req=True),
        _c("basis", "均值类型", req=True, alias="取值时间"),
        _c("o2_ref", "基准含氧量（%）", alias="基准含氧量"),
        _c("standard", "执行标准", req=True),
        _c("source_table", "标准条款", alias="标准表号"),
    ),
    key=("number", "outlet", "pollutant", "basis"),
    title="许可限值：每张许可证的全部限值（重新导入时整表替换）；均值类型 小时均值/日均值",
)
AMOUNTS = SheetSpec(
    "年许可排放量",
    (
        _c("number", "许可证编号", req=True),
        _c("pollutant", "污染物代码", req=True),
        _c("year", "年度", "int", req=True),
        _c("amount", "许可排放量", req=True),
        _c("unit", "单位"),
    ),
    key=("number", "pollutant", "year"),
    title="年许可排放量：每张许可证的全部年度许可量（重新导入时整表替换），单位默认 t/a",
)
TARGETS = SheetSpec(
    "考核目标",
    (
        _c("region_code", "区划代码", req=True),
        _c("indicator", "指标代码", req=True, alias="指标"),
        _c("year_from", "起始年度", "int", req=True),
        _c("year_to", "截止年度", "int"),
        _c("value", "目标值", req=True),
        _c("unit", "单位", req=True),
        _c("comparison", "比较方式"),
        _c("source", "依据", req=True, alias="来源"),
    ),
    key=("region_code", "indicator", "year_from"),
    aliases=("规划目标",),
    title="考核目标：如 good_day_ratio（空气质量优良天数比率）；比较方式 不低于/不高于",
)

SHEETS = (
    REGIONS,
    BOUNDARIES,
    OWN,
    UNITS,
    ENTERPRISES,
    SITES,
    DEVICES,
    PERMITS,
    LIMITS,
    AMOUNTS,
    TARGETS,
)


# --------------------------------------------------------------------------- helpers


def _label(value: str | None, table: dict[str, str]) -> str | None:
    """Stored code → the Chinese label a ledger writes."""
    return None if value is None else table.get(value, value)


def _decimal_cell(v: Decimal | None) -> str | None:
    return None if v is None else decimal_text(v)


def _parents_first(rows: list[Row], key: str, parent: str) -> list[Row]:
    """Rows ordered so that a parent given in the same sheet comes before its children."""
    by_key = {r.values[key]: r for r in rows}
    done: set[Any] = set()
    out: list[Row] = []

    def visit(r: Row, path: set[Any]) -> None:
        k = r.values[key]
        if k in done or k in path:
            return
        p = r.values.get(parent)
        if p in by_key and p != k:
            visit(by_key[p], path | {k})
        done.add(k)
        out.append(r)

    for r in rows:
        visit(r, set())
    return out


def _factors(text: str | None) -> list[str]:
    return sorted({c for c in _LIST_SPLIT.split(text or "") if c})


# --------------------------------------------------------------------------- import


def _plan(actor: Principal) -> Plan:
    def regions(ctx: Context, sheet: ParsedSheet) -> None:
        levels = {v: k for k, v in LEVEL_LABELS.items()}
        for row in _parents_first(sheet.rows, "code", "parent_code"):
            v = row.values
            level = v["level"]
            rec = RegionRecord(
                code=v["code"],
                name=v["name"],
                parent_code=v["parent_code"],
                level=levels.get(level, level) if level else None,
            )
            ctx.row(row, REGIONS, save_region, ctx.session, actor, rec, client=CLIENT)

    def boundaries(ctx: Context, sheet: ParsedSheet) -> None:
        parts: dict[str, list[Row]] = defaultdict(list)
        for row in sheet.rows:
            parts[row.values["region_code"]].append(row)
        for code, rows in parts.items():
            rows.sort(key=lambda r: r.values["segment"] or 1)
            raw = "".join(r.values["geometry"] for r in rows)
            source = next((r.values["source"] for r in rows if r.values["source"]), None)

            def write(code: str = code, raw: str = raw, source: str | None = source) -> str:
                geom = geometry_from_geojson(raw, f"区划 {code} 的边界")
                return set_boundary(ctx.session, actor, code, geom, source=source, client=CLIENT)

            if ctx.row(rows[0], BOUNDARIES, write):
                # continuation segments count as unchanged rows
                ctx.report.counts[BOUNDARIES.name].unchanged += len(rows) - 1

    def own(ctx: Context, sheet: ParsedSheet) -> None:
        if len(sheet.rows) > 1:
            ctx.report.add(OWN.name, sheet.rows[1].number, None, "本级区划只能填写一行")
            return
        for row in sheet.rows:
            v = row.values
            ctx.row(
                row,
                OWN,
                set_own_region,
                ctx.session,
                actor,
                v["region_code"],
                data_notice=v["data_notice"],
                client=CLIENT,
            )

    def units(ctx: Context, sheet: ParsedSheet) -> None:
        for row in _parents_first(sheet.rows, "code", "parent_code"):
            rec = UnitRecord(**row.values)
            ctx.row(row, UNITS, save_unit, ctx.session, actor, rec, client=CLIENT)

    def enterprises(ctx: Context, sheet: ParsedSheet) -> None:
        for row in sheet.rows:
            v = dict(row.values)
            v["key_discharger"] = bool(v["key_discharger"])
            rec = EnterpriseRecord(**v)
            ctx.row(
                row,
                ENTERPRISES,
                save_enterprise,
                ctx.session,
                actor,
                rec,
                client=CLIENT,
            )

    def sites(ctx: Context, sheet: ParsedSheet) -> None:
        for row in sheet.rows:
            rec = SiteRecord(**row.values)
            ctx.row(row, SITES, save_site, ctx.session, actor, rec, client=CLIENT)

    def devices(ctx: Context, sheet: ParsedSheet) -> None:
        for row in sheet.rows:
            ctx.row(row, DEVICES, _save_device, ctx.session, actor, row.values)

    def permits_(ctx: Context, sheet: ParsedSheet) -> None:
        for row in sheet.rows:
            rec = reg_permits.PermitRecord(**row.values)
            ctx.row(
                row,
                PERMITS,
                reg_permits.save_permit,
                ctx.session,
                actor,
                rec,
                client=CLIENT,
            )

    def limits(ctx: Context, sheet: ParsedSheet) -> None:
        # every row is checked on its own (its problems name its row), then each permit's
        # rows are written as its whole table, as a re-issued permit replaces its table
        tables: dict[str, list[tuple[Row, reg_permits.LimitRecord]]] = defaultdict(list)
        for row in sheet.rows:
            v = dict(row.values)
            number = v.pop("number")
            rec = reg_permits.LimitRecord(**v)
            if ctx.row(row, LIMITS, _check_limit, ctx.session, number, rec, count=0):
                tables[number].append((row, rec))
        for number, rows in tables.items():
            recs = [r for _row, r in rows]
            ctx.row(
                rows[0][0],
                LIMITS,
                reg_permits.save_limits,
                ctx.session,
                actor,
                number,
                recs,
                client=CLIENT,
                count=len(rows),
            )

    def amounts(ctx: Context, sheet: ParsedSheet) -> None:
        tables: dict[str, list[tuple[Row, reg_permits.AmountRecord]]] = defaultdict(list)
        for row in sheet.rows:
            v = dict(row.values)
            number = v.pop("number")
            v["unit"] = v["unit"] or "t/a"
            rec = reg_permits.AmountRecord(**v)
            if ctx.row(row, AMOUNTS, _check_amount, ctx.session, number, rec, count=0):
                tables[number].append((row, rec))
        for number, rows in tables.items():
            ctx.row(
                rows[0][0],
                AMOUNTS,
                reg_permits.save_annual_amounts,
                ctx.session,
                actor,
                number,
                [r for _row, r in rows],
                client=CLIENT,
                count=len(rows),
            )

    def targets(ctx: Context, sheet: ParsedSheet) -> None:
        comparisons = {v: k for k, v in COMPARISON_LABELS.items()}
        for row in sheet.rows:
            v = dict(row.values)
            cmp = v.pop("comparison") or "at_least"
            rec = TargetRecord(**v, comparison=comparisons.get(cmp, cmp))
            ctx.row(row, TARGETS, save_target, ctx.session, actor, rec, client=CLIENT)

    return Plan(
        (
            (REGIONS, regions),
            (BOUNDARIES, boundaries),
            (OWN, own),
            (UNITS, units),
            (ENTERPRISES, enterprises),
            (SITES, sites),
            (DEVICES, devices),
            (PERMITS, permits_),
            (LIMITS, limits),
            (AMOUNTS, amounts),
            (TARGETS, targets),
        )
    )


def _permit(s: Session, number: str) -> Permit:
    p = reg_permits.permit_by_number(s, number)
    if p is None:
        raise RegistryError(f"许可证 {number} 未登记：先在「排污许可证」表中填写", "number")
    return p


def _check_limit(s: Session, number: str, rec: reg_permits.LimitRecord) -> str:
    reg_permits.check_limit(s, _permit(s, number), rec)
    return "unchanged"


def _check_amount(s: Session, number: str, rec: reg_permits.AmountRecord) -> str:
    reg_permits.check_amount(_permit(s, number), rec)
    return "unchanged"


def _device_state(s: Session, d: Device) -> dict[str, Any]:
    group = s.get(DeviceGroup, d.group_id) if d.group_id else None
    site = s.get(Site, d.site_id) if d.site_id else None
    links = s.scalars(select(DeviceFactor.code).where(DeviceFactor.device_id == d.id))
    return {
        "pw": d.pw,
        "st": d.st,
        "edition": d.edition,
        "encoding": d.encoding,
        "site": site.code if site else None,
        "group": group.name if group else None,
        "sm4_key": d.sm4_key,
        "minute_interval": d.minute_interval,
        "report_interval": d.report_interval,
        "active": d.active,
        "factors": sorted(links),
    }


def _save_device(s: Session, actor: Principal, v: dict[str, Any]) -> str:
    mn = v["mn"]
    status = v["status"] or STATUS_LABELS[True]
    if status not in STATUS_LABELS.values():
        raise RegistryError(f"状态 {status!r} 应为 在用 或 停用", "status")
    active = status == STATUS_LABELS[True]
    factors = _factors(v["factors"])
    for code in factors:
        if not re.fullmatch(r"[A-Za-z0-9-]{1,16}", code):
            raise RegistryError(f"监测因子编码 {code!r} 无效", "factors")
    existing = s.scalar(select(Device).where(Device.mn == mn))
    before = None if existing is None else _device_state(s, existing)
    edition = v["edition"] or "2017"
    encoding = v["encoding"] or "gbk"
    try:
        if existing is None or not existing.active:
            d = dev.register_device(
                s,
                actor,
                mn=mn,
                pw=v["pw"],
                st=v["st"],
                site=v["site"],
                edition=edition,
                encoding=encoding,
                group=v["group"],
                sm4_key=v["sm4_key"],
                minute_interval=v["minute_interval"],
                report_interval=v["report_interval"],
                client=CLIENT,
            ).device
            if not active:
                dev.update_device(s, actor, mn, active=False, client=CLIENT)
        else:
            d = existing
            wanted = {
                "pw": v["pw"],
                "st": v["st"],
                "edition": edition,
                "encoding": encoding,
                "site": v["site"],
                "group": v["group"],
                "sm4_key": (v["sm4_key"] or "").upper() or None,
                "minute_interval": v["minute_interval"],
                "report_interval": v["report_interval"],
                "active": active,
            }
            assert before is not None
            if any(before[k] != wanted[k] for k in wanted):
                dev.update_device(
                    s,
                    actor,
                    mn,
                    pw=v["pw"] if v["pw"] != before["pw"] else None,
                    st=v["st"],
                    site=v["site"] or "",
                    edition=edition,
                    encoding=encoding,
                    group=v["group"] or "",
                    sm4_key=(v["sm4_key"] or "")
                    if wanted["sm4_key"] != before["sm4_key"]
                    else None,
                    minute_interval=v["minute_interval"],
                    active=active,
                    client=CLIENT,
                    report_interval=v["report_interval"] or 0,  # empty cell: inferred
                )
                if v["minute_interval"] is None:
                    d.minute_interval = None
    except RegistryError as exc:
        if exc.field is None:
            raise RegistryError(str(exc), _device_field(str(exc))) from None
        raise
    have = set(s.scalars(select(DeviceFactor.code).where(DeviceFactor.device_id == d.id)))
    for code in have - set(factors):
        s.delete(s.get(DeviceFactor, (d.id, code)))
    s.add_all(DeviceFactor(device_id=d.id, code=c) for c in sorted(set(factors) - have))
    s.flush()
    after = _device_state(s, d)
    if before is None:
        return "created"
    return "unchanged" if before == after else "updated"


def _device_field(message: str) -> str | None:
    for word, field in (
        ("MN", "mn"),
        ("PW", "pw"),
        ("ST", "st"),
        ("edition", "edition"),
        ("encoding", "encoding"),
        ("site", "site"),
        ("SM4", "sm4_key"),
        ("report interval", "report_interval"),
        ("interval", "minute_interval"),
        ("group", "group"),
    ):
        if word in message:
            return field
    return None


def validate(engine: Engine, data: bytes, actor: Principal) -> Report:
    """What importing ``data`` would do, with every problem; writes nothing."""
    return validate_plan(engine, _plan(actor), data)


def apply(engine: Engine, data: bytes, actor: Principal) -> Report:
    """Import ``data`` if every row is good (one transaction), else write nothing."""
    return apply_plan(engine, _plan(actor), data)


def validate_in(s: Session, data: bytes, actor: Principal) -> Report:
    """:func:`validate` inside the caller's transaction (everything it tried is undone)."""
    return run_in(s, _plan(actor), data, commit=False)


def apply_in(s: Session, data: bytes, actor: Principal) -> Report:
    """:func:`apply` inside the caller's transaction: the rows are kept only if every row is
    good, and become durable with the caller's commit (the web import records its workflow
    step in the same transaction)."""
    return run_in(s, _plan(actor), data, commit=True)


# --------------------------------------------------------------------------- export


def template() -> bytes:
    """The workbook with every sheet and header and no rows, for a bureau to fill in."""
    return write_workbook([(spec, []) for spec in SHEETS])


def records(s: Session) -> list[tuple[SheetSpec, list[dict[str, Any]]]]:
    """The registry as workbook records, sheet by sheet, in natural-key order."""
    out: list[tuple[SheetSpec, list[dict[str, Any]]]] = []
    out.append(
        (
            REGIONS,
            [
                {
                    "code": r.code,
                    "name": r.name,
                    "level": LEVEL_LABELS.get(r.level, r.level),
                    "parent_code": r.parent_code,
                }
                for r in s.scalars(select(Region).order_by(Region.code))
            ],
        )
    )
    bounds: list[dict[str, Any]] = []
    for b in s.scalars(select(RegionBoundary).order_by(RegionBoundary.region_code)):
        pieces = [b.geometry[i : i + SEGMENT] for i in range(0, len(b.geometry), SEGMENT)]
        for n, piece in enumerate(pieces, start=1):
            bounds.append(
                {
                    "region_code": b.region_code,
                    "segment": n,
                    "geometry": piece,
                    "source": b.source if n == 1 else None,
                }
            )
    out.append((BOUNDARIES, bounds))
    dep = s.get(Deployment, deployment.DEPLOYMENT_ID)
    out.append(
        (
            OWN,
            []
            if dep is None
            else [{"region_code": dep.region_code, "data_notice": dep.data_notice}],
        )
    )
    out.append(
        (
            UNITS,
            [
                {
                    "code": u.code,
                    "name": u.name,
                    "kind": UNIT_KIND_LABELS[u.kind],
                    "region_code": u.region_code,
                    "parent_code": u.parent_code,
                    "contact": u.contact,
                    "phone": u.phone,
                }
                for u in s.scalars(select(OrgUnit).order_by(OrgUnit.code))
            ],
        )
    )
    ents = list(
        s.scalars(
            select(Enterprise)
            .where(Enterprise.credit_code.is_not(None))
            .order_by(Enterprise.credit_code)
        )
    )
    credit = {e.id: e.credit_code for e in s.scalars(select(Enterprise))}
    out.append(
        (
            ENTERPRISES,
            [
                {
                    "credit_code": e.credit_code,
                    "name": e.name,
                    "region_code": e.region_code,
                    "industry_code": e.industry_code,
                    "industry": e.industry,
                    "control_level": e.control_level,
                    "permit_class": e.permit_class,
                    "key_discharger": bool(e.key_discharger),
                    "longitude": _decimal_cell(e.longitude),
                    "latitude": _decimal_cell(e.latitude),
                    "address": e.address,
                    "legal_representative": e.legal_representative,
                    "env_contact": e.env_contact,
                    "contact_phone": e.contact_phone,
                }
                for e in ents
            ],
        )
    )
    site_rows = []
    for x in s.scalars(select(Site).order_by(Site.code)):
        site_rows.append(
            {
                "code": x.code,
                "name": x.name,
                "kind": KIND_LABELS.get(x.kind, x.kind),
                "region_code": x.region_code,
                "longitude": _decimal_cell(x.longitude),
                "latitude": _decimal_cell(x.latitude),
                "control_level": x.control_level,
                "water_body": _label(x.water_body, WATER_BODIES),
                "water_body_name": x.water_body_name,
                "target_class": x.target_class,
                "source_level": x.source_level,
                "source_type": _label(x.source_type, SOURCE_TYPES),
                "noise_zone": x.noise_zone,
                "enterprise": credit.get(x.enterprise_id) if x.enterprise_id else None,
                "outlet_medium": _label(x.outlet_medium, MEDIA),
            }
        )
    out.append((SITES, site_rows))
    device_rows = []
    for d in s.scalars(select(Device).order_by(Device.mn)):
        st = _device_state(s, d)
        device_rows.append(
            {
                "mn": d.mn,
                "pw": st["pw"],
                "st": st["st"],
                "edition": st["edition"],
                "encoding": st["encoding"],
                "site": st["site"],
                "group": st["group"],
                "sm4_key": st["sm4_key"],
                "minute_interval": st["minute_interval"],
                "report_interval": st["report_interval"],
                "factors": ",".join(st["factors"]) or None,
                "status": STATUS_LABELS[bool(d.active)],
            }
        )
    out.append((DEVICES, device_rows))
    permit_rows = []
    numbers: dict[int, str] = {}
    for p in s.scalars(select(Permit).order_by(Permit.number)):
        numbers[p.id] = p.number
        permit_rows.append(
            {
                "number": p.number,
                "enterprise": credit.get(p.enterprise_id),
                "management_class": p.management_class,
                "valid_from": p.valid_from,
                "valid_to": p.valid_to,
                "note": p.note,
            }
        )
    out.append((PERMITS, permit_rows))
    limit_rows = sorted(
        (
            {
                "number": numbers[lim.permit_id],
                "outlet": code,
                "pollutant": lim.pollutant,
                "limit": lim.limit_value,
                "lower": lim.lower_value,
                "unit": lim.unit,
                "basis": lim.basis,
                "o2_ref": lim.o2_ref,
                "standard": lim.standard,
                "source_table": lim.source_table,
            }
            for lim, code in s.execute(
                select(PermitLimit, Site.code).join(Site, Site.id == PermitLimit.site_id)
            )
        ),
        key=lambda r: (r["number"], r["outlet"], r["pollutant"], r["basis"]),
    )
    out.append((LIMITS, limit_rows))
    amount_rows = sorted(
        (
            {
                "number": numbers[a.permit_id],
                "pollutant": a.pollutant,
                "year": a.year,
                "amount": a.amount,
                "unit": a.unit,
            }
            for a in s.scalars(select(PermitAnnualAmount))
        ),
        key=lambda r: (r["number"], r["pollutant"], r["year"]),
    )
    out.append((AMOUNTS, amount_rows))
    out.append(
        (
            TARGETS,
            [
                {
                    "region_code": t.region_code,
                    "indicator": t.indicator,
                    "year_from": t.year_from,
                    "year_to": t.year_to,
                    "value": t.value,
                    "unit": t.unit,
                    "comparison": COMPARISON_LABELS.get(t.comparison, t.comparison),
                    "source": t.source,
                }
                for t in s.scalars(
                    select(IndicatorTarget).order_by(
                        IndicatorTarget.region_code,
                        IndicatorTarget.indicator,
                        IndicatorTarget.year_from,
                    )
                )
            ],
        )
    )
    return out


def export(engine: Engine) -> bytes:
    """The database's registry as a workbook (the layout of :func:`template`)."""
    with session_scope(engine.execution_options(**READONLY)) as s:
        return write_workbook(records(s))


def workbook_from_records(sheets: Sequence[tuple[SheetSpec, Sequence[dict[str, Any]]]]) -> bytes:
    """A registry workbook from records (the demo builds its district this way)."""
    return write_workbook(sheets)


__all__ = [
    "SHEETS",
    "apply",
    "export",
    "records",
    "template",
    "validate",
    "workbook_from_records",
]
