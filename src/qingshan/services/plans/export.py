"""A plan's indicator table in the plan's own layout (类别, 序号, 指标 as published, 属性, its
baseline column, a target column per milestone) with the year's actual values and status,
and its tasks — as a report for the existing writers (.xlsx, .docx, .pdf:
:mod:`qingshan.services.reports.writers`)."""

from __future__ import annotations

import hashlib
import json
from datetime import date

from sqlalchemy.orm import Session

from qingshan.clock import cst_today
from qingshan.roles import Principal
from qingshan.services import deployment
from qingshan.services.plans import assess, find_plan, tasks
from qingshan.services.reports.model import Report, TableBlock

STATUS_FILLS = {
    "achieved": "#00A651",
    "on_track": "#2E7D32",
    "at_risk": "#FF9800",
    "off_track": "#E60012",
    "not_assessable": None,
}

__all__ = ["progress_report"]


def progress_report(
    s: Session, actor: Principal, ref: str | int, *, year: int | None = None,
    today: date | None = None,
) -> Report:  # fmt: skip
    """The plan's indicator table and tasks with the year's values, as a report."""
    today = today or cst_today()
    st = assess.plan_status(s, actor, ref, year=year, today=today)
    plan = find_plan(s, actor, st.plan_id)
    milestones: list[int] = json.loads(plan.milestones)
    d = st.to_dict()
    header = ["指标类别", "序号", "指标", "属性", plan.baseline_label or "基准值"]
    header += [f"{y}年目标" for y in milestones]
    header += [f"{st.year}年实际", "状态", "说明"]
    rows: list[list[str]] = []
    fills: list[list[str | None]] = []
    for i in d["indicators"]:
        by_year = {t["year"]: t["text"] for t in i["targets"]}
        row = [
            i["category"],
            i["no"],
            i["published"],
            i["attribute"] or "",
            (i["baseline"] or {}).get("text", ""),
            *[by_year.get(y, "") for y in milestones],
            (i["actual"] or {}).get("value") or "",
            i["status_label"],
            i["reason"],
        ]
        rows.append([str(x) for x in row])
        fill: list[str | None] = [None] * len(row)
        fill[-2] = STATUS_FILLS[i["status"]]
        fills.append(fill)
    rep = Report(
        issuer=plan.issuer,
        title=f"{plan.title}指标完成情况",
        period_label=f"{st.year}年",
        issue_label=f"统计至{st.through}" if st.through else "本年尚未开始",
        date_label=f"{today.year}年{today.month}月{today.day}日",
        notice=deployment.data_notice(s),
    )
    counts = d["counts"]
    rep.h1("一、指标完成情况")
    rep.p(
        f"共{len(rows)}项指标：已完成{counts['achieved']}项，进度正常{counts['on_track']}项，"
        f"有风险{counts['at_risk']}项，难以完成{counts['off_track']}项，"
        f"暂无法评估{counts['not_assessable']}项。"
    )
    rep.table(TableBlock("规划指标", header, rows, sheet="规划指标", fills=fills))
    if st.notes:
        rep.h2("原文不一致之处（照录，未更正）")
        for n in st.notes:
            rep.note(n)
    task_rows = tasks.task_list(s, actor, plan.id, today=today)
    if task_rows:
        rep.h1("二、任务落实情况（逾期在前）")
        rep.table(
            TableBlock(
                "规划任务",
                ["序号", "任务", "期限", "状态", "责任单位"],
                [
                    [
                        v.no,
                        v.text,
                        v.deadline_text or v.deadline or "",
                        f"已完成（{v.completed_on}）"
                        if v.completed_on
                        else (f"逾期{v.days_overdue}天" if v.overdue else ""),
                        "、".join(f"{u['name']}（{u['role_label']}）" for u in v.units),
                    ]
                    for v in task_rows
                ],
                sheet="规划任务",
            )
        )
    rep.standards = sorted(
        {
            str(i["actual"]["standard"])
            for i in d["indicators"]
            if i["actual"] and "standard" in i["actual"]
        }
    )
    rep.provenance = {
        "fingerprint": hashlib.sha256(
            json.dumps(d, ensure_ascii=False, sort_keys=True).encode()
        ).hexdigest()[:16],
        "plan": plan.template_id or plan.id,
    }
    return rep
