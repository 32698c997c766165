"""The report content model shared by the Word and Excel writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ReportError(ValueError):
    """A report that cannot be made (no stored figures, bad month, unwritable output …)."""


@dataclass(slots=True)
class TableBlock:
    title: str
    header: list[str]
    rows: list[list[str]]
    sheet: str  # Excel sheet name (≤ 31 characters)
    fills: list[list[str | None]] | None = None  # cell background colours "#RRGGBB"
    note: str | None = None
    font_size: float = 10.5


@dataclass(slots=True)
class Block:
    kind: str  # "h1" | "h2" | "p" | "table" | "image" | "note"
    text: str = ""
    table: TableBlock | None = None
    image: bytes | None = None
    width_cm: float = 15.5


@dataclass(slots=True)
class Report:
    issuer: str  # 崆峒区生态环境局
    title: str  # 环境质量月报
    period_label: str  # 2026年3月
    issue_label: str  # 2026年第3期
    date_label: str  # 2026年4月1日
    notice: str | None  # 模拟数据 notice
    blocks: list[Block] = field(default_factory=list)
    standards: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    # Tables and figures are numbered as they are added (表1…, 图1…), so the numbering runs on
    # through the document whatever sections a period leaves out.
    n_tables: int = 0
    n_figures: int = 0
    # 审核/签发 lines printed at the end, right-aligned (services.reports.editorial)
    signoff: list[str] = field(default_factory=list)

    def h1(self, text: str) -> None:
        self.blocks.append(Block("h1", text))

    def h2(self, text: str) -> None:
        self.blocks.append(Block("h2", text))

    def p(self, text: str) -> None:
        self.blocks.append(Block("p", text))

    def note(self, text: str) -> None:
        self.blocks.append(Block("note", text))

    def table(self, t: TableBlock) -> None:
        """Add a table; its caption gets the next number (``表3  …``)."""
        self.n_tables += 1
        t.title = f"表{self.n_tables}  {t.title}"
        self.blocks.append(Block("table", table=t))

    def image(self, png: bytes, caption: str, width_cm: float = 15.5) -> None:
        """Add a figure; its caption gets the next number (``图2  …``)."""
        self.n_figures += 1
        self.blocks.append(
            Block("image", f"图{self.n_figures}  {caption}", image=png, width_cm=width_cm)
        )

    def tables(self) -> list[TableBlock]:
        return [b.table for b in self.blocks if b.table is not None]
