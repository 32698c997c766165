"""The demo's 应急减排 scenario is what the warning board finds: the demo 清单 (imported like any
county's) and its past 橙色 warning, on the demo registry and the simulated outlet data of the
16 days before the anchor: E08 (限产50%, cut to 40 %) and E10 (停产) 已落实, E13 (限产30%,
runs on) 未见下降, E12 (offline by then) 无数据."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from qingshan.demo import loader as dl
from qingshan.demo.district import load_district
from qingshan.demo.emergency import load_emergency
from qingshan.demo.synth import generate, warning_window
from qingshan.roles import CLI
from qingshan.services.sources import warnings
from qingshan.storage.db import session_scope

ANCHOR = datetime(2026, 12, 3)  # CST, the demo scenario's "now"
LISTED = ("E08/DA001", "E10/DA001", "E12/DA001", "E13/DA001")

pytestmark = pytest.mark.slow


def test_demo_warning_board(engine: Engine) -> None:
    d = load_district()
    ids = dl.load_registry(engine, d)
    start, end = warning_window(ANCHOR)
    assert ANCHOR - timedelta(days=30) <= start and end < ANCHOR  # inside the last 30 days
    res = generate(d, ANCHOR - timedelta(days=16), ANCHOR, anchor=ANCHOR, kinds=("outlet",))
    dl.ingest_rows(engine, dl.result_rows(res, ids, labels=LISTED))
    first = load_emergency(engine, d, ANCHOR)
    again = load_emergency(engine, d, ANCHOR + timedelta(days=1))  # nothing changes
    assert again["warning_id"] == first["warning_id"] and first["measures"] == 12
    with session_scope(engine) as s:
        b = warnings.board(s, CLI, first["warning_id"], cutoff=ANCHOR)
        (w,) = warnings.list_warnings(s)
        assert (w.starts_at, w.ends_at, w.level) == (start, end, "orange")
    got = {r["name"][:9]: (r["verdict_label"], r["expected_pct"]) for r in b["enterprises"]}
    assert got == {
        "青山示范第一机砖厂": ("已落实", "50"),
        "青山示范第三机砖厂": ("已落实", "100"),
        "青山示范第五机砖厂": ("无数据", "50"),
        "青山示范第六机砖厂": ("未见下降", "30"),
    }, b["enterprises"]
    assert b["warning_hours"] == 72 and b["baseline"]["hours"] == 7 * 24
    e08 = next(r for r in b["enterprises"] if r["verdict"] == "done" and r["expected_pct"] == "50")
    assert 55 <= float(e08["reduction_pct"]) <= 65  # production at 40 %
