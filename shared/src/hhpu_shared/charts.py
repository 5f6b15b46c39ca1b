"""Charts for printable documents as inline SVG: no JavaScript, no images to fetch.

WeasyPrint draws inline SVG in the PDF and every browser shows it in the HTML, so one chart
serves both. Each function returns an `<svg>` element with a `<title>` (read by screen readers)
and the values as text labels, so the figure can be read without the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44
BLUE, RED, GREY = "#1d4e89", "#b03a48", "#888"


def _frame(title: str, body: str, y_label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="{LEFT}" y="16" font-size="12" font-weight="bold">{escape(title)}</text>'
        f'<text x="12" y="{TOP + (H - TOP - BOTTOM) // 2}" font-size="10" '
        f'transform="rotate(-90 12 {TOP + (H - TOP - BOTTOM) // 2})" text-anchor="middle">'
        f"{escape(y_label)}</text>"
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#333"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="#333"/>{body}</svg>'
    )


def _y(value: float, lo: float, hi: float) -> float:
    span = (hi - lo) or 1.0
    return TOP + (H - TOP - BOTTOM) * (1 - (value - lo) / span)


def _axis(lo: float, hi: float, fmt: str) -> str:
    out = []
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        y = _y(v, lo, hi)
        out.append(
            f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 3:.1f}" font-size="9" text-anchor="end">{fmt.format(v)}</text>'
        )
    return "".join(out)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    y_label: str,
    fmt: str = "{:.0f}",
    reference: float | None = None,
    reference_label: str = "",
) -> str:
    """Vertical bars with their values; `reference` draws a dashed line (e.g. 'no skill')."""
    hi = max([*values, reference or 0.0, 1e-9]) * 1.1
    n = max(len(values), 1)
    step = (W - LEFT - RIGHT) / n
    parts = [_axis(0.0, hi, fmt)]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * step + step * 0.15
        y = _y(v, 0.0, hi)
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{H - BOTTOM - y:.1f}" '
            f'fill="{BLUE}"/><text x="{x + step * 0.35:.1f}" y="{y - 3:.1f}" font-size="9" '
            f'text-anchor="middle">{fmt.format(v)}</text>'
            f'<text x="{x + step * 0.35:.1f}" y="{H - BOTTOM + 14}" font-size="9" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    if reference is not None:
        y = _y(reference, 0.0, hi)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="{RED}" '
            f'stroke-dasharray="5,4"/><text x="{W - RIGHT}" y="{y - 4:.1f}" font-size="9" fill="{RED}" '
            f'text-anchor="end">{escape(reference_label)}</text>'
        )
    return _frame(title, "".join(parts), y_label)


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    y_label: str,
    intervals: Sequence[Sequence[float] | None] | None = None,
    fmt: str = "{:.2f}",
) -> str:
    """A line through the values in order (None: a gap), with optional 95% interval whiskers."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    whiskers = [(i, ci) for i, ci in enumerate(intervals or []) if ci]
    all_v = [v for _, v in pts] + [x for _, ci in whiskers for x in ci]
    if not all_v:
        return _frame(title, f'<text x="{LEFT + 10}" y="{H // 2}" font-size="11">no data yet</text>', y_label)
    lo, hi = min(0.0, min(all_v)), max(all_v) * 1.1 or 1.0
    n = max(len(values), 1)
    step = (W - LEFT - RIGHT) / n

    def x_of(i: int) -> float:
        return LEFT + step * (i + 0.5)

    parts = [_axis(lo, hi, fmt)]
    for i, ci in whiskers:
        parts.append(
            f'<line x1="{x_of(i):.1f}" y1="{_y(ci[0], lo, hi):.1f}" x2="{x_of(i):.1f}" '
            f'y2="{_y(ci[1], lo, hi):.1f}" stroke="{GREY}" stroke-width="2"/>'
        )
    path = " ".join(f"{x_of(i):.1f},{_y(v, lo, hi):.1f}" for i, v in pts)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
    for i, v in pts:
        parts.append(
            f'<circle cx="{x_of(i):.1f}" cy="{_y(v, lo, hi):.1f}" r="3" fill="{BLUE}"/>'
            f'<text x="{x_of(i):.1f}" y="{_y(v, lo, hi) - 6:.1f}" font-size="8" text-anchor="middle">'
            f"{fmt.format(v)}</text>"
        )
    every = max(1, n // 12)  # at most a dozen axis labels
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{x_of(i):.1f}" y="{H - BOTTOM + 14}" font-size="8" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    return _frame(title, "".join(parts), y_label)
