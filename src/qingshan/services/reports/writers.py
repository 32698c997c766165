"""Write a :class:`~qingshan.services.reports.model.Report` as .docx, .xlsx or .pdf.

Word layout follows the usual form of a bureau's bulletin: a red masthead (报头) with the
title, issue and issuing office, a red rule, headings in 黑体/楷体, body text in 仿宋 with a
two-character first-line indent, tables in 宋体 with a grid. Fonts are named by their Chinese
names so Word on Windows uses the usual ones; LibreOffice substitutes installed CJK fonts.

Output is reproducible: the package's file times and document dates are fixed (derived from
the report period), so the same stored figures give byte-identical files.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from openpyxl import Workbook
from openpyxl.drawing.image import Image as XlImage
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from qingshan.services.reports.model import Block, Report, ReportError, TableBlock

RED = RGBColor(0xC0, 0x00, 0x00)
FIXED_TIME = datetime(2000, 1, 1)
BODY_FONT, HEAD_FONT, SUB_FONT, TABLE_FONT = "仿宋", "黑体", "楷体", "宋体"


# ------------------------------------------------------------------------------ helpers


def _fonts(
    run: Any,
    east: str,
    size: float | None = None,
    bold: bool | None = None,
    colour: RGBColor | None = None,
) -> None:
    run.font.name = "Times New Roman"
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), east)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = colour


def _shade(cell: Any, colour: str) -> None:
    tcpr = cell._element.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), colour.lstrip("#"))
    tcpr.append(shd)


def _rule(paragraph: Any, colour: str = "C00000", size: int = 18) -> None:
    ppr = paragraph._element.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), str(size))
    bottom.set(qn("w:space"), "1")
    bottom.set(qn("w:color"), colour)
    bdr.append(bottom)
    ppr.append(bdr)


def _box(paragraph: Any, colour: str = "C00000") -> None:
    ppr = paragraph._element.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    for side in ("top", "left", "bottom", "right"):
        e = OxmlElement(f"w:{side}")
        e.set(qn("w:val"), "single")
        e.set(qn("w:sz"), "8")
        e.set(qn("w:space"), "4")
        e.set(qn("w:color"), colour)
        bdr.append(e)
    ppr.append(bdr)


def _page_number(section: Any) -> None:
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    r = p.add_run("— ")
    _fonts(r, BODY_FONT, 10.5)
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    inner = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "1"
    inner.append(t)
    fld.append(inner)
    p._element.append(fld)
    r2 = p.add_run(" —")
    _fonts(r2, BODY_FONT, 10.5)


def _light(colour: str | None) -> bool:
    if not colour:
        return True
    c = colour.lstrip("#")
    r, g, b = int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    return 0.299 * r + 0.587 * g + 0.114 * b > 140


def _normalise_zip(data: bytes, stamp: str) -> bytes:
    """Fixed entry times and document dates: identical inputs give identical bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = blob.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    rf"\g<1>{stamp}\g<3>",
                    text,
                )
                blob = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, blob)
    return out.getvalue()


# ------------------------------------------------------------------------------ Word


def _masthead(doc: Any, rep: Report) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_before = Pt(12)
    p.paragraph_format.space_after = Pt(6)
    region = rep.issuer.removesuffix("生态环境局")
    _fonts(p.add_run(f"{region}{rep.title}"), "方正小标宋简体", 30, True, RED)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(p.add_run(f"（{rep.issue_label}）"), BODY_FONT, 14)
    p = doc.add_paragraph()
    p.paragraph_format.tab_stops.add_tab_stop(Cm(16.0), alignment=2)  # right tab
    _fonts(p.add_run(f"{rep.issuer}\t{rep.date_label}"), BODY_FONT, 14)
    _rule(p)
    if rep.notice:
        n = doc.add_paragraph()
        n.paragraph_format.space_before = Pt(8)
        _box(n)
        _fonts(n.add_run(rep.notice), HEAD_FONT, 11, True, RED)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_before = Pt(10)
    _fonts(
        p.add_run(f"{rep.period_label}{rep.issuer.removesuffix('生态环境局')}环境质量状况"),
        HEAD_FONT,
        18,
        True,
    )


TEXT_WIDTH_PT = 16.0 / 2.54 * 72  # A4 less 2.5 cm margins each side
CELL_PAD_PT = 11.0  # Word's default cell margins, 0.19 cm a side
# Cell values that stay on one line: numbers, 同比, dates and times (no CJK, up to 18
# characters) and short words (达标, 轻度污染: up to 4 characters); names and sentences wrap.
NO_WRAP_CHARS, NO_WRAP_WORD = 18, 4
SMALLEST_PT = 7.5  # a crowded table's text is made smaller down to this, never below


def _text_pt(text: str, size: float) -> float:
    """Estimated printed width: CJK and full-width characters one em, others about half."""
    return sum(size if ord(ch) >= 0x2E80 else 0.55 * size for ch in text)


def _one_line(text: str) -> bool:
    if len(text) <= NO_WRAP_WORD:
        return True
    return len(text) <= NO_WRAP_CHARS and all(ord(ch) < 0x2E80 for ch in text)


def _levels(t: TableBlock, size: float) -> list[list[float]]:
    """Three widths per column (pt), each at least the one before: the least it can take
    (short values — numbers, 同比, 达标 … — on one line, a header of three or more characters
    on two lines, text four characters a line), a comfortable width (the header on one line,
    text six characters a line) and its natural width (everything on one line)."""
    hard: list[float] = []
    soft: list[float] = []
    natural: list[float] = []
    for i, head in enumerate(t.header):
        lines = [x for r in t.rows for x in r[i].split("\n")]
        body = max((_text_pt(x, size) for x in lines), default=0.0)
        nat = max(body, _text_pt(head, size)) + CELL_PAD_PT
        short = [_text_pt(x, size) for x in lines if _one_line(x)]
        h = _text_pt(head, size) if len(head) <= 2 else _text_pt(head[: -(-len(head) // 2)], size)
        text = any(not _one_line(x) for x in lines)  # names, sentences: may wrap
        lo = min(nat, max([h, 4 * size if text else 0.0, *short]) + CELL_PAD_PT)
        mid = min(nat, max(lo, _text_pt(head, size) + CELL_PAD_PT, 6 * size + CELL_PAD_PT))
        hard.append(lo)
        soft.append(mid)
        natural.append(nat)
    return [hard, soft, natural]


def fit_table(t: TableBlock) -> tuple[float, list[float]]:
    """Font size and column widths (pt) that fill the text width: the widest of
    :func:`_levels` that fits, with what is left shared towards the next level (so short
    values never wrap, headers and names wrap only when the page is too narrow for them). A
    table whose least widths do not fit is set smaller, down to 7.5 pt."""
    size = t.font_size
    levels = _levels(t, size)
    while sum(levels[0]) > TEXT_WIDTH_PT and size > SMALLEST_PT:
        size -= 0.5
        levels = _levels(t, size)
    if sum(levels[0]) >= TEXT_WIDTH_PT:
        return size, [w * TEXT_WIDTH_PT / sum(levels[0]) for w in levels[0]]
    if sum(levels[-1]) <= TEXT_WIDTH_PT:
        return size, [w * TEXT_WIDTH_PT / sum(levels[-1]) for w in levels[-1]]
    lo, hi = next((a, b) for a, b in pairwise(levels) if sum(b) > TEXT_WIDTH_PT)
    k = (TEXT_WIDTH_PT - sum(lo)) / (sum(hi) - sum(lo))
    return size, [a + k * (b - a) for a, b in zip(lo, hi, strict=True)]


def _docx_table(doc: Any, t: TableBlock) -> None:
    cap = doc.add_paragraph()
    cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
    cap.paragraph_format.space_before = Pt(6)
    cap.paragraph_format.keep_with_next = True
    _fonts(cap.add_run(t.title), HEAD_FONT, 11, True)
    table = doc.add_table(rows=1, cols=len(t.header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    size, fitted = fit_table(t)
    widths = [Pt(w) for w in fitted]
    # the header row is repeated on each page a long table runs onto
    head_pr = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    head_pr.append(repeat)
    for i, h in enumerate(t.header):
        c = table.rows[0].cells[i]
        c.text = ""
        para = c.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _fonts(para.add_run(h), HEAD_FONT, size, True)
        _shade(c, "#D9E2F3")
    for r, row in enumerate(t.rows):
        cells = table.add_row().cells
        for i, v in enumerate(row):
            cell = cells[i]
            para = cell.paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            lines = v.split("\n")
            for k, line in enumerate(lines):
                run = para.add_run(line)
                fill = t.fills[r][i] if t.fills else None
                _fonts(
                    run,
                    TABLE_FONT,
                    size,
                    None,
                    None if _light(fill) else RGBColor(0xFF, 0xFF, 0xFF),
                )
                if k < len(lines) - 1:
                    run.add_break()
            if t.fills and t.fills[r][i]:
                _shade(cell, t.fills[r][i] or "")
    table.autofit = False  # fixed layout: Word keeps the widths below
    grid = table._tbl.tblGrid
    for i, col in enumerate(grid.findall(qn("w:gridCol"))):
        col.set(qn("w:w"), str(int(widths[i].twips)))
    for row in table.rows:
        for i, w in enumerate(widths):
            row.cells[i].width = w
    n = doc.add_paragraph()
    n.paragraph_format.space_after = Pt(6)
    if t.note:
        _fonts(n.add_run("注：" + t.note), BODY_FONT, 9)


def _heading_styles(doc: Any) -> None:
    """Word's built-in Heading 1 / Heading 2 (so the navigation pane and a table of contents
    find the sections), restyled to the office fonts: 黑体 15 pt and 楷体 13 pt, black, no
    theme fonts or colours."""
    for name, east, size, indent in (
        ("Heading 1", HEAD_FONT, 15, None),
        ("Heading 2", SUB_FONT, 13, 24),
    ):
        st = doc.styles[name]
        st.font.name = "Times New Roman"
        st.font.size = Pt(size)
        st.font.bold = True
        st.font.italic = False
        rpr = st.element.get_or_add_rPr()
        rfonts = rpr.get_or_add_rFonts()
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            rfonts.attrib.pop(qn(attr), None)
        rfonts.set(qn("w:eastAsia"), east)
        rfonts.set(qn("w:ascii"), "Times New Roman")
        rfonts.set(qn("w:hAnsi"), "Times New Roman")
        colour = rpr.find(qn("w:color"))
        if colour is not None:
            rpr.remove(colour)
        st.font.color.rgb = RGBColor(0, 0, 0)
        pf = st.paragraph_format
        pf.space_before = Pt(12 if name == "Heading 1" else 8)
        pf.space_after = Pt(4)
        pf.keep_with_next = True
        pf.first_line_indent = None if indent is None else Pt(indent)


def _docx_block(doc: Any, b: Block) -> None:
    if b.kind == "h1":
        doc.add_paragraph(b.text, style="Heading 1")
    elif b.kind == "h2":
        doc.add_paragraph(b.text, style="Heading 2")
    elif b.kind in ("p", "note"):
        p = doc.add_paragraph()
        p.paragraph_format.first_line_indent = Pt(24)
        p.paragraph_format.line_spacing = 1.35
        _fonts(p.add_run(b.text), BODY_FONT, 12 if b.kind == "p" else 10)
    elif b.kind == "table" and b.table is not None:
        _docx_table(doc, b.table)
    elif b.kind == "image" and b.image is not None:
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.keep_with_next = True
        p.add_run().add_picture(io.BytesIO(b.image), width=Cm(b.width_cm))
        cap = doc.add_paragraph()
        cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _fonts(cap.add_run(b.text), BODY_FONT, 10)


def to_docx(rep: Report) -> bytes:
    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.5)
    sec.top_margin, sec.bottom_margin = Cm(2.5), Cm(2.2)
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(12)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    _heading_styles(doc)
    _page_number(sec)
    props = doc.core_properties
    props.title = f"{rep.issuer}{rep.period_label}{rep.title}"
    props.author = rep.issuer
    props.subject = rep.title
    props.keywords = "；".join(rep.standards)
    props.comments = f"fingerprint {rep.provenance.get('fingerprint', '')}" + (
        f"；{rep.notice}" if rep.notice else ""
    )
    props.created = props.modified = FIXED_TIME
    props.last_modified_by = "Qingshan"
    props.revision = 1
    _masthead(doc, rep)
    for b in rep.blocks:
        _docx_block(doc, b)
    for i, line in enumerate(rep.signoff):
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        p.paragraph_format.space_before = Pt(18 if i == 0 else 4)
        _fonts(p.add_run(line), BODY_FONT, 14)
    buf = io.BytesIO()
    doc.save(buf)
    return _normalise_zip(buf.getvalue(), FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ"))


# ------------------------------------------------------------------------------ Excel


def to_xlsx(rep: Report) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "说明"
    thin = Side(style="thin", color="999999")
    grid = Border(left=thin, right=thin, top=thin, bottom=thin)
    lines = [
        (
            f"{rep.issuer}  {rep.period_label}{rep.title}（{rep.issue_label}）",
            Font(name="黑体", size=16, bold=True, color="C00000"),
        ),
        (f"发布单位：{rep.issuer}    日期：{rep.date_label}", Font(name="仿宋", size=11)),
    ]
    if rep.notice:
        lines.append((rep.notice, Font(name="黑体", size=11, bold=True, color="C00000")))
    lines.append(("所用标准及规则版本：" + "；".join(rep.standards), Font(name="仿宋", size=11)))
    lines.append(
        (
            f"报告指纹：{rep.provenance.get('fingerprint', '')}（数据取自已存储的计算结果）",
            Font(name="仿宋", size=11),
        )
    )
    for b in rep.blocks:
        if b.kind in ("p", "note", "h1", "h2"):
            lines.append(
                (
                    b.text,
                    Font(
                        name="黑体" if b.kind.startswith("h") else "仿宋",
                        size=12 if b.kind.startswith("h") else 11,
                        bold=b.kind.startswith("h"),
                    ),
                )
            )
    lines += [(line, Font(name="仿宋", size=12)) for line in rep.signoff]
    for i, (text, font) in enumerate(lines, start=1):
        c = ws.cell(row=i, column=1, value=text)
        c.font = font
        c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 120
    used: set[str] = {"说明"}
    for t in rep.tables():
        name = t.sheet[:31]
        k = 2
        while name in used:
            name = f"{t.sheet[:28]}{k}"
            k += 1
        used.add(name)
        sh = wb.create_sheet(name)
        sh.cell(row=1, column=1, value=t.title).font = Font(name="黑体", size=12, bold=True)
        for j, h in enumerate(t.header, start=1):
            c = sh.cell(row=2, column=j, value=h)
            c.font = Font(name="黑体", bold=True)
            c.fill = PatternFill("solid", fgColor="D9E2F3")
            c.border = grid
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for r, row in enumerate(t.rows):
            for j, v in enumerate(row, start=1):
                c = sh.cell(row=r + 3, column=j, value=_cell_value(v))
                c.border = grid
                c.font = Font(name="宋体")
                c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
                fill = t.fills[r][j - 1] if t.fills else None
                if fill:
                    c.fill = PatternFill("solid", fgColor=fill.lstrip("#"))
                    if not _light(fill):
                        c.font = Font(name="宋体", color="FFFFFF")
        for j in range(1, len(t.header) + 1):
            longest = max([len(t.header[j - 1])] + [len(r[j - 1]) for r in t.rows])
            sh.column_dimensions[get_column_letter(j)].width = min(max(8, longest * 2 + 2), 60)
        if t.note:
            sh.cell(row=len(t.rows) + 4, column=1, value="注：" + t.note).font = Font(
                name="仿宋", size=9
            )
        sh.freeze_panes = "A3"
    images = [b for b in rep.blocks if b.kind == "image" and b.image is not None]
    if images:
        sh = wb.create_sheet("图表")
        at = 1
        for b in images:
            sh.cell(row=at, column=1, value=b.text).font = Font(name="黑体", bold=True)
            assert b.image is not None
            img = XlImage(io.BytesIO(b.image))
            scale = 720 / max(img.width, 1)
            img.width, img.height = int(img.width * scale), int(img.height * scale)
            sh.add_image(img, f"A{at + 1}")
            at += int(img.height / 20) + 4
    wb.properties.creator = rep.issuer
    wb.properties.title = f"{rep.issuer}{rep.period_label}{rep.title}"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    return _normalise_zip(buf.getvalue(), FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _cell_value(v: str) -> str | int | float:
    """Numbers as numbers (offices sum and chart them), everything else as text."""
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    if re.fullmatch(r"-?\d+\.\d+", v):
        return float(v)
    return v


# ------------------------------------------------------------------------------ PDF


def libreoffice() -> str | None:
    """The LibreOffice executable, if installed (PDF output is optional)."""
    return shutil.which("libreoffice") or shutil.which("soffice")


def docx_to_pdf(docx: bytes, timeout: float = 180.0) -> bytes:
    """Convert with ``libreoffice --headless --convert-to pdf`` (optional feature)."""
    exe = libreoffice()
    if exe is None:
        raise ReportError(
            "PDF output needs LibreOffice (e.g. `apt-get install libreoffice-writer-nogui`); "
            "write .docx or .xlsx instead"
        )
    with tempfile.TemporaryDirectory(prefix="qingshan-report-") as tmp:
        src = Path(tmp) / "report.docx"
        src.write_bytes(docx)
        profile = Path(tmp) / "profile"
        try:
            proc = subprocess.run(
                [
                    exe,
                    f"-env:UserInstallation=file://{profile}",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    tmp,
                    str(src),
                ],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ReportError(f"LibreOffice did not finish within {timeout:.0f} s") from None
        out = Path(tmp) / "report.pdf"
        if proc.returncode != 0 or not out.is_file():
            msg = proc.stderr.decode("utf-8", "replace").strip() or "no output"
            raise ReportError(f"LibreOffice could not convert the report: {msg}")
        return out.read_bytes()


def write(rep: Report, out: Path) -> Path:
    """Write by extension: .docx, .xlsx or .pdf."""
    ext = out.suffix.lower()
    if ext == ".docx":
        data = to_docx(rep)
    elif ext == ".xlsx":
        data = to_xlsx(rep)
    elif ext == ".pdf":
        data = docx_to_pdf(to_docx(rep))
    else:
        raise ReportError(f"output {out.name!r}: use a .docx, .xlsx or .pdf file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as exc:
        raise ReportError(f"cannot write {out}: {exc.strerror}") from None
    return out
