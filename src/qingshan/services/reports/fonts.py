"""The CJK font of the report charts, found at run time, and the error that says what to
install when there is none (apart from :mod:`.charts`, so that the command line can name the
error without importing matplotlib, which costs most of a second at every start)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

# Preferred CJK fonts, best first (file-name fragments).
_CANDIDATES = (
    "NotoSansCJK-Regular",
    "NotoSansCJKsc-Regular",
    "NotoSerifCJK-Regular",
    "SourceHanSans",
    "wqy-microhei",
    "wqy-zenhei",
    "simhei",
    "msyh",
    "simsun",
)
_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    str(Path.home() / ".local/share/fonts"),
    str(Path.home() / ".fonts"),
    "C:/Windows/Fonts",
    "/System/Library/Fonts",
    "/Library/Fonts",
)


class FontMissingError(RuntimeError):
    """No font with Chinese glyphs was found for the charts."""


@cache
def cjk_font() -> str:
    """Path of a CJK font file (see the module doc)."""
    env = os.environ.get("QINGSHAN_CJK_FONT")
    if env:
        if not Path(env).is_file():
            raise FontMissingError(f"QINGSHAN_CJK_FONT={env!r} is not a font file")
        return env
    from matplotlib import font_manager

    files: list[str] = []
    for d in _DIRS:
        if Path(d).is_dir():
            files += font_manager.findSystemFonts(fontpaths=[d])
    for frag in _CANDIDATES:
        for f in sorted(files):
            if frag.lower() in Path(f).name.lower():
                return f
    raise FontMissingError(
        "no Chinese (CJK) font found for the report charts: install one, e.g. "
        "`apt-get install fonts-noto-cjk` (Debian/Ubuntu), or set QINGSHAN_CJK_FONT to a "
        ".ttf/.otf/.ttc file with Chinese glyphs"
    )
