"""Indicator values reported by a unit with evidence and reviewed by the bureau (workflow
``plan_report``); the accepted value becomes the indicator's actual. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from casework.conftest import make_users
from qingshan.roles import CLI, Principal
from qingshan.services import attachments
from qingshan.services.errors import NotFound, ServiceError
from qingshan.services.plans import PlanError, assess, load_template, reports
from qingshan.services.workflows import WorkflowRefused
from qingshan.storage.db import session_scope
from qingshan.storage.models_casework import TimelineEvent

LIMITS = attachments.Limits(max_bytes=1 << 20, max_pixels=1_000_000, max_unpacked=1 << 22)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _status(s: object, no: str) -> dict[str, object]:
    st = assess.plan_status(s, CLI, "kongtong-14th", year=2025, today=date(2025, 7, 1))  # type: ignore[arg-type]
    return next(i for i in st.to_dict()["indicators"] if i["no"] == no)


def test_a_unit_reports_with_evidence_and_staff_review(engine: Engine, tmp_path: Path) -> None:
    users = make_users(engine)
    unit, unit2, staff = users["unit"], users["unit2"], users["staff"]
    store = attachments.AttachmentStore(tmp_path / "att", LIMITS)
    with session_scope(engine) as s:
        load_template(s, CLI, "kongtong-14th")
        r = reports.report_value(s, unit, "kongtong-14th", "20", 2025, "24.90", note="林草局年报")
        rid = r.id
        assert (r.state, r.unit_code, r.value) == ("draft", "水务局", "24.90")
    # no evidence yet: refused with the specific reason
    with session_scope(engine) as s, pytest.raises(WorkflowRefused, match="佐证材料"):
        reports.submit(s, unit, rid)
    with session_scope(engine) as s:  # another unit neither sees nor attaches to it
        with pytest.raises(NotFound):
            reports.submit(s, unit2, rid)
        with pytest.raises(NotFound):
            attachments.add(
                s, store, unit2, PDF, file_name="x.pdf", entity_type="plan_report",
                entity_id=rid, evidence="evidence",
            )  # fmt: skip
        assert reports.reports(s, unit2) == []
    with session_scope(engine) as s:
        attachments.add(
            s, store, unit, PDF, file_name="森林资源年报.pdf", entity_type="plan_report",
            entity_id=rid, evidence="evidence",
        )  # fmt: skip
        assert reports.submit(s, unit, rid).state == "submitted"
    with session_scope(engine) as s:
        assert _status(s, "20")["status"] == "not_assessable"  # not accepted yet
        with pytest.raises(PlanError, match="没有权限"):
            reports.review(s, unit, rid, accept=True)
        with pytest.raises(ServiceError, match="退回原因"):
            reports.review(s, staff, rid, accept=False)
    with session_scope(engine) as s:
        back = reports.review(s, staff, rid, accept=False, reason="请附盖章的统计表")
        assert back.state == "returned"
        view = reports.reports(s, unit)[0]
        assert (view.state_label, view.reason, view.evidence) == ("已退回", "请附盖章的统计表", 1)
    with session_scope(engine) as s:
        assert reports.submit(s, unit, rid, value="24.95").state == "submitted"
        queue = reports.reports(s, staff, state="submitted")
        assert [(q.id, q.indicator, q.value) for q in queue] == [(rid, "森林覆盖率", "24.95")]
        reports.review(s, staff, rid, accept=True)
    with session_scope(engine) as s:
        forest = _status(s, "20")
        assert forest["actual"] == {
            "value": "24.95",
            "source": "reported",
            "unit_code": "水务局",
            "report_id": rid,
        }
        assert forest["status"] == "on_track"  # ≥ 24.81, the year not over
        actions = list(
            s.scalars(
                select(TimelineEvent.action)
                .where(TimelineEvent.entity_type == "plan_report")
                .order_by(TimelineEvent.id)
            )
        )
        assert actions == [
            "plan_report.start",
            "attachment.add",  # the evidence, on the report's own timeline
            "plan_report.submit",
            "plan_report.return",
            "plan_report.resubmit",
            "plan_report.accept",
        ]
        with pytest.raises(WorkflowRefused):  # accepted is final
            reports.review(s, staff, rid, accept=False, reason="x")


def test_refusals(engine: Engine) -> None:
    users = make_users(engine)
    with session_scope(engine) as s:
        load_template(s, CLI, "kongtong-14th")
        with pytest.raises(PlanError, match="自动计算"):
            reports.report_value(s, users["unit"], "kongtong-14th", "1", 2025, "97")
        with pytest.raises(PlanError, match="不是数字"):
            reports.report_value(s, users["unit"], "kongtong-14th", "20", 2025, "约25%")
        with pytest.raises(PlanError, match="没有序号为 99"):
            reports.report_value(s, users["unit"], "kongtong-14th", "99", 2025, "1")
        with pytest.raises(PlanError, match="早于规划期限"):
            reports.report_value(s, users["unit"], "kongtong-14th", "20", 2019, "1")
        with pytest.raises(PlanError, match="没有权限"):
            reports.report_value(s, users["grid"], "kongtong-14th", "20", 2025, "1")
        no_unit = Principal(role=users["unit"].role, user_id=99, username="x", via="session")
        with pytest.raises(PlanError, match="没有所属责任单位"):
            reports.report_value(s, no_unit, "kongtong-14th", "20", 2025, "1")
