"""Values of 完成上级下达目标 targets entered by the bureau with evidence (who and when kept):
the latest entry with evidence becomes the target the indicator is judged against; an entry
without evidence waits for it. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from casework.conftest import make_users
from qingshan.roles import CLI
from qingshan.services import attachments
from qingshan.services.errors import NotFound
from qingshan.services.plans import PlanError, assess, assigned, load_template, reports
from qingshan.storage.db import session_scope
from qingshan.storage.models_casework import TimelineEvent

LIMITS = attachments.Limits(max_bytes=1 << 20, max_pixels=1_000_000, max_unpacked=1 << 22)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NOX = "12"  # 氮氧化物重点工程减排量 (吨), 2025: 完成省市下达目标, more is better


def _item(s: Any, no: str, today: date = date(2025, 7, 1)) -> dict[str, Any]:
    st = assess.plan_status(s, CLI, "kongtong-14th", year=2025, today=today)
    return next(i for i in st.to_dict()["indicators"] if i["no"] == no)


def _attach(s: Any, store: attachments.AttachmentStore, who: Any, entry: int) -> None:
    attachments.add(
        s, store, who, PDF, file_name="市生态环境局关于下达2025年减排目标的通知.pdf",
        entity_type=assigned.ENTITY, entity_id=entry, evidence="evidence",
    )  # fmt: skip


def test_staff_enter_the_assigned_value_with_evidence(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    unit, staff = users["unit"], users["staff"]
    store = attachments.AttachmentStore(tmp_path / "att", LIMITS)
    with session_scope(engine) as s:
        load_template(s, CLI, "kongtong-14th")
        before = _item(s, NOX)
        assert before["status"] == "not_assessable"
        assert "下达值尚未录入" in before["reason"]
        # refusals: a unit user, a target that is not 下达, a text without a number, a year
        # without a target, an unknown 序号
        with pytest.raises(PlanError, match="没有权限"):
            assigned.enter(s, unit, "kongtong-14th", NOX, 2025, "320")
        with pytest.raises(PlanError, match="不是上级下达目标"):
            assigned.enter(s, staff, "kongtong-14th", "1", 2025, "97")
        with pytest.raises(PlanError, match="没有可判断的数值"):
            assigned.enter(s, staff, "kongtong-14th", NOX, 2025, "完成市下达任务")
        with pytest.raises(PlanError, match="没有2030年的目标"):
            assigned.enter(s, staff, "kongtong-14th", NOX, 2030, "320")
        with pytest.raises(PlanError, match="没有序号为 99"):
            assigned.enter(s, staff, "kongtong-14th", "99", 2025, "320")
        e1 = assigned.enter(s, staff, "kongtong-14th", NOX, 2025, "320", note="平市环发12号")
        first = e1.id
        assert (e1.comparator, e1.value, e1.entered_by_name) == ("at_least", "320", "staff")
    with session_scope(engine) as s:  # entered, no evidence yet: not applied
        item = _item(s, NOX)
        assert item["target"]["assigned"] is None
        assert item["target"]["assigned_pending"]["text"] == "320"
        assert "尚缺佐证材料" in item["reason"] and item["status"] == "not_assessable"
        with pytest.raises(NotFound):  # a unit user may not attach the bureau's evidence
            _attach(s, store, unit, first)
    with session_scope(engine) as s:
        _attach(s, store, staff, first)
    with session_scope(engine) as s:
        item = _item(s, NOX)
        a = item["target"]["assigned"]
        assert (a["text"], a["comparator"], a["value"], a["entered_by"], a["evidence"]) == (
            "320",
            "at_least",
            "320",
            "staff",
            1,
        )
        assert a["note"] == "平市环发12号"
        assert item["reason"].startswith(f"上级下达目标320（staff于{a['entered_at']}录入）；")
        assert "尚无实际值" in item["reason"]  # the target is known, the value not yet
        # the unit reports the year's value; accepted, it is judged against 320 (≥)
        r = reports.report_value(s, unit, "kongtong-14th", NOX, 2025, "335.5")
        _rid = r.id
        attachments.add(
            s, store, unit, PDF, file_name="减排核算.pdf", entity_type="plan_report",
            entity_id=_rid, evidence="evidence",
        )  # fmt: skip
        reports.submit(s, unit, _rid)
        reports.review(s, staff, _rid, accept=True)
    with session_scope(engine) as s:
        assert _item(s, NOX)["status"] == "on_track"
        assert _item(s, NOX, today=date(2026, 1, 5))["status"] == "achieved"
        # a correction is a new entry; without evidence the earlier one still applies
        assigned.enter(s, staff, "kongtong-14th", NOX, 2025, "≥340")
    with session_scope(engine) as s:
        item = _item(s, NOX)
        assert item["target"]["assigned"]["text"] == "320"
        assert item["target"]["assigned_pending"]["text"] == "≥340"
        second = item["target"]["assigned_pending"]["id"]
        _attach(s, store, staff, second)
    with session_scope(engine) as s:
        item = _item(s, NOX, today=date(2026, 1, 5))
        assert item["target"]["assigned"]["text"] == "≥340"
        assert item["status"] == "off_track"  # 335.5 < 340, the year complete
        events = s.scalars(
            select(TimelineEvent.summary).where(
                TimelineEvent.entity_type == assigned.ENTITY,
                TimelineEvent.action == "plan_assigned_target.enter",
            )
        ).all()
        assert sorted(events) == [
            "录入上级下达目标：氮氧化物重点工程减排量（2025年）320",
            "录入上级下达目标：氮氧化物重点工程减排量（2025年）≥340",
        ]
