"""Report charts as PNG bytes (matplotlib, Agg backend) with a CJK font found at run time.

Chinese labels need a font with CJK glyphs; Debian ships them in ``fonts-noto-cjk``. The font
file is located when the first chart is drawn (``QINGSHAN_CJK_FONT`` names one explicitly);
without one, :class:`FontMissingError` says what to install instead of drawing boxes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from functools import cache

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from qingshan.services.reports.fonts import FontMissingError as FontMissingError
from qingshan.services.reports.fonts import cjk_font as cjk_font


@cache
def _family() -> str:
    path = cjk_font()
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def _setup() -> None:
    plt.rcParams["font.family"] = [_family()]
    plt.rcParams["font.sans-serif"] = [_family()]
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["svg.hashsalt"] = "qingshan"


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # No Software/date metadata: the same figures give byte-identical charts.
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def daily_aqi_chart(
    days: Sequence[date], aqi: Sequence[int | None], colours: Sequence[str], title: str
) -> bytes:
    """Bar chart of daily AQI coloured by category, with the 100 and 200 lines."""
    _setup()
    fig, ax = plt.subplots(figsize=(7.2, 2.8))
    xs = list(range(len(days)))
    ax.bar(xs, [a or 0 for a in aqi], color=colours, edgecolor="#555555", linewidth=0.3)
    for y, lab in ((100, "良/轻度污染界限 100"), (200, "中度/重度污染界限 200")):
        if max((a or 0) for a in aqi) >= y * 0.7:
            ax.axhline(y, color="#888888", linestyle="--", linewidth=0.8)
            ax.text(len(xs) - 0.5, y + 3, lab, ha="right", fontsize=7, color="#555555")
    step = 1 if len(days) <= 31 else 7
    ax.set_xticks(
        xs[::step],
        [d.strftime("%d") if len(days) <= 31 else d.strftime("%m-%d") for d in days][::step],
        fontsize=7,
    )
    ax.set_ylabel("AQI")
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def index_bars(
    labels: Sequence[str],
    values: Sequence[float | None],
    title: str,
    limit_line: float | None = 1.0,
) -> bytes:
    """Horizontal bars (e.g. single indices C/S of the six pollutants)."""
    _setup()
    fig, ax = plt.subplots(figsize=(6.0, 2.6))
    vals = [v or 0.0 for v in values]
    cols = ["#d9534f" if (limit_line is not None and v > limit_line) else "#4a90c2" for v in vals]
    ax.barh(list(labels), vals, color=cols)
    for i, v in enumerate(values):
        ax.text(vals[i] + 0.01, i, "—" if v is None else f"{v:.2f}", va="center", fontsize=8)
    if limit_line is not None:
        ax.axvline(limit_line, color="#888888", linestyle="--", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def grouped_bars(
    categories: Sequence[str], series: dict[str, Sequence[float | None]], title: str, ylabel: str
) -> bytes:
    """Grouped bars, e.g. monthly good-day ratio this year vs last year."""
    _setup()
    fig, ax = plt.subplots(figsize=(7.2, 2.8))
    n = max(len(series), 1)
    width = 0.8 / n
    palette = ("#2e7d32", "#9e9e9e", "#1565c0", "#ef6c00")
    for k, (name, vals) in enumerate(series.items()):
        xs = [i + (k - (n - 1) / 2) * width for i in range(len(categories))]
        ax.bar(xs, [v or 0 for v in vals], width=width, label=name, color=palette[k % len(palette)])
    ax.set_xticks(range(len(categories)), list(categories), fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def calendar_heatmap(
    grid: Sequence[Sequence[str | None]],
    row_labels: Sequence[str],
    title: str,
    legend: Sequence[tuple[str, str]],
) -> bytes:
    """A months × 31 days grid of category colours (annual AQI calendar)."""
    _setup()
    fig, ax = plt.subplots(figsize=(7.4, 3.4))
    for r, row in enumerate(grid):
        for c, col in enumerate(row):
            if col is None:
                continue
            ax.add_patch(Rectangle((c, r), 0.92, 0.92, color=col, linewidth=0))
    ax.set_xlim(0, 31)
    ax.set_ylim(len(grid), 0)
    ax.set_xticks(
        [i + 0.45 for i in range(0, 31, 5)], [str(i + 1) for i in range(0, 31, 5)], fontsize=7
    )
    ax.set_yticks([i + 0.45 for i in range(len(grid))], list(row_labels), fontsize=7)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_title(title, fontsize=10)
    ax.legend(
        handles=[Patch(color=c, label=n) for n, c in legend],
        fontsize=7,
        ncol=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.06),
        frameon=False,
    )
    return _png(fig)


def site_map(
    points: Sequence[tuple[float, float, str, str]],
    title: str,
    legend: Sequence[tuple[str, str]],
    boundary: Sequence[Sequence[tuple[float, float]]] = (),
) -> bytes:
    """Map of (lon, lat, label, colour) points on equal-angle axes, drawn over the region's
    outline (``boundary``: its rings, WGS-84) when one is recorded."""
    _setup()
    fig, ax = plt.subplots(figsize=(6.0, 4.2 if boundary else 3.6))
    for ring in boundary:
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        ax.fill(xs, ys, color="#F3F1E7", zorder=1)
        ax.plot(xs, ys, color="#7A6F5A", linewidth=0.9, zorder=2)
    for lon, lat, label, colour in points:
        ax.scatter([lon], [lat], s=90, color=colour, edgecolor="#333333", zorder=3)
        ax.annotate(label, (lon, lat), textcoords="offset points", xytext=(6, 5), fontsize=8)
    ax.set_xlabel("经度（°E）", fontsize=8)
    ax.set_ylabel("纬度（°N）", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, linewidth=0.3, color="#cccccc")
    lons = [p[0] for p in points] + [q[0] for r in boundary for q in r]
    lats = [p[1] for p in points] + [q[1] for r in boundary for q in r]
    if lons:
        pad = 0.02 if boundary else 0.08
        ax.set_xlim(min(lons) - pad, max(lons) + pad + (0 if boundary else 0.04))
        ax.set_ylim(min(lats) - pad, max(lats) + pad)
    ax.set_aspect(1.2)
    ax.set_title(title, fontsize=10)
    ax.legend(
        handles=[Patch(color=c, label=n) for n, c in legend],
        fontsize=7,
        ncol=6,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.15),
        frameon=False,
    )
    return _png(fig)
