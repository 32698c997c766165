"""The demo's case ledgers: ``qingshan case stats --json`` reproduces seed 000's sentences about
崆峒区's four inspection rounds (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from qingshan.cli.main import app
from qingshan.demo import cases as demo_cases
from qingshan.demo.district import load_district
from qingshan.demo.loader import load_registry
from qingshan.services.cases import alarm as alarm_cases
from qingshan.services.cases import core
from qingshan.storage.db import session_scope
from qingshan.storage.models_cases import CaseItem
from qingshan.storage.models_casework import ScheduledJob

# 第一轮中央环保督察反馈的23个问题全部整改到位，31件信访问题全部办结；第二轮中央生态环境保护督察
# 反馈的15个问题全部完成整改，交办的96件信访问题全部办结；第一轮省级环保督察反馈的23个问题完成
# 整改22个，正在整改1件，64件信访问题全部办结；第二轮省级生态环境保护督察反馈的30个问题完成整改
# 17个，正在整改13个，84件信访问题已办结82件。
SEED = {
    ("central_inspection", 1, "problem"): {"total": 23, "rectified": 23, "in_progress": 0},
    ("central_inspection", 1, "complaint"): {"total": 31, "closed": 31, "in_progress": 0},
    ("central_inspection", 2, "problem"): {"total": 15, "rectified": 15, "in_progress": 0},
    ("central_inspection", 2, "complaint"): {"total": 96, "closed": 96, "in_progress": 0},
    ("provincial_inspection", 1, "problem"): {"total": 23, "rectified": 22, "in_progress": 1},
    ("provincial_inspection", 1, "complaint"): {"total": 64, "closed": 64, "in_progress": 0},
    ("provincial_inspection", 2, "problem"): {"total": 30, "rectified": 17, "in_progress": 13},
    ("provincial_inspection", 2, "complaint"): {"total": 84, "closed": 82, "in_progress": 2},
}


def test_case_stats_reproduce_the_seed(db_url: str, engine: Engine) -> None:
    load_registry(engine, load_district())
    first = demo_cases.load_cases(engine)
    assert first == {"created": 366, "updated": 0, "unchanged": 0}
    r = CliRunner().invoke(app, ["case", "stats", "--json", "--region", "620802", "--db", db_url])
    assert r.exit_code == 0, r.stderr
    rows = {(x["origin"], x["round"], x["kind"]): x for x in json.loads(r.stdout)}
    assert set(rows) == set(SEED)
    for key, expected in SEED.items():
        got = rows[key]
        assert {k: got[k] for k in expected} == expected, key
        # for problems closed = rectified; 全部 means a closure rate of 100.0
        if key[2] == "problem":
            assert got["closed"] == got["rectified"]
        assert (got["closure_rate"] == 100.0) == (got["in_progress"] == 0)
    assert rows[("provincial_inspection", 2, "complaint")]["closure_rate"] == 97.6  # 82/84
    with session_scope(engine) as s:
        titles = list(s.scalars(select(CaseItem.title)))
        assert len(titles) == 366 and all("示例数据" in t for t in titles)
    # no idle reminders: no state reminder for a state taken from a ledger, deadline warnings
    # for the 16 open cases only (3 colours each at most)
    jobs = _jobs(engine)
    assert not [k for k, _c in jobs if k != "case_warning"]
    with session_scope(engine) as s:
        cases = s.scalars(select(CaseItem))
        open_ids = {str(c.id) for c in cases if "closed" not in core.state_tags(c)}
        assert alarm_cases.lead_unit_for(s, "620802") == "KT-SHJ"  # the demo's rule, as data
    assert len(open_ids) == 16 and {c for _k, c in jobs} <= open_ids
    assert 0 < len(jobs) <= 3 * 16
    # loading again (a second `qingshan demo`) changes nothing, and adds no job
    assert demo_cases.load_cases(engine) == {"created": 0, "updated": 0, "unchanged": 366}
    assert _jobs(engine) == jobs


def _jobs(engine: Engine) -> list[tuple[str, str]]:
    """(kind, the id after the dedup key's prefix: a case's for case_warning) of every job"""
    with session_scope(engine) as s:
        return sorted(
            (j.kind, (j.dedup_key or "::").split(":")[1]) for j in s.scalars(select(ScheduledJob))
        )
