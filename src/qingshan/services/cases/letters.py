"""The letters a case needs on paper, as .docx (python-docx): 交办单 (assignment sheet), 督办通知
(supervision notice) and 销号审批表 (sign-off approval form). Each is filled from the case, its
workflow fields and its units; signature lines are left for the people who sign."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt
from sqlalchemy import select
from sqlalchemy.orm import Session

from qingshan.clock import cst_today
from qingshan.roles import Principal
from qingshan.services import workflows as wfs
from qingshan.services.cases import core, vocab
from qingshan.storage.models_cases import CaseItem
from qingshan.storage.models_registry import OrgUnit

KINDS = {"assignment": "交办单", "supervision": "督办通知", "sign_off": "销号审批表"}


def _unit(s: Session, code: str | None) -> str:
    if not code:
        return "—"
    name = s.scalar(select(OrgUnit.name).where(OrgUnit.code == code))
    return name or code


def _day(d: date | None) -> str:
    return "—" if d is None else f"{d.year}年{d.month}月{d.day}日"


def _table(doc: Any, rows: list[tuple[str, str]]) -> None:
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text = label
        cells[1].text = value or "—"
        cells[0].paragraphs[0].runs[0].bold = True


def _head(doc: Any, title: str, code: str) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(title)
    run.bold = True
    run.font.size = Pt(18)
    doc.add_paragraph(f"编号：{code}").alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _origin(c: CaseItem) -> str:
    text = vocab.ORIGIN_LABELS[c.origin]
    if c.round:
        text += f"第{c.round}轮"
    if c.batch:
        text += f" {c.batch}"
    if c.item_no:
        text += f" 第{c.item_no}项"
    return text


def letter(s: Session, p: Principal, code: str, kind: str) -> tuple[str, bytes]:
    """The letter ``kind`` (assignment, supervision, sign_off) of a case the principal may
    see: its file name and .docx bytes."""
    if kind not in KINDS:
        names = "、".join(f"{k}（{v}）" for k, v in KINDS.items())
        raise core.CaseError(f"文书类型 {kind!r} 无效，应为 {names} 之一", "kind")
    c = core.get(s, p, code)
    inst = wfs.find(s, c.workflow, core.ENTITY, c.code)
    fields: dict[str, Any] = json.loads(inst.fields) if inst else {}
    sup = "、".join(_unit(s, u) for u in core.supporting(s, c)) or "—"
    doc = Document()
    doc.styles["Normal"].font.size = Pt(11)
    what = vocab.KIND_LABELS[c.kind]
    if kind == "assignment":
        _head(doc, f"{what}交办单", c.code)
        doc.add_paragraph(f"{_unit(s, c.lead_unit)}：")
        doc.add_paragraph(
            f"现将以下{what}交你单位牵头办理，请按时限完成，逐项建立台账，"
            "办理完成后提交佐证材料并申请销号（办结）。"
        )
        _table(
            doc,
            [
                ("来源", _origin(c)),
                ("全国统一编号", c.national_id or "—"),
                ("问题", c.title),
                ("问题描述", c.description or "—"),
                ("类别", c.category or "—"),
                ("牵头单位", _unit(s, c.lead_unit)),
                ("配合单位", sup),
                ("验收单位", _unit(s, c.acceptance_unit)),
                ("交办日期", _day(c.received_on)),
                ("办理时限", _day(c.due_on)),
                ("时限依据", c.due_basis or "—"),
            ],
        )
    elif kind == "supervision":
        if c.due_on is None:
            raise core.CaseError("案件没有办理时限，无需督办通知")
        _head(doc, "督办通知", c.code)
        doc.add_paragraph(f"{_unit(s, c.lead_unit)}：")
        late = (cst_today() - c.due_on).days
        status = f"已逾期 {late} 日" if late > 0 else f"距时限还有 {-late} 日"
        listed = f"，已于{_day(c.supervised_on)}挂牌督办" if c.supervised_on else ""
        doc.add_paragraph(
            f"你单位牵头办理的{what}「{c.title}」（{_origin(c)}），办理时限为{_day(c.due_on)}，"
            f"目前状态为「{core.state_label(c)}」，{status}{listed}。请接到本通知后抓紧办理，"
            "并书面报告办理进展；逾期未完成的，将按规定通报、约谈直至问责。"
        )
        _table(
            doc,
            [
                ("牵头单位", _unit(s, c.lead_unit)),
                ("配合单位", sup),
                ("交办日期", _day(c.received_on)),
                ("办理时限", _day(c.due_on)),
                ("当前状态", core.state_label(c)),
            ],
        )
    else:
        if c.kind != "problem":
            raise core.CaseError("销号审批表只适用于督察整改问题")
        _head(doc, "整改问题销号审批表", c.code)
        notice = fields.get("notice_start")
        notice_text = f"{notice} 至 {fields.get('notice_end')}" if notice else "—"
        _table(
            doc,
            [
                ("来源", _origin(c)),
                ("问题", c.title),
                ("牵头单位", _unit(s, c.lead_unit)),
                ("整改措施", str(fields.get("measures") or "—")),
                ("整改结果", str(fields.get("result") or "—")),
                ("完成整改日期", _day(c.rectified_on)),
                ("销号申请说明", str(fields.get("application") or "—")),
                ("验收单位", _unit(s, c.acceptance_unit)),
                ("区级验收意见", str(fields.get("acceptance_opinion") or "—")),
                ("市级验收意见", str(fields.get("city_opinion") or "—")),
                ("公示期", notice_text),
                ("当前状态", core.state_label(c)),
            ],
        )
        doc.add_paragraph("")
        for who in ("牵头单位意见", "验收单位意见", "主要领导审签"):
            doc.add_paragraph(f"{who}：                    （签字、盖章）    年    月    日")
    doc.add_paragraph(f"制表日期：{_day(cst_today())}").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    buf = io.BytesIO()
    doc.save(buf)
    return f"{c.code}-{KINDS[kind]}.docx", buf.getvalue()


__all__ = ["KINDS", "letter"]
