"""Workflows as data: the shipped definitions validate, decisions give the specific reason,
broken definitions are refused with every fault named (pure: no database)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qingshan.roles import ROLE_NAMES
from qingshan.workflow import (
    Record,
    Workflow,
    WorkflowError,
    available,
    can,
    load,
    may_start,
    parse,
    shipped_names,
)

IMPORT = load("registry_import", roles=ROLE_NAMES)
RECT = load("inspection_rectification", roles=ROLE_NAMES)
COMPLAINT = load("complaint", roles=ROLE_NAMES)
PATROL = load("patrol", roles=ROLE_NAMES)


def test_the_shipped_definitions_are_valid() -> None:
    assert shipped_names() == [
        "alarm",
        "complaint",
        "inspection_rectification",
        "patrol",
        "plan_report",
        "plan_task_progress",
        "registry_import",
    ]
    assert IMPORT.initial == "uploaded"
    assert {s.label for s in IMPORT.states.values()} == {"已上传", "已校验", "已导入", "已驳回"}
    # 督察整改 keeps 完成整改 and 销号 distinct, with the 销号 steps in order
    assert RECT.states["rectified"].label == "已完成整改"
    assert RECT.states["closed"].label == "已销号" and "signed_off" in RECT.states["closed"].tags
    assert "signed_off" not in RECT.states["rectified"].tags
    path = ["begin", "complete", "apply_sign_off", "accept_district", "announce", "close"]
    state = RECT.initial
    for t in path:
        assert state in RECT.transitions[t].sources
        state = RECT.transitions[t].target
    assert state == "closed"
    assert RECT.transitions["reopen"].sources == ("closed",)  # 回头看 can reopen
    assert RECT.transitions["accept_district"].units == ("acceptance",)
    # 信访: 受理/转办/办理/答复/办结/回访 with the 15-day acceptance limit
    labels = [COMPLAINT.transitions[t].label for t in ("accept", "transfer", "handle", "reply")]
    assert labels == ["受理", "转办", "办理", "答复"]
    assert COMPLAINT.transitions["conclude"].label == "办结"
    assert COMPLAINT.transitions["visit"].label == "回访"
    assert COMPLAINT.states["registered"].deadline is not None
    assert COMPLAINT.states["registered"].deadline.amount == 15
    assert COMPLAINT.fields["finding"].choices == ("属实", "基本属实", "部分属实", "不属实")
    assert "closed" not in COMPLAINT.states["interim"].tags  # 阶段性办结 is not 办结
    patrol = [PATROL.transitions[t].label for t in ("dispose", "report", "assign", "complete")]
    assert patrol == ["现场处置", "上报", "交办整改", "完成整改"]
    assert PATROL.transitions["recheck_close"].label == "复查销号"


def test_each_reason_is_specific() -> None:
    rec = Record("uploaded", {}, {})
    d = can(IMPORT, "nope", "admin", rec)
    assert (d.allowed, d.code) == (False, "unknown_transition")
    d = can(IMPORT, "import", "admin", rec)
    assert d.code == "wrong_state" and "当前状态「已上传」不能导入" in d.message
    d = can(IMPORT, "validate", "enterprise", rec, role_label="企业用户")
    assert d.code == "role" and d.message == "角色「企业用户」无权校验通过"
    d = can(IMPORT, "validate", "staff", rec)
    assert d.code == "missing_fields" and d.missing == ("rows_total", "report")
    assert "「数据行数」、「校验报告」" in d.message
    d = can(IMPORT, "validate", "staff", Record("uploaded", {"rows_total": "x", "report": "ok"}))
    assert d.code == "invalid_field" and "应为整数" in d.message
    d = can(IMPORT, "validate", "staff", Record("uploaded", {"rows_total": 3, "report": "ok"}))
    assert d.code == "missing_evidence" and d.missing == ("workbook",)
    assert "须上传「登记表工作簿」" in d.message
    ok = can(
        IMPORT,
        "validate",
        "staff",
        Record("uploaded", {"rows_total": 3, "report": "ok"}, {"workbook": 1}),
    )
    assert ok and ok.code == "ok"
    d = can(IMPORT, "reject", "admin", Record("imported", {"reason": "x"}))
    assert d.code == "final_state" and "已处于终态「已导入」" in d.message
    d = can(COMPLAINT, "handle", "grid", Record("accepted", {"finding": "大概属实"}, {}))
    assert d.code == "invalid_field" and "属实、基本属实、部分属实、不属实" in d.message


def test_starting_needs_a_start_role() -> None:
    assert may_start(IMPORT, "staff")
    d = may_start(IMPORT, "grid", role_label="网格员")
    assert not d and d.message == "角色「网格员」无权发起登记表导入"


def test_available_lists_the_way_out_of_a_state() -> None:
    names = {t.name for t, _ in available(IMPORT, "staff", Record("validated"))}
    assert names == {"import", "reject"}
    allowed = {
        t.name for t, d in available(IMPORT, "staff", Record("validated", {"reason": "x"})) if d
    }
    assert allowed == {"reject"}  # staff may not write the import; only admins


BACK = '[[transitions]]\nname = "back"\nfrom = ["b"]\nto = "a"\nroles = ["admin"]\n'
GOOD = """
[workflow]
name = "t"
version = 1
initial = "a"
start_roles = ["admin"]
[fields.x]
type = "int"
[evidence.photo]
label = "照片"
[states.a]
label = "甲"
[states.b]
label = "乙"
final = true
[[transitions]]
name = "go"
from = ["a"]
to = "b"
roles = ["admin"]
requires = ["x"]
evidence = ["photo"]
"""


def test_a_minimal_definition_parses() -> None:
    wf = parse(GOOD, roles=ROLE_NAMES)
    assert wf.transitions["go"].target == "b"


@pytest.mark.parametrize(
    ("edit", "fault"),
    [
        (lambda t: t.replace('initial = "a"', 'initial = "z"'), "初始状态 'z' 未定义"),
        (lambda t: t.replace('to = "b"', 'to = "c"'), "目标状态 'c' 未定义"),
        (
            lambda t: t.replace('roles = ["admin"]\nrequires', 'roles = ["boss"]\nrequires'),
            "角色 'boss' 不存在",
        ),
        (lambda t: t.replace('requires = ["x"]', 'requires = ["y"]'), "字段 'y' 未定义"),
        (lambda t: t.replace('evidence = ["photo"]', 'evidence = ["map"]'), "材料 'map' 未定义"),
        (lambda t: t.replace("final = true", ""), "没有终态"),
        (lambda t: t + '[states.c]\nlabel = "丙"\n', "状态 c 从初始状态不可达"),
        (lambda t: t.replace('type = "int"', 'type = "money"'), "类型 'money' 无效"),
        (lambda t: t.replace('start_roles = ["admin"]', ""), "没有人能发起"),
        (
            lambda t: t.replace(
                '[states.a]\nlabel = "甲"',
                '[states.a]\nlabel = "甲"\ndeadline = { amount = 3, unit = "week" }',
            ),
            "期限单位 'week' 无效",
        ),
        (lambda t: t + BACK, "从终态 b 出发"),
        (
            lambda t: t.replace('evidence = ["photo"]', 'evidence = ["photo"]\nunits = ["boss"]'),
            "单位关系 'boss' 无效",
        ),
    ],
)
def test_broken_definitions_name_their_fault(edit: Any, fault: str) -> None:
    with pytest.raises(WorkflowError) as exc:
        parse(edit(GOOD), roles=ROLE_NAMES)
    assert any(fault in p for p in exc.value.problems), exc.value.problems


def _complete(wf: Workflow, state: str) -> Record:
    """A record in ``state`` with every field valid and every evidence present."""
    values: dict[str, Any] = {}
    for f in wf.fields.values():
        values[f.name] = {
            "int": 1,
            "date": date(2026, 3, 1),
            "choice": f.choices[:1] and f.choices[0],
            "bool": True,
        }.get(f.type, "说明")
    return Record(state, values, {e: 1 for e in wf.evidence})


definitions = st.sampled_from([IMPORT, RECT, COMPLAINT, PATROL])


@given(definitions, st.data())
def test_decisions_follow_the_definition(wf: Workflow, data: st.DataObject) -> None:
    state = data.draw(st.sampled_from(sorted(wf.states)))
    transition = data.draw(st.sampled_from(sorted(wf.transitions)))
    role = data.draw(st.sampled_from(ROLE_NAMES))
    t = wf.transitions[transition]
    d = can(wf, transition, role, _complete(wf, state))
    expected = (not wf.states[state].final) and state in t.sources and role in t.roles
    assert d.allowed == expected
    if not d.allowed:
        assert d.message
    # taking away one required item always refuses an otherwise allowed transition
    if expected and t.evidence:
        rec = _complete(wf, state)
        gone = data.draw(st.sampled_from(t.evidence))
        less = Record(state, rec.fields, {k: v for k, v in rec.evidence.items() if k != gone})
        refused = can(wf, transition, role, less)
        assert refused.code == "missing_evidence" and gone in refused.missing
    if expected and t.requires:
        rec = _complete(wf, state)
        gone = data.draw(st.sampled_from(t.requires))
        less = Record(state, {k: v for k, v in rec.fields.items() if k != gone}, rec.evidence)
        refused = can(wf, transition, role, less)
        assert refused.code == "missing_fields" and gone in refused.missing


@given(definitions, st.lists(st.integers(0, 50), max_size=30))
def test_random_walks_end_in_a_final_state_or_keep_a_way_out(
    wf: Workflow, choices: list[int]
) -> None:
    state = wf.initial
    for c in choices:
        out = [t for t, d in available(wf, "admin", _complete(wf, state)) if d]
        if wf.states[state].final:
            assert out == []
            break
        assert wf.outgoing(state)  # every non-final state has a way out
        if not out:
            break
        state = out[c % len(out)].target
