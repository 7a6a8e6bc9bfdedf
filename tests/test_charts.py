"""The report's SVG charts: well-formed, escaped, fonts set, colour-blind-safe colours."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from pulse import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: Markup) -> ET.Element:
    return ET.fromstring(str(svg))


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_the_colour_scale_runs_from_blue_through_grey_to_orange_and_never_uses_green() -> None:
    healthier, neutral, worse = (rgb(charts.diverging_colour(v)) for v in (-25.0, 0.0, 25.0))
    assert healthier[2] > healthier[0] + 80, "healthier is blue"
    assert worse[0] > worse[2] + 80, "less healthy is orange"
    assert max(neutral) - min(neutral) < 10, "no difference is grey"
    for points in range(-30, 31):
        r, g, b = rgb(charts.diverging_colour(float(points)))
        assert not (g > r + 20 and g > b + 20), f"{points} points gives a green"
    # Symmetric strength: equal differences get equally strong colours on both sides.
    assert charts.text_colour(-18.0) == charts.text_colour(18.0) == "#ffffff"
    assert charts.text_colour(3.0) == charts.INK


def test_labels_are_escaped_and_every_text_sets_its_font() -> None:
    rows = [
        charts.IntervalRow("R&D <Lab>", 61.0, 55.0, 67.0, True),
        charts.IntervalRow("Sales", 48.0, 44.0, 52.0, False),
    ]
    svg = parse(charts.interval_chart(rows, 52.0, "Fear & blame"))
    texts = svg.findall(f".//{SVG}text")
    assert "R&D <Lab>" in [t.text for t in texts]
    assert all("Liberation Sans" in (t.get("font-family") or "") for t in texts)
    dots = svg.findall(f".//{SVG}circle")
    assert [d.get("fill") for d in dots] == [charts.ORANGE, charts.NAVY], "the flagged department stands out"


def test_the_network_marks_isolated_departments_and_draws_one_line_per_helping_pair() -> None:
    links = [charts.NetworkLink("A", "B", 0.4), charts.NetworkLink("B", "C", 0.1)]
    svg = parse(charts.network_diagram(["A", "B", "C", "D"], links, ["D"]))
    assert len(svg.findall(f".//{SVG}line")) == 2
    fills = [c.get("fill") for c in svg.findall(f".//{SVG}circle")]
    assert fills == [charts.NAVY, charts.NAVY, charts.NAVY, charts.ORANGE]
    assert "D (isolated)" in [t.text for t in svg.findall(f".//{SVG}text")]
    widths = [float(line.get("stroke-width") or 0) for line in svg.findall(f".//{SVG}line")]
    assert widths == sorted(widths), "stronger help is drawn thicker (and on top)"


@pytest.mark.parametrize("count", [0, 1, 4])
def test_trend_charts_and_sparklines_handle_any_number_of_rounds(count: int) -> None:
    points = [charts.TrendPoint(f"Round {i + 1}", 50.0 + i, 45.0 + i, 55.0 + i) for i in range(count)]
    svg = parse(charts.trend_chart(points, "Fear of blame", higher_is_better=False))
    labels = [t.text for t in svg.findall(f".//{SVG}text")]
    assert "lower is better" in labels
    assert [f"Round {i + 1}" for i in range(count)] == [x for x in labels if x and x.startswith("Round")]
    spark = charts.sparkline([p.mean for p in points])
    assert (str(spark) == "") == (count == 0)


def test_the_score_gauge_places_the_score_on_a_0_to_100_track() -> None:
    svg = parse(charts.score_gauge(25.0, 20.0, 30.0, higher_is_better=True, width=212))
    dot = svg.find(f".//{SVG}circle")
    assert dot is not None and float(dot.get("cx") or 0) == pytest.approx(6 + 200 * 0.25)
    assert "healthy end: 100" in [t.text for t in svg.findall(f".//{SVG}text")]
