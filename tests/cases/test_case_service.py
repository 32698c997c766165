"""Cases through the service: an inspection item's whole loop with evidence, unit relations
and scope; complaints (merge, repeat, extension, 阶段性办结); patrols; refusals with their
reasons; nothing deleted (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from casework import files
from qingshan.clock import cst_today
from qingshan.roles import CLI, Principal
from qingshan.services import attachments, timeline, workcalendar
from qingshan.services.attachments import AttachmentStore, Limits
from qingshan.services.cases import core, stats
from qingshan.services.errors import NotFound
from qingshan.services.workflows import WorkflowRefused
from qingshan.storage.db import session_scope
from qingshan.storage.models_cases import CaseItem
from qingshan.workdays import add_period

from .conftest import complaint, make_county, problem

LIMITS = Limits(5 * 1024 * 1024, 4_000_000, 20 * 1024 * 1024)


def _attach(s: Session, store: AttachmentStore, p: Principal, code: str, evidence: str) -> None:
    data = files.jpeg_with_exif() if "photo" in evidence else files.pdf()
    name = f"{evidence}.jpg" if "photo" in evidence else f"{evidence}.pdf"
    attachments.add(
        s, store, p, data, file_name=name, entity_type="case", entity_id=code, evidence=evidence
    )


def _row(s: Session) -> stats.Row:
    rows = stats.compute(s, CLI, region="620802")
    return next(r for r in rows if r.origin == "central_inspection" and r.kind == "problem")


def test_inspection_item_loop_with_evidence_units_and_scope(engine: Engine, tmp_path: Path) -> None:
    u = make_county(engine)
    store = AttachmentStore(tmp_path / "att", LIMITS)
    with session_scope(engine) as s:
        case = core.open_case(s, u["staff"], problem(code="ZY1-01", item_no="1"))
        assert (case.state, case.kind, case.workflow) == (
            "assigned",
            "problem",
            "inspection_rectification",
        )
        with pytest.raises(WorkflowRefused, match="无权发起督察整改"):
            core.open_case(s, u["grid"], problem(code="ZY1-02"))
    # a unit sees its own cases only: others' answer "not found"
    with session_scope(engine) as s:
        assert core.get(s, u["lead"], "ZY1-01").code == "ZY1-01"
        assert core.get(s, u["acc"], "ZY1-01").code == "ZY1-01"
        for who in ("other", "ent", "grid"):
            with pytest.raises(NotFound):
                core.get(s, u[who], "ZY1-01")
        assert [c.code for c in core.listing(s, u["other"], core.Filters())] == []
        with pytest.raises(NotFound):
            core.fire(s, u["other"], "ZY1-01", "begin", fields={"measures": "x"})
    with session_scope(engine) as s:
        # the acceptance unit may not do the lead unit's work
        with pytest.raises(core.CaseError, match="本单位不是该案件的牵头单位，不能签收整改"):
            core.fire(s, u["acc"], "ZY1-01", "begin", fields={"measures": "截污纳管"})
        core.fire(s, u["lead"], "ZY1-01", "begin", fields={"measures": "截污纳管"})
        with pytest.raises(WorkflowRefused, match="完成整改前须上传「整改佐证材料」"):
            core.fire(s, u["lead"], "ZY1-01", "complete", fields={"result": "管网已建成"})
        _attach(s, store, u["lead"], "ZY1-01", "rectification_report")
        c = core.fire(s, u["lead"], "ZY1-01", "complete", fields={"result": "管网已建成"})
        assert c.rectified_on == cst_today() and c.closed_on == cst_today()
        assert c.signed_off_on is None
        _attach(s, store, u["lead"], "ZY1-01", "statement")
        c = core.fire(s, u["lead"], "ZY1-01", "apply_sign_off", fields={"application": "申请"})
        assert core.state_label(c) == "已申请销号"
        with pytest.raises(core.CaseError, match="不是该案件的验收单位"):
            core.fire(
                s, u["lead"], "ZY1-01", "accept_district", fields={"acceptance_opinion": "同意"}
            )
        _attach(s, store, u["acc"], "ZY1-01", "acceptance_record")
        core.fire(s, u["acc"], "ZY1-01", "accept_district", fields={"acceptance_opinion": "同意"})
        with pytest.raises(WorkflowRefused, match="无权"):
            core.fire(
                s,
                u["leader"],
                "ZY1-01",
                "announce",
                fields={"notice_start": "2026-04-01", "notice_end": "2026-04-07"},
            )
        _attach(s, store, u["staff"], "ZY1-01", "notice")
        _attach(s, store, u["staff"], "ZY1-01", "sign_off_sheet")
        core.fire(
            s,
            u["staff"],
            "ZY1-01",
            "announce",
            fields={"notice_start": "2026-04-01", "notice_end": "2026-04-07"},
        )
        c = core.fire(s, u["staff"], "ZY1-01", "close", note="销号报备")
        assert (core.state_label(c), c.signed_off_on) == ("已销号", cst_today())
        core.comment(s, u["lead"], "ZY1-01", "已建立长效机制")
        with pytest.raises(core.CaseError, match="只读"):
            core.comment(s, u["leader"], "ZY1-01", "好")
    with session_scope(engine) as s:
        r = _row(s)
        assert (r.total, r.rectified, r.signed_off, r.closed, r.in_progress) == (1, 1, 1, 1, 0)
        # 回头看 finds it back: reopened, no longer counted as rectified
        c = core.fire(s, u["staff"], "ZY1-01", "reopen", fields={"recheck_note": "污水又直排"})
        assert (c.state, c.rectified_on, c.signed_off_on) == ("rectifying", None, None)
    with session_scope(engine) as s:
        r = _row(s)
        assert (r.rectified, r.signed_off, r.in_progress) == (0, 0, 1)
        c = core.fire(s, u["staff"], "ZY1-01", "void", fields={"void_reason": "重复交办"})
        assert c.state == "voided"
        with pytest.raises(NotFound):  # a voided case takes no more evidence
            _attach(s, store, u["staff"], "ZY1-01", "statement")
    with session_scope(engine) as s:
        assert stats.compute(s, u["staff"]) == []  # voided cases are not counted
        assert s.scalar(select(func.count()).select_from(CaseItem)) == 1  # nothing deleted
        actions = [e.action for e in timeline.events(s, u["staff"], "case", "ZY1-01")]
        assert actions[:2] == ["case.open", "inspection_rectification.start"]
        for a in (
            "attachment.add",
            "inspection_rectification.accept_district",
            "case.comment",
            "inspection_rectification.reopen",
            "inspection_rectification.void",
        ):
            assert a in actions
        by = {e.action: e for e in timeline.events(s, u["staff"], "case", "ZY1-01")}
        assert by["inspection_rectification.accept_district"].actor_unit == "SHJ"


def test_bad_input_is_refused_with_the_reason(engine: Engine) -> None:
    u = make_county(engine)
    staff = u["staff"]
    cases = [
        (problem(round=None), "round", "须填写督察轮次"),
        (problem(lead_unit=None), "lead_unit", "须填写牵头（责任）单位"),
        (problem(lead_unit="财政局"), "lead_unit", "牵头单位「财政局」未登记"),
        (problem(acceptance_unit="水务局"), "acceptance_unit", "验收单位须与整改牵头单位不同"),
        (problem(origin="alarm"), "origin", "来源 'alarm' 无效"),
        (problem(kind="巡查问题"), "kind", "类型只能是 问题、信访件"),
        (problem(category="光污染"), "category", "类别 '光污染' 无效"),
        (problem(region="629999"), "region", "所在区划 629999 不存在"),
        (problem(longitude="8.2", latitude="39.7"), "longitude", "不在中国境内"),
        (problem(due_on=date(2026, 1, 1)), "due_on", "早于交办日期"),
        (problem(received_on=cst_today() + timedelta(days=2)), "received_on", "晚于今天"),
        (complaint(channel=None), "channel", "须填写来源渠道"),
        (complaint(national_id="d3sx-1"), "national_id", "格式不对"),
        (complaint(origin="river_patrol", channel=None), "river", "须填写河流"),
        (problem(enterprise="91620200000000009X"), "enterprise", "未登记"),
        (problem(title=" "), "title", "标题"),
    ]
    with session_scope(engine) as s:
        for inp, fld, text in cases:
            sp = s.begin_nested()
            with pytest.raises(core.CaseError) as exc:
                core.open_case(s, staff, inp)
            sp.rollback()
            assert exc.value.field == fld and text in str(exc.value), (inp, str(exc.value))
        core.open_case(s, staff, problem(code="A-1"))
        with pytest.raises(core.CaseConflict, match="案件编号 A-1 已存在"):
            core.open_case(s, staff, problem(code="A-1"))
        with pytest.raises(core.CaseError, match="只能含字母"):
            core.open_case(s, staff, problem(code="A 1/2"))


def test_complaints_merge_repeat_extend_and_interim(engine: Engine, tmp_path: Path) -> None:
    u = make_county(engine)
    staff = u["staff"]
    store = AttachmentStore(tmp_path / "att", LIMITS)
    received = cst_today() - timedelta(days=10)
    with session_scope(engine) as s:
        first = core.open_case(
            s, staff, complaint(received_on=received, national_id="D3SX202505280018")
        )
        # 60 日 from acceptance by default, on the calendar (rolled past holidays)
        expected = add_period(workcalendar.calendar(s), received, 60, "calendar")
        assert first.due_on == expected.due and first.code.startswith("XF")
        with pytest.raises(core.CaseConflict, match="已用于案件"):
            core.open_case(s, staff, complaint(national_id="D3SX202505280018"))
        dup = core.open_case(s, u["grid"], complaint(received_on=received, channel="电话"))
        rep = core.open_case(s, staff, complaint(received_on=received, repeat_of=first.code))
        assert rep.repeat_of == first.id
        c = core.fire(s, staff, dup.code, "merge", fields={"duplicate_of": first.code})
        assert (c.state, c.duplicate_of) == ("merged", first.id)
        with pytest.raises(core.CaseError, match="不存在或不是另一件信访件"):
            core.fire(s, staff, rep.code, "merge", fields={"duplicate_of": rep.code})
        core.fire(s, staff, first.code, "accept", fields={"accept_decision": "予以受理"})
        c = core.fire(s, staff, first.code, "transfer", fields={"handling_unit": "水务局"})
        assert c.lead_unit == "SWJ"  # the handling unit now answers for it
        with pytest.raises(core.CaseError, match="延期天数应为 1–30 日"):
            core.extend(s, staff, first.code, 45, "情况复杂")
        old_due = c.due_on
        assert old_due is not None
        c = core.extend(s, staff, first.code, 30, "需第三方检测")
        assert c.due_on is not None and c.due_on >= old_due + timedelta(days=30)
        with pytest.raises(core.CaseError, match="只能延期一次"):
            core.extend(s, staff, first.code, 5, "再延")
        _attach(s, store, u["lead"], first.code, "inspection_record")
        core.fire(
            s,
            u["lead"],
            first.code,
            "handle",
            fields={"finding": "部分属实", "measures": "责令洒水抑尘"},
        )
        _attach(s, store, u["lead"], first.code, "reply")
        core.fire(s, u["lead"], first.code, "reply", fields={"reply_text": "已整治"})
        c = core.fire(
            s, staff, first.code, "conclude_interim", fields={"handling_result": "阶段性办结"}
        )
        assert c.finding == "部分属实" and c.closed_on is None
    with session_scope(engine) as s:
        rows = stats.compute(s, staff)
        (row,) = rows
        # the merged duplicate is not counted; 阶段性办结 is not 办结; one repeat complaint
        assert (row.kind, row.total, row.closed, row.in_progress, row.repeat) == (
            "complaint",
            2,
            0,
            2,
            1,
        )
        core.fire(s, staff, first.code, "conclude", fields={"handling_result": "已办结"})
        c = core.fire(s, staff, first.code, "reopen", fields={"visit_note": "举报人不满意"})
        assert c.state == "accepted" and c.closed_on is None


def test_patrol_found_disposed_and_rechecked(engine: Engine, tmp_path: Path) -> None:
    u = make_county(engine)
    store = AttachmentStore(tmp_path / "att", LIMITS)
    with session_scope(engine) as s:
        c = core.open_case(
            s,
            u["grid"],
            core.CaseInput(
                origin="river_patrol",
                title="河道内堆放垃圾",
                received_on=cst_today(),
                river="泾河",
                reach="八里桥—平镇桥段",
                longitude="106.69",
                latitude="35.54",
                lead_unit="水务局",
            ),
        )
        assert c.due_on is not None and c.kind == "patrol"  # 15 working days by default
        assert core.get(s, u["grid"], c.code).code == c.code  # grid users see patrols
        _attach(s, store, u["grid"], c.code, "photo")
        core.fire(s, u["grid"], c.code, "dispose", fields={"disposal": "已清理"})
        _attach(s, store, u["grid"], c.code, "recheck_photo")
        c = core.fire(s, u["grid"], c.code, "recheck_close", fields={"recheck_note": "已清理干净"})
        assert core.state_label(c) == "已复查销号" and c.closed_on == cst_today()
