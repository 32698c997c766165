"""The sample district's 应急减排清单 and its past 橙色 warning (示例数据, ``data/emergency.toml``).

The 清单 is an Excel workbook in the import's layout, loaded through the same import as any
county's (:func:`qingshan.services.sources.warnings.import_measures`); the warning is recorded
through :func:`~qingshan.services.sources.warnings.add_warning` at the scenario's window
(:func:`qingshan.demo.synth.warning_window`), once: a database that has a warning with the
demo's 文号 keeps it. Loading again changes nothing.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import Engine, select

from qingshan.demo.district import District
from qingshan.demo.synth import warning_window
from qingshan.demo.workbook import credit_code
from qingshan.services.sources import warnings
from qingshan.storage.db import session_scope
from qingshan.storage.models_sources import SourceWarning

from .loader import DEMO, DemoLoadError


def _data() -> dict[str, Any]:
    text = resources.files("qingshan.demo").joinpath("data", "emergency.toml").read_text("utf-8")
    return tomllib.loads(text)


def listing_workbook(d: District) -> bytes:
    """The demo 清单 as an Excel workbook (what :func:`load_emergency` imports)."""
    by_id = {e.id: e for e in d.enterprises}
    rows = []
    for m in _data()["measure"]:
        e = by_id[m["enterprise"]]
        for level in warnings.LEVELS:
            measure, reduction = m[level]
            rows.append(
                {
                    "credit_code": credit_code(d, e),
                    "name": e.name,
                    "grade": m["grade"],
                    "level": warnings.LEVELS[level],
                    "measure": measure,
                    "reduction": reduction,
                }
            )
    return warnings.measures_workbook(rows)


def load_emergency(engine: Engine, d: District, anchor: datetime) -> dict[str, Any]:
    """Import the 清单 and record the scenario's warning (unless already there)."""
    report = warnings.import_measures(engine, DEMO, listing_workbook(d))
    if not report.ok:
        problems = "; ".join(str(p) for p in report.problems[:5])
        raise DemoLoadError(f"the demo 应急减排清单 was refused: {problems}")
    w = _data()["warning"]
    start, end = warning_window(anchor)
    with session_scope(engine) as s:
        found = s.scalar(select(SourceWarning).where(SourceWarning.document == w["document"]))
        if found is None:
            found = warnings.add_warning(
                s,
                DEMO,
                level=w["level"],
                region=d.code,
                start=start,
                end=end,
                document=w["document"],
                note=w["note"],
            )
        wid = found.id
    return {"warning_id": wid, "measures": report.counts["应急减排清单"].rows}
