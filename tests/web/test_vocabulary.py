"""One vocabulary (issue 17): what people read says Ⅰ–Ⅴ类 and 劣Ⅴ类 with the Roman numeral
characters of GB 3838 (never the ASCII letters), 优良天数比率 (HJ 663's term, never 优良天数比例),
and shows times in 北京时间 (no page script reads the browser's own zone). Scans the pages,
their scripts and the services' (and web layer's) source text, so the forms cannot come back.
Stored class codes such as ``"III"`` are code ids, not text for people, and are not flagged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "qingshan"

# ASCII Roman numerals written as a class (II类, III 类, IV类 …) or after 劣 (劣V, 劣 V类).
ASCII_CLASS = re.compile(r"(?<![A-Za-z0-9_])(?:I{1,3}|IV|V)\s*类|劣\s*V(?![A-Za-z])")
WRONG_TERMS = re.compile(r"优良天数比例")
# A page script formatting a time by the browser's zone (common.js works in Asia/Shanghai).
BROWSER_ZONE = re.compile(
    r"\.get(?:FullYear|Month|Date|Day|Hours|Minutes)\(|toLocale(?:Date|Time)?String\(|"
    r"getTimezoneOffset\("
)


def _files() -> list[Path]:
    out = sorted((SRC / "web" / "pages").glob("*.html"))
    out += sorted((SRC / "web" / "static" / "js").glob("*.js"))  # not static/vendor
    out += sorted((SRC / "web").rglob("*.py"))
    out += sorted((SRC / "services").rglob("*.py"))
    return out


def _hits(pattern: re.Pattern[str], paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(SRC)}:{n}: {line.strip()[:120]}")
    return found


def test_the_scan_sees_what_it_guards() -> None:
    files = _files()
    assert any(p.name == "query.js" for p in files) and any(p.name == "query.html" for p in files)
    assert any("services" in p.parts and p.name == "observations.py" for p in files)
    assert all("vendor" not in p.parts for p in files)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("水质为III类", True),
        ("Ⅱ类 beside II 类", True),
        ("劣V类断面", True),
        ("劣 V", True),
        ("IV类", True),
        ("Ⅰ～Ⅲ类、劣Ⅴ类", False),
        ('["III", "Ⅲ类"]', False),  # a stored code beside its label
        ('WaterClass.parse("IV")', False),
        ("VIII类 (not a class numeral of GB 3838)", False),
        ("PM2.5 V类", True),
    ],
)
def test_patterns(text: str, bad: bool) -> None:
    assert bool(ASCII_CLASS.search(text)) is bad


def test_roman_numeral_characters_only() -> None:
    assert _hits(ASCII_CLASS, _files()) == []


def test_standard_terms() -> None:
    assert _hits(WRONG_TERMS, _files()) == []


def test_page_scripts_never_read_the_browser_zone() -> None:
    scripts = sorted((SRC / "web" / "static" / "js").glob("*.js"))
    assert _hits(BROWSER_ZONE, scripts) == []
    assert BROWSER_ZONE.search("const h = t.getHours();")
