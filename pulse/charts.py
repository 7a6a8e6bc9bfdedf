"""Inline SVG charts for the PDF report, drawn by the project: colour scale, intervals, trends, help network.

Every function returns a complete ``<svg>`` element as `Markup` (safe to insert in an autoescaped
template); every label in it is escaped here. Sizes are CSS pixels (1/96 inch). Text carries its own
font-family because WeasyPrint does not pass the page's font into SVG.

Colours: one diverging, colour-blind-safe scale (blue = healthier than the rest of the organisation,
orange = less healthy), never red against green; numbers are always printed beside the colour.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from pulse.i18n import format_number
from pulse.i18n import gettext as _

FONT = "Liberation Sans, DejaVu Sans, Arial, sans-serif"
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#d9dee3"
NAVY = "#1d4e89"
ORANGE = "#c05a0a"
BLUE = "#2166ac"

#: Diverging stops from "clearly healthier" (-1) through neutral (0) to "clearly less healthy" (+1).
_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (-1.0, (33, 102, 172)),
    (-0.5, (146, 197, 222)),
    (0.0, (246, 246, 246)),
    (0.5, (253, 184, 99)),
    (1.0, (179, 88, 6)),
)
#: Points of difference from the rest of the organisation that get the full colour.
FULL_COLOUR_POINTS = 20.0


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def diverging_colour(badness: float) -> str:
    """Fill colour for a difference oriented so that positive = less healthy, in points."""
    t = max(-1.0, min(1.0, badness / FULL_COLOUR_POINTS))
    for (t0, c0), (t1, c1) in itertools.pairwise(_STOPS):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            return _hex(tuple(a + (b - a) * f for a, b in zip(c0, c1, strict=True)))  # type: ignore[arg-type]
    return _hex(_STOPS[-1][1])


def text_colour(badness: float) -> str:
    """Ink that stays readable on `diverging_colour(badness)`."""
    return "#ffffff" if abs(badness) / FULL_COLOUR_POINTS > 0.72 else INK


def _text(
    x: float, y: float, content: str, size: float = 9, anchor: str = "start", fill: str = INK, weight: str = "normal"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}">{escape(content)}</text>'
    )


def _text_width(content: str, size: float, bold: bool = False) -> float:
    """A generous estimate of a line's width in the charts' sans-serif font (no font metrics at hand)."""
    return len(content) * size * (0.6 if bold else 0.55)


def _svg(width: float, height: float, body: Sequence[str], label: str, numbers: Sequence[str] = ()) -> Markup:
    """The chart with its text alternative: the label and every number it shows, as the SVG ``<title>``
    (which WeasyPrint makes the tagged PDF figure's Alt text) and the ``aria-label`` (for browsers)."""
    alternative = label + (": " + "; ".join(numbers) if numbers else "")
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(alternative)}">'
        f"<title>{escape(alternative)}</title>" + "".join(body) + "</svg>"
    )


def _nice_range(values: Sequence[float], minimum_span: float = 20.0, step: float = 10.0) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high - low < minimum_span:
        middle = (low + high) / 2
        low, high = middle - minimum_span / 2, middle + minimum_span / 2
    low = max(0.0, math.floor(low / step) * step)
    high = min(100.0, math.ceil(high / step) * step)
    return low, max(high, low + step)


# ---------------------------------------------------------------- colour legend


def colour_legend(width: float = 420) -> Markup:
    """The heatmap's colour key: healthier (blue) … as the rest (grey) … less healthy (orange)."""
    steps = 9
    box = (width - 160) / steps
    body: list[str] = [_text(0, 14, _("Compared with the rest of the organisation:"), 8.5, fill=MUTED)]
    for i in range(steps):
        badness = -FULL_COLOUR_POINTS + i * (2 * FULL_COLOUR_POINTS / (steps - 1))
        body.append(
            f'<rect x="{80 + i * box:.1f}" y="20" width="{box:.1f}" height="12" fill="{diverging_colour(badness)}" '
            f'stroke="#ffffff" stroke-width="0.5"/>'
        )
    healthier, less_healthy = _("healthier"), _("less healthy")
    at_least = _("−%(points)s points or more") % {"points": f"{FULL_COLOUR_POINTS:g}"}
    at_most = _("+%(points)s or more") % {"points": f"{FULL_COLOUR_POINTS:g}"}
    body.append(_text(76, 30, healthier, 8.5, "end", fill=MUTED))
    body.append(_text(84 + steps * box, 30, less_healthy, 8.5, fill=MUTED))
    body.append(_text(80, 44, at_least, 7.5, fill=MUTED))
    body.append(_text(80 + steps * box, 44, at_most, 7.5, "end", fill=MUTED))
    numbers = [f"{healthier} ({at_least})", _("grey: as the rest"), f"{less_healthy} ({at_most})"]
    return _svg(width, 48, body, _("colour key"), numbers)


# ---------------------------------------------------------------- score gauge (summary)


def score_gauge(mean: float, low: float, high: float, higher_is_better: bool, width: float = 220) -> Markup:
    """A 0-100 track with the score's interval and dot; the healthy end is marked."""
    pad = 6.0
    track = width - 2 * pad

    def x(value: float) -> float:
        return pad + track * max(0.0, min(100.0, value)) / 100

    healthy_end = "100" if higher_is_better else "0"
    body = [
        f'<rect x="{pad}" y="10" width="{track:.1f}" height="6" rx="3" fill="#e8ecef"/>',
        f'<rect x="{x(low):.1f}" y="8" width="{max(2.0, x(high) - x(low)):.1f}" height="10" rx="2" fill="#9fb7d4"/>',
        f'<circle cx="{x(mean):.1f}" cy="13" r="4.5" fill="{NAVY}" stroke="#ffffff" stroke-width="1"/>',
        _text(pad, 30, "0", 7.5, fill=MUTED),
        _text(width / 2, 30, "50", 7.5, "middle", fill=MUTED),
        _text(width - pad, 30, "100", 7.5, "end", fill=MUTED),
        _text(
            width / 2,
            40,
            _("healthy end: %(end)s") % {"end": healthy_end},
            7,
            "middle",
            fill=MUTED,
        ),
    ]
    return _svg(
        width,
        42,
        body,
        _("score %(mean)s, 95%% interval %(low)s to %(high)s") % _numbers(mean=mean, low=low, high=high),
    )


# ---------------------------------------------------------------- department intervals


@dataclass(frozen=True)
class IntervalRow:
    """One department on one dimension."""

    label: str
    mean: float
    low: float
    high: float
    flagged: bool


def interval_chart(
    rows: Sequence[IntervalRow], organization_mean: float | None, title: str, width: float = 640
) -> Markup:
    """Departments' scores with 95% intervals, sorted as given, against the organisation's score."""
    row_height = 13.0 if len(rows) <= 30 else 10.0
    font = 8.5 if row_height > 11 else 7.2
    # Room for the longest label (a long department name, a German dimension name), within limits.
    longest = max((_text_width(r.label, font, bold=r.flagged) for r in rows), default=0.0)
    label_width = min(max(170.0, longest + 12), width / 2)
    right_pad = 44.0
    legend = ""
    if organization_mean is not None:
        legend = "--- " + _("organisation %(mean)s") % _numbers(mean=organization_mean)
    # The organisation's key has a line of its own under the title: a long title (German) never runs into it.
    top = 41.0 if legend else 30.0
    height = top + row_height * len(rows) + 8
    values = [v for r in rows for v in (r.low, r.high)] + ([organization_mean] if organization_mean is not None else [])
    low, high = _nice_range(values or [0.0, 100.0])
    plot = width - label_width - right_pad

    def x(value: float) -> float:
        return label_width + plot * (value - low) / (high - low)

    body: list[str] = [_text(0, 10, title, 9.5, weight="bold")]
    tick = low
    while tick <= high + 1e-9:
        body.append(
            f'<line x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" y2="{height - 6}" stroke="{GRID}" '
            'stroke-width="0.6"/>'
        )
        body.append(_text(x(tick), top - 9, f"{tick:g}", 7.5, "middle", fill=MUTED))
        tick += 10
    if organization_mean is not None:
        ox = x(organization_mean)
        body.append(
            f'<line x1="{ox:.1f}" y1="{top - 6}" x2="{ox:.1f}" y2="{height - 6}" stroke="{INK}" '
            'stroke-width="0.9" stroke-dasharray="3,2"/>'
        )
        body.append(_text(width - right_pad + 4, 21, legend, 7.5, "end"))
    for i, row in enumerate(rows):
        y = top + row_height * i + row_height / 2
        colour = ORANGE if row.flagged else NAVY
        if i % 2 == 0:
            body.append(
                f'<rect x="0" y="{y - row_height / 2:.1f}" width="{width:.0f}" height="{row_height:.1f}" '
                'fill="#f4f6f8"/>'
            )
        body.append(_text(label_width - 8, y + 3, row.label, font, "end", weight="bold" if row.flagged else "normal"))
        body.append(
            f'<line x1="{x(row.low):.1f}" y1="{y:.1f}" x2="{x(row.high):.1f}" y2="{y:.1f}" stroke="{colour}" '
            'stroke-width="1.6" stroke-opacity="0.55"/>'
        )
        body.append(
            f'<circle cx="{x(row.mean):.1f}" cy="{y:.1f}" r="{3.2 if row_height > 11 else 2.6}" fill="{colour}"/>'
        )
        body.append(_text(width - 4, y + 3, f"{row.mean:.0f}", font, "end", weight="bold" if row.flagged else "normal"))
    numbers = [_interval_text(r.label, r.mean, r.low, r.high, r.flagged) for r in rows]
    if organization_mean is not None:
        numbers.append(_("organisation %(mean)s") % _numbers(mean=organization_mean))
    return _svg(width, height, body, title, numbers)


# ---------------------------------------------------------------- trends


@dataclass(frozen=True)
class TrendPoint:
    label: str
    mean: float
    low: float
    high: float


def trend_chart(points: Sequence[TrendPoint], title: str, higher_is_better: bool, width: float = 310) -> Markup:
    """One dimension over the last rounds: the score, its 95% band, the value at each round."""
    height = 150.0
    left, right, top, bottom = 30.0, 14.0, 26.0, 24.0
    body: list[str] = [_text(0, 11, title, 9.5, weight="bold")]
    direction = _("higher is better") if higher_is_better else _("lower is better")
    body.append(_text(width, 11, direction, 7.5, "end", fill=MUTED))
    if not points:
        empty = _("no figures shown for this dimension")
        body.append(_text(width / 2, height / 2, empty, 8, "middle", fill=MUTED))
        return _svg(width, height, body, title, [empty])
    low, high = _nice_range([v for p in points for v in (p.low, p.high)])
    plot_w, plot_h = width - left - right, height - top - bottom

    inset = 16.0  # keeps the first and last value labels clear of the axis labels

    def x(i: int) -> float:
        span = plot_w - 2 * inset
        return left + inset + (span / 2 if len(points) == 1 else span * i / (len(points) - 1))

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    tick = low
    while tick <= high + 1e-9:
        body.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" '
            f'stroke="{GRID}" stroke-width="0.6"/>'
        )
        body.append(_text(left - 4, y(tick) + 3, f"{tick:g}", 7.5, "end", fill=MUTED))
        tick += 10
    if len(points) > 1:
        band = [f"{x(i):.1f},{y(p.high):.1f}" for i, p in enumerate(points)]
        band += [f"{x(i):.1f},{y(p.low):.1f}" for i, p in reversed(list(enumerate(points)))]
        body.append(f'<polygon points="{" ".join(band)}" fill="#9fb7d4" fill-opacity="0.45"/>')
        line = " ".join(f"{x(i):.1f},{y(p.mean):.1f}" for i, p in enumerate(points))
        body.append(f'<polyline points="{line}" fill="none" stroke="{NAVY}" stroke-width="1.8"/>')
    else:
        p = points[0]
        body.append(
            f'<line x1="{x(0):.1f}" y1="{y(p.low):.1f}" x2="{x(0):.1f}" y2="{y(p.high):.1f}" '
            'stroke="#9fb7d4" stroke-width="4"/>'
        )
    for i, p in enumerate(points):
        body.append(f'<circle cx="{x(i):.1f}" cy="{y(p.mean):.1f}" r="3" fill="{NAVY}"/>')
        body.append(_text(x(i), y(p.high) - 4, f"{p.mean:.0f}", 8, "middle", weight="bold"))
        body.append(_text(x(i), height - bottom + 13, p.label, 7.5, "middle", fill=MUTED))
    numbers = [direction] + [_interval_text(p.label, p.mean, p.low, p.high, False) for p in points]
    return _svg(width, height, body, title, numbers)


def sparkline(values: Sequence[float], width: float = 64, height: float = 16) -> Markup:
    """A tiny line of a department's scores over the last rounds (no axes: the numbers sit beside it)."""
    if not values:
        return Markup("")
    low, high = min(values), max(values)
    span = max(high - low, 10.0)
    middle = (low + high) / 2
    low = middle - span / 2

    def x(i: int) -> float:
        return 3 + (width - 6) * (i / (len(values) - 1) if len(values) > 1 else 0.5)

    def y(value: float) -> float:
        return height - 3 - (height - 6) * (value - low) / span

    body = []
    if len(values) > 1:
        line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        body.append(f'<polyline points="{line}" fill="none" stroke="{NAVY}" stroke-width="1.2"/>')
    body.append(f'<circle cx="{x(len(values) - 1):.1f}" cy="{y(values[-1]):.1f}" r="2" fill="{NAVY}"/>')
    return _svg(width, height, body, _("trend"), [format_number(round(v)) for v in values])


# ---------------------------------------------------------------- help network


@dataclass(frozen=True)
class NetworkLink:
    """Help between two departments, both directions summed (shares of respondents, 0-1 each)."""

    a: str
    b: str
    weight: float


#: More lines than this make a hairball: only the strongest are drawn (the caption says so).
MAX_NETWORK_LINKS = 120


def strongest_links(links: Sequence[NetworkLink], limit: int = MAX_NETWORK_LINKS) -> list[NetworkLink]:
    """The `limit` strongest links (ties broken by name, so the drawing is reproducible)."""
    return sorted(links, key=lambda link: (-link.weight, link.a, link.b))[:limit]


def network_diagram(
    departments: Sequence[str], links: Sequence[NetworkLink], isolated: Sequence[str], width: float = 640
) -> Markup:
    """Departments on a circle; a line wherever help was reported (the strongest `MAX_NETWORK_LINKS`),
    thicker for more help; isolated departments in orange."""
    links = strongest_links(links)
    count = len(departments)
    radius = 132.0 if count <= 24 else 190.0
    height = 2 * radius + (50 if count <= 24 else 80)
    cx, cy = width / 2, height / 2
    font = 8.5 if count <= 20 else (7 if count <= 40 else 6)
    angle = {name: -math.pi / 2 + 2 * math.pi * i / count for i, name in enumerate(departments)}
    position = {name: (cx + radius * math.cos(a), cy + radius * math.sin(a)) for name, a in angle.items()}
    strongest = max((link.weight for link in links), default=1.0) or 1.0
    body: list[str] = []
    for link in sorted(links, key=lambda item: item.weight):
        if link.a not in position or link.b not in position:
            continue
        (x1, y1), (x2, y2) = position[link.a], position[link.b]
        strength = link.weight / strongest
        body.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{BLUE}" '
            f'stroke-width="{0.4 + 3.6 * strength:.2f}" stroke-opacity="{0.18 + 0.5 * strength:.2f}"/>'
        )
    lonely = set(isolated)
    for name in departments:
        px, py = position[name]
        is_isolated = name in lonely
        body.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{5.5 if count <= 30 else 4}" '
            f'fill="{ORANGE if is_isolated else NAVY}" stroke="#ffffff" stroke-width="1.2"/>'
        )
        a = angle[name]
        lx, ly = cx + (radius + 10) * math.cos(a), cy + (radius + 10) * math.sin(a)
        anchor = "start" if math.cos(a) > 0.15 else ("end" if math.cos(a) < -0.15 else "middle")
        if anchor == "middle":
            ly += 10 if math.sin(a) > 0 else -4
        body.append(
            _text(
                lx,
                ly + font / 3,
                name + (" (" + _("isolated") + ")" if is_isolated else ""),
                font,
                anchor,
                weight="bold" if is_isolated else "normal",
            )
        )
    numbers = [f"{link.a} – {link.b}" for link in links if link.a in position and link.b in position]
    numbers += [_("isolated: %(names)s") % {"names": ", ".join(isolated)}] if isolated else []
    return _svg(width, height, body, _("help network between departments"), numbers)


def _numbers(**values: float) -> dict[str, str]:
    return {name: format_number(round(value)) for name, value in values.items()}


def _interval_text(label: str, mean: float, low: float, high: float, flagged: bool) -> str:
    text = _("%(label)s %(mean)s (95%% interval %(low)s to %(high)s)") % {
        "label": label,
        **_numbers(mean=mean, low=low, high=high),
    }
    return text + (", " + _("flagged") if flagged else "")
