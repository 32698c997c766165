"""``qingshan map import / list / clear``: the deployment's map reference layers (rivers,
roads, place names) from GeoJSON files, through :mod:`qingshan.services.map_layers`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from sqlalchemy.orm import Session

from qingshan.cli._db import fail
from qingshan.cli.registry import DB, JSON, done, in_session, show
from qingshan.roles import CLI
from qingshan.services import map_layers
from qingshan.services.map_layers import KIND_LABELS, MapLayerError

app = typer.Typer(help="一张图底图图层：河流、道路、地名（GeoJSON 导入）", no_args_is_help=True)

KIND_HELP = "图层类型：river（河流）、road（道路）、place（地名）"


def _kind(kind: str) -> str:
    if kind not in KIND_LABELS:
        raise fail(f"未知的图层类型 {kind!r}；可选 river、road、place", 2)
    return kind


@app.command("import")
def import_(
    file: str = typer.Argument(..., help="GeoJSON 文件（FeatureCollection，WGS-84 经纬度）"),
    kind: str = typer.Option(..., "--kind", help=KIND_HELP),
    name_field: str = typer.Option("name", "--name-field", help="名称所在的属性名"),
    rank_field: str = typer.Option("rank", "--rank-field", help="等级所在的属性名（可选，整数）"),
    append: bool = typer.Option(
        False, "--append", help="追加到已有图层（默认：替换该类型的全部要素）"
    ),
    source: str | None = typer.Option(None, "--source", help="数据来源（出处、许可）"),
    db: str | None = DB,
) -> None:
    """导入一个图层文件：整个文件先校验，全部合格才写入（默认替换同类型图层）。"""
    _kind(kind)
    path = Path(file)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"无法读取图层文件 {file}：{exc}", 2) from None
    try:
        feats = map_layers.parse_features(
            map_layers.load_file_text(text), kind, name_field=name_field, rank_field=rank_field
        )
    except MapLayerError as exc:
        raise fail(f"{path.name}：{exc}", 2) from None

    def action(s: Session) -> dict[str, Any]:
        r = map_layers.import_features(
            s, CLI, feats, kind, append=append, source=source or path.name
        )
        return {"kind": r.kind, "added": r.added, "removed": r.removed, "total": r.total}

    rec = in_session(db, action)
    how = "追加" if append else f"替换（原有 {rec['removed']} 个）"
    done(f"已导入{KIND_LABELS[kind]}图层 {rec['added']} 个要素，{how}，现共 {rec['total']} 个", rec)


@app.command("list")
def list_(as_json: bool = JSON, db: str | None = DB) -> None:
    """列出各图层的要素数。"""
    counts = in_session(db, map_layers.summary)
    rows = [{"kind": k, "label": v, "features": counts.get(k, 0)} for k, v in KIND_LABELS.items()]
    show(rows, {"kind": "类型", "label": "图层", "features": "要素数"}, as_json)


@app.command("clear")
def clear(kind: str = typer.Option(..., "--kind", help=KIND_HELP), db: str | None = DB) -> None:
    """删除一个图层的全部要素。"""
    _kind(kind)
    n = in_session(db, lambda s: map_layers.clear(s, CLI, kind))
    done(f"已删除{KIND_LABELS[kind]}图层 {n} 个要素", {"kind": kind, "removed": n})
