"""The supervision board's and the warning board's tables as Excel workbooks (one sheet per
table: a title row, the headers, the rows), through :func:`excel_import.write_workbook` — the
same layout as the registry's exports. Values are the boards' own (exact decimal text stays
text; shares become percentages with 2 decimals, as the pages show them)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qingshan.services import excel_import as xi
from qingshan.standards.rounding import round_half_even

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cols(*pairs: tuple[str, str]) -> tuple[xi.Column, ...]:
    return tuple(xi.Column(k, h) for k, h in pairs)


def _pct(x: float | str | None, *, fraction: bool = True) -> str:
    """A share (0–1, 4 decimals as the API gives it) as percent text; 不考核 when None."""
    if x is None:
        return "不考核"
    d = Decimal(str(x)) * (100 if fraction else 1)
    return f"{round_half_even(d, 2)}%"


def _t(iso: str | None) -> str:
    return "" if iso is None else iso[:16].replace("T", " ")


EPISODE = _cols(
    ("enterprise", "企业"),
    ("outlet", "排放口"),
    ("kind", "类型"),
    ("pollutant", "污染物"),
    ("start", "开始（北京时间）"),
    ("end", "结束（北京时间）"),
    ("periods", "时段数"),
    ("peak", "峰值"),
    ("limit", "限值"),
    ("status", "状态"),
)
RANKING = _cols(
    ("name", "企业"),
    ("credit_code", "统一社会信用代码"),
    ("t", "传输率"),
    ("v", "有效率"),
    ("et", "有效传输率"),
    ("hours", "超标小时（废气）"),
    ("days", "超标天数（废水）"),
)


def _episodes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "enterprise": e["enterprise"],
            "outlet": e["outlet"],
            "kind": e["kind_label"],
            "pollutant": e.get("pollutant") or "",
            "start": _t(e["start"]),
            "end": _t(e["end"]),
            "periods": e["periods"],
            "peak": e.get("peak") or "",
            "limit": ""
            if e.get("limit") is None
            else f"{e['limit']} {e.get('unit') or ''}".strip(),
            "status": e["status_label"],
        }
        for e in rows
    ]


def board_workbook(b: dict[str, Any]) -> bytes:
    """正在超标, 当前离线, 数据线索, 有效传输率排名 of :func:`views.board`."""
    period = f"（{b['from']} 起，数据截止 {_t(b['cutoff'])}）"
    sheets = [
        (xi.SheetSpec("正在超标", EPISODE, title="正在超标" + period), _episodes(b["exceeding"])),
        (xi.SheetSpec("当前离线", EPISODE, title="当前离线" + period), _episodes(b["offline"])),
        (
            xi.SheetSpec("数据线索", EPISODE, title="数据线索（仅供核查，不是结论）" + period),
            _episodes(b["suspicious"]),
        ),
        (
            xi.SheetSpec(
                "有效传输率排名", RANKING, title="本月有效传输率排名（由低到高）" + period
            ),
            [
                {
                    "name": r["name"],
                    "credit_code": r["credit_code"],
                    "t": _pct(r["transmission_rate"]),
                    "v": _pct(r["validity_rate"]),
                    "et": _pct(r["effective_transmission_rate"]),
                    "hours": r["exceedance_hours"],
                    "days": r["exceedance_days"],
                }
                for r in b["ranking"]
            ],
        ),
    ]
    return xi.write_workbook(sheets)


WARNING = _cols(
    ("name", "企业"),
    ("credit_code", "统一社会信用代码"),
    ("grade", "绩效分级"),
    ("measure", "减排措施"),
    ("expected", "预期减排比例"),
    ("reduction", "实测降幅"),
    ("basis", "依据"),
    ("hours", "基准期 / 预警期小时数"),
    ("verdict", "落实情况"),
)
BASIS = {"emission": "排放量", "flow": "烟气流量", "": ""}


def warning_workbook(b: dict[str, Any]) -> bytes:
    """The warning board (:func:`warnings.board`) as one sheet."""
    w = b["warning"]
    end = f"{_t(w['end'])} 解除" if w["end"] else "持续中"
    title = (
        f"{w['level_label']}预警 {w['region_name'] or w['region']} {_t(w['start'])} 起，{end}"
        f"（{w['document']}）；数据截止 {_t(b['cutoff'])}；与预警前 7 天同时段比较，仅为核查提示"
    )
    rows = [
        {
            "name": e["name"],
            "credit_code": e["credit_code"],
            "grade": e["grade_label"] or "",
            "measure": e["measure"],
            "expected": f"{e['expected_pct']}%",
            "reduction": "" if e["reduction_pct"] is None else f"{e['reduction_pct']}%",
            "basis": BASIS.get(e["basis"], e["basis"]),
            "hours": "；".join(
                f"{i['code']} {i['baseline_hours']}/{i['during_hours']}" for i in e["indicators"]
            ),
            "verdict": e["verdict_label"],
        }
        for e in b["enterprises"]
    ]
    return xi.write_workbook([(xi.SheetSpec("应急减排落实情况", WARNING, title=title), rows)])
