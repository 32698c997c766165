"""The sample district's case ledgers: 崆峒区's four inspection rounds with exactly the seed's
counts and states (``data/cases.toml``), item texts generated and marked 示例数据.

The ledgers are Excel workbooks in the layout any county's ledger has
(:mod:`qingshan.services.cases.ledger`), loaded through the same import, one per round and
origin (``qingshan case import FILE --origin … --round N``); the units they name go in first
through the registry workbook's 责任单位 sheet. Loading again changes nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import Engine

from qingshan.services import excel_import as xi
from qingshan.services.cases import alarm as alarm_cases
from qingshan.services.cases import ledger
from qingshan.services.registry import workbook as registry_workbook
from qingshan.storage.db import session_scope

from .loader import DEMO, DemoLoadError

# What the generated items are about, by category (示例 wording, not real findings).
TOPICS: tuple[tuple[str, str], ...] = (
    ("大气", "城区燃煤锅炉淘汰改造不到位"),
    ("水", "泾河沿岸污水管网建设滞后，生活污水直排"),
    ("大气", "建筑工地扬尘管控措施落实不到位"),
    ("固体废物", "生活垃圾填埋场渗滤液处理不达标"),
    ("生态", "砂石料场非法开采，生态破坏未修复"),
    ("水", "集中式饮用水水源保护区内存在违规建筑"),
    ("大气", "工业企业无组织排放治理不到位"),
    ("土壤", "历史遗留工业固废堆场未规范处置"),
    ("噪声", "夜间施工噪声扰民"),
    ("水", "畜禽养殖场粪污未资源化利用"),
)
COMPLAINT_TOPICS: tuple[tuple[str, str], ...] = (
    ("大气", "反映某企业烟囱冒黑烟"),
    ("噪声", "反映某商铺噪声扰民"),
    ("水", "反映某沟道有污水排放"),
    ("大气", "反映某餐饮店油烟扰民"),
    ("固体废物", "反映某地块倾倒建筑垃圾"),
    ("大气", "反映某料场扬尘污染"),
)
FINDINGS = ("属实", "基本属实", "部分属实", "不属实")


@dataclass(frozen=True, slots=True)
class Ledger:
    origin: str
    round: int
    kind: str  # problem | complaint
    label: str
    data: bytes  # the workbook
    rows: int


def _data() -> dict[str, Any]:
    text = resources.files("qingshan.demo").joinpath("data", "cases.toml").read_text("utf-8")
    return tomllib.loads(text)


def _problem_rows(d: dict[str, Any], r: dict[str, Any]) -> list[dict[str, Any]]:
    spec = r["problems"]
    leads = [u["code"] for u in d["units"] if u["code"] != d["acceptance_unit"]]
    start: date = r["problems_received"]
    rows = []
    for i in range(spec["total"]):
        n = i + 1
        cat, topic = TOPICS[i % len(TOPICS)]
        tier_days = (180, 540, 1095)[i % 3]  # 短期、中期、长期 (≤ 6 months, 1–2 years, 3–5 years)
        rectified = i < spec["rectified"]
        signed = i < spec["signed_off"]
        due = start + timedelta(days=tier_days) if rectified else spec["open_due"]
        done = start + timedelta(days=60 + (i * 37) % (tier_days - 30)) if rectified else None
        rows.append(
            {
                "code": f"KT-{r['prefix']}-W{n:02d}",
                "kind": "问题",
                "round": r["round"],
                "batch": "反馈问题清单",
                "item_no": str(n),
                "title": f"（示例数据）{r['label']}反馈问题第{n}项：{topic}",
                "description": f"示例数据：按{r['label']}反馈意见生成的第{n}项问题，非真实台账。",
                "category": cat,
                "region": d["region"],
                "lead_unit": leads[i % len(leads)],
                "supporting_units": leads[(i + 1) % len(leads)] if i % 4 == 0 else None,
                "acceptance_unit": d["acceptance_unit"],
                "received_on": start,
                "due_on": due,
                "state": "已销号" if signed else ("已完成整改" if rectified else "整改中"),
                "rectified_on": done,
                "signed_off_on": done + timedelta(days=45) if signed and done else None,
                "closed_on": done,
                "note": d["notice"],
            }
        )
    return rows


def _complaint_rows(d: dict[str, Any], r: dict[str, Any]) -> list[dict[str, Any]]:
    spec = r["complaints"]
    leads = [u["code"] for u in d["units"] if u["code"] != d["acceptance_unit"]]
    start: date = r["complaints_received"]
    rows = []
    for i in range(spec["total"]):
        n = i + 1
        cat, topic = COMPLAINT_TOPICS[i % len(COMPLAINT_TOPICS)]
        received = start + timedelta(days=i % 25)  # transferred in batches over the stay
        closed = i < spec["closed"]
        rows.append(
            {
                "code": f"KT-{r['prefix']}-X{n:03d}",
                "kind": "信访件",
                "round": r["round"],
                "batch": f"第{i // 12 + 1}批",
                "item_no": str(n),
                "channel": "督察转办",
                "title": f"（示例数据）{r['label']}转办信访件第{n}件：{topic}",
                "category": cat,
                "region": d["region"],
                "lead_unit": leads[i % len(leads)],
                "received_on": received,
                "state": "已办结" if closed else "已转办",
                "closed_on": received + timedelta(days=7 + (i * 11) % 45) if closed else None,
                "finding": FINDINGS[i % len(FINDINGS)] if closed else None,
                "note": d["notice"],
            }
        )
    return rows


def ledgers() -> list[Ledger]:
    """The sample ledgers, one workbook per round and kind."""
    d = _data()
    out = []
    for r in d["rounds"]:
        for kind, rows in (("problem", _problem_rows(d, r)), ("complaint", _complaint_rows(d, r))):
            data = xi.write_workbook([(ledger.SHEET, rows)])
            out.append(Ledger(r["origin"], r["round"], kind, r["label"], data, len(rows)))
    return out


def units_workbook() -> bytes:
    d = _data()
    rows = [
        {
            "code": u["code"],
            "name": u["name"],
            "kind": u["kind"],
            "region_code": u.get("region", d["region"]),
        }
        for u in d["units"]
    ]
    return registry_workbook.workbook_from_records([(registry_workbook.UNITS, rows)])


def load_cases(engine: Engine) -> dict[str, int]:
    """Load the units and the case ledgers (after the registry: the district's regions must
    be there); returns how many rows were created, updated and left unchanged."""
    report = registry_workbook.apply(engine, units_workbook(), DEMO)
    if not report.ok:
        raise DemoLoadError("the demo units were refused: " + "; ".join(map(str, report.problems)))
    d = _data()
    with session_scope(engine) as s:  # data, as an administrator sets it
        alarm_cases.set_alarm_lead(s, DEMO, d["alarm_lead_unit"], region=d["region"])
    totals = {"created": 0, "updated": 0, "unchanged": 0}
    for lg in ledgers():
        rep = ledger.import_ledger(engine, lg.data, DEMO, origin=lg.origin, round=lg.round)
        if not rep.ok:
            problems = "; ".join(map(str, rep.problems[:5]))
            raise DemoLoadError(f"the demo case ledger {lg.label} was refused: {problems}")
        for c in rep.counts.values():
            totals["created"] += c.created
            totals["updated"] += c.updated
            totals["unchanged"] += c.unchanged
    return totals


__all__ = ["Ledger", "ledgers", "load_cases", "units_workbook"]
