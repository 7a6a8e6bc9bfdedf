"""Report model -> HTML (Jinja2, templates/reports/) -> PDF (WeasyPrint), off the event loop.

The PDF is rendered from the stored JSON model (`Report.to_json()`), the same data the JSON and CSV
exports come from, so the three cannot disagree. `report_view` turns the model into what the
template prints: formatted numbers, colours and charts. It reads only what the model shows:
a suppressed figure is absent from the model, so it cannot reach the page.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from markupsafe import Markup

from pulse import charts, i18n
from pulse.domain.disclosure import POOLED_COMMENT_GROUP, REDACTION_MARKERS
from pulse.domain.items import DIMENSION_TOPICS
from pulse.domain.report import ANCHOR_BASIS, EQUATED_BASIS
from pulse.domain.trends import NOTABLE_CHANGE, TREND_FALSE_DISCOVERY_RATE
from pulse.i18n import N_
from pulse.i18n import gettext as _
from pulse.settings import Settings
from pulse.templating import TEMPLATES_DIR, environment

log = logging.getLogger("pulse.pdf")

REPORT_TEMPLATE = "reports/report.html"

FLAG_LABELS: Mapping[str, str] = {
    "high_fear": N_("High fear"),
    "low_initiative": N_("Low permission to act"),
    "inconsistent_leadership": N_("Inconsistent leadership"),
    "silo": N_("Silo"),
}
REASON_LABELS: Mapping[str, str] = {
    "below_min_group_size": N_("too few answers"),
    "complementary_suppression": N_("protects a smaller group"),
}
#: Units below the top level listed in the organisation's report as most cut off towards the rest.
MAX_DEEPER_SILOS = 8
#: Pairs that never help each other, listed in the PDF (the JSON keeps the model's longer list).
MAX_LISTED_PAIRS = 40
SHORT_LABELS: Mapping[str, str] = {
    "fear": N_("Fear of blame"),
    "initiative": N_("Permission to act"),
    "consistency": N_("Leadership consistency"),
    "collaboration": N_("Collaboration"),
}


def column_label(key: str, label: str) -> str:
    """A dimension as the heading of a narrow table column (heatmap, trends): its own message, so a
    language with long compounds can mark where the heading may break (a soft hyphen, U+00AD)."""
    labels = {
        # TRANSLATORS: heading of a narrow table column (23 mm); mark where a long compound may break with a
        # soft hyphen (U+00AD), e.g. "Handlungs\u00adspielraum".
        "fear": i18n.pgettext("narrow table column", "Fear of blame"),
        # TRANSLATORS: heading of a narrow table column (23 mm); mark where a long compound may break with a
        # soft hyphen (U+00AD), e.g. "Handlungs\u00adspielraum".
        "initiative": i18n.pgettext("narrow table column", "Permission to act"),
        # TRANSLATORS: heading of a narrow table column (23 mm); mark where a long compound may break with a
        # soft hyphen (U+00AD), e.g. "Handlungs\u00adspielraum".
        "consistency": i18n.pgettext("narrow table column", "Leadership consistency"),
        # TRANSLATORS: heading of a narrow table column (23 mm); mark where a long compound may break with a
        # soft hyphen (U+00AD), e.g. "Handlungs\u00adspielraum".
        "collaboration": i18n.pgettext("narrow table column", "Collaboration"),
    }
    return labels.get(key) or _(SHORT_LABELS.get(key, label))


# ---------------------------------------------------------------- number formatting (one place)


def whole(value: float | None) -> str:
    """A score as printed in the body of the report: a whole number."""
    return "–" if value is None else f"{round(value):d}"


def signed(value: float | None) -> str:
    """A difference with its sign ("+3", "−4", "0"), a true minus sign for print."""
    if value is None:
        return "–"
    number = round(value)
    if number == 0:
        return "0"
    return f"+{number}" if number > 0 else f"\u2212{abs(number)}"


def percent(rate: float | None) -> str:
    """A share as a whole percentage, written the reader's way ("42%", "42 %")."""
    return "–" if rate is None else i18n.format_percent(round(rate * 100) / 100)


def span(low: float | None, high: float | None) -> str:
    """An interval of whole numbers: "3 to 7" in the reader's language."""
    return _("%(low)s to %(high)s") % {"low": signed(low), "high": signed(high)}


def css_string(template: str, **parts: str) -> Markup:
    """A translated sentence as a CSS ``content`` value: ``Page %(page)s of %(pages)s`` with
    ``page="counter(page)"`` becomes ``"Page " counter(page) " of " counter(pages)``."""
    pieces = re.split(r"%\((\w+)\)s", template.replace("%%", "%"))
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(parts[piece])
        elif piece:
            out.append('"' + piece.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return Markup(" ".join(out))


round_label = i18n.round_label


def finding_text(finding: Mapping[str, Any]) -> str:
    """A finding in the reader's language (see ``pulse.i18n.finding_text``)."""
    return i18n.finding_text(finding)


def comment_text(text: str) -> str:
    """A released comment with its redaction markers ("[name removed]") in the reader's language."""
    for marker in REDACTION_MARKERS:
        if marker in text:
            text = text.replace(marker, _(marker))
    return text


def two_decimals(value: float | None) -> str:
    """A coefficient or index with two decimals, written the reader's way ("0.70", "0,70")."""
    return "–" if value is None else i18n.format_number(value, 2).replace("-", "\u2212")


# ---------------------------------------------------------------- the view


def _badness(cell: Mapping[str, Any]) -> float:
    difference = cell.get("difference_from_rest")
    if difference is None:
        return 0.0
    return float(difference) if not cell["higher_is_better"] else -float(difference)


def _change_view(change: Mapping[str, Any] | None, higher_is_better: bool) -> dict[str, Any] | None:
    if not change:
        return None
    difference = float(change["difference"])
    # The trend analysis decides what may be claimed (notable, and holding up over its whole family).
    claimed = change.get("verdict")
    clear = claimed is not None
    healthier = claimed == "improvement"
    verdict = N_("no clear change") if not clear else N_("an improvement") if healthier else N_("a deterioration")
    expected = change.get("expected_from_regression")
    return {
        "text": signed(difference),
        "from": round_label(change["from_label"]),
        "interval": span(change["ci_low"], change["ci_high"]),
        "verdict": verdict,
        "tone": "neutral" if not clear else ("good" if healthier else "bad"),
        "arrow": "\u25b2" if difference > 0.5 else ("\u25bc" if difference < -0.5 else "\u25c6"),
        "regression": signed(expected) if expected is not None else None,
    }


def _summary(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    trends = model["trends"]["organization"]
    result = []
    for dimension in model["dimensions"]:
        key = dimension["key"]
        score = model["organization"][key]
        shown = not score["suppressed"] and score["mean"] is not None
        result.append(
            {
                "key": key,
                "label": dimension["label"],
                "description": dimension["description"],
                "higher_is_better": dimension["higher_is_better"],
                "shown": shown,
                "score": whole(score["mean"]),
                "interval": f"{whole(score['ci_low'])}–{whole(score['ci_high'])}" if shown else "",
                "n": score["n"],
                "gauge": (
                    charts.score_gauge(score["mean"], score["ci_low"], score["ci_high"], dimension["higher_is_better"])
                    if shown
                    else Markup("")
                ),
                "change": _change_view((trends.get(key) or {}).get("since_previous"), dimension["higher_is_better"]),
            }
        )
    return result


def row_name(row: Mapping[str, Any]) -> str:
    """A report row's name as printed: a unit's own people (a unit with units below it has a row for the
    people sitting in it and one with everything below it) are said to be just that."""
    if row.get("kind") == "own":
        return _("%(unit)s (its own people)") % {"unit": row["name"]}
    return str(row["name"])


def _overview_rows(model: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The rows above the departments' heatmap: a leader's scope with everything below it; in the
    organisation's report, the top-level units with everything below them (when units have levels)."""
    if model.get("scope"):
        return list(model["scope"].get("rows") or ())
    units = {u["name"]: u for u in model.get("units") or ()}
    if not units:
        return []
    top = [units[u["name"]] for u in units.values() if u.get("depth") == 1]
    top += [d for d in model["departments"] if d.get("depth", 1) == 1 and d["name"] not in units]
    return sorted(top, key=lambda r: str(r["name"]))


def _heatmap(model: Mapping[str, Any], rows_of: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    rows = []
    for department in model["departments"] if rows_of is None else rows_of:
        cells: list[dict[str, Any]] = []
        for dimension in model["dimensions"]:
            cell = (department.get("scores") or {}).get(dimension["key"])
            if department["suppressed"] or cell is None:
                cells.append({"hidden": True})
                continue
            badness = _badness(cell)
            cells.append(
                {
                    "hidden": False,
                    "score": whole(cell["mean"]),
                    "difference": signed(cell["difference_from_rest"]),
                    "background": charts.diverging_colour(badness),
                    "ink": charts.text_colour(badness),
                    "flag": FLAG_LABELS.get(cell["flag"] or "", ""),
                }
            )
        rows.append(
            {
                "name": row_name(department),
                "suppressed": department["suppressed"],
                "reason": REASON_LABELS.get(department["suppression_reason"] or "", N_("hidden")),
                "cells": cells,
                "flags": [_(FLAG_LABELS[f]) if f in FLAG_LABELS else f for f in department["flags"]],
            }
        )
    return rows


def _interval_charts(model: Mapping[str, Any]) -> list[Markup]:
    result = []
    for dimension in model["dimensions"]:
        key = dimension["key"]
        rows = [
            charts.IntervalRow(row_name(d), c["mean"], c["ci_low"], c["ci_high"], bool(c["flag"]))
            for d in model["departments"]
            if (c := (d.get("scores") or {}).get(key)) is not None
        ]
        if not rows:
            continue
        # Least healthy first, so the eye lands on the problems.
        rows.sort(key=lambda r: (-r.mean if not dimension["higher_is_better"] else r.mean, r.label))
        direction = _("higher is better") if dimension["higher_is_better"] else _("lower is better")
        title = _("%(dimension)s (%(direction)s): score and 95%% interval, least healthy first") % {
            "dimension": _(dimension["label"]),
            "direction": direction,
        }
        result.append(charts.interval_chart(rows, model["organization"][key]["mean"], title))
    return result


def _silos(model: Mapping[str, Any]) -> dict[str, Any]:
    network = model["silo_network"]
    received: Counter[str] = Counter()
    given: Counter[str] = Counter()
    pair_weight: dict[tuple[str, str], float] = {}
    for edge in network["edges"]:
        received[edge["helped"]] += 1
        given[edge["helper"]] += 1
        pair = (min(edge["helper"], edge["helped"]), max(edge["helper"], edge["helped"]))
        pair_weight[pair] = pair_weight.get(pair, 0.0) + float(edge["share"])
    rows: list[dict[str, Any]] = []
    # The network is between the rows of this report's level: in the organisation's report with units
    # in levels, the top-level units (each with everything below it).
    overview = _overview_rows(model)
    scoped = bool(model.get("scope"))
    for department in [*overview, *model["departments"]] if scoped else overview or model["departments"]:
        if department["suppressed"]:
            continue
        cell = (department.get("scores") or {}).get("collaboration")
        in_network = department["name"] in network["departments"]
        rows.append(
            {
                "name": row_name(department),
                "score": whole(cell["mean"]) if cell else "–",
                "difference": signed(cell["difference_from_rest"]) if cell else "–",
                "silo_index": two_decimals(department["silo_index"]),
                "silo_interval": (
                    f"{two_decimals(department.get('silo_low'))}–{two_decimals(department.get('silo_high'))}"
                    if department.get("silo_low") is not None
                    else ""
                ),
                "silo_level": department["silo_index"] or 0.0,
                "rest_index": two_decimals(department.get("rest_silo_index")),
                "received": received[department["name"]] if in_network else "–",
                "given": given[department["name"]] if in_network else "–",
                "flagged": "silo" in department["flags"],
                "isolated": department["name"] in network["isolated"],
            }
        )
    rows.sort(key=lambda r: (-r["silo_level"], r["name"]))
    # The organisation's report with units in levels: the units further down that are most cut off
    # towards the rest (each level's own network is in the JSON and in each leader's report).
    deeper = sorted(
        (
            r
            for r in (*model["departments"], *(model.get("units") or ()))
            if not scoped and r.get("depth", 1) > 1 and not r["suppressed"] and r.get("rest_silo_index") is not None
        ),
        key=lambda r: (-float(r["rest_silo_index"]), str(r["name"])),
    )[:MAX_DEEPER_SILOS]
    links = [charts.NetworkLink(a, b, w) for (a, b), w in pair_weight.items()]
    drawn = len(charts.strongest_links(links))
    diagram = (
        charts.network_diagram(network["departments"], links, network["isolated"])
        if len(network["departments"]) >= 2
        else Markup("")
    )
    others = len(network["departments"]) - 1
    return {
        "rows": rows,
        "deeper": [
            {
                "name": row_name(r),
                "silo_index": two_decimals(r.get("silo_index")),
                "rest_index": two_decimals(r.get("rest_silo_index")),
            }
            for r in deeper
        ],
        "diagram": diagram,
        "isolated": network["isolated"],
        "pairs": [f"{a} – {b}" for a, b in network["never_helping_pairs"][:MAX_LISTED_PAIRS]],
        "links": len(links),
        "drawn": drawn,
        "pair_count": network["never_helping_pair_count"],
        "possible_pairs": len(network["departments"]) * others // 2 if others > 0 else 0,
        "network_size": len(network["departments"]),
    }


def _points(trend: Mapping[str, Any] | None) -> list[charts.TrendPoint]:
    if not trend:
        return []
    return [charts.TrendPoint(round_label(p["label"]), p["mean"], p["ci_low"], p["ci_high"]) for p in trend["points"]]


def _trends(model: Mapping[str, Any]) -> dict[str, Any]:
    organization = model["trends"]["organization"]
    org_charts = [
        charts.trend_chart(_points(organization.get(d["key"])), _(d["label"]), d["higher_is_better"])
        for d in model["dimensions"]
    ]
    rows = []
    notes = []
    by_name = {d["name"]: d for d in model["departments"]}
    # A leader's report starts with their scope as a whole.
    scope_trends = (model.get("scope") or {}).get("trends") or {}
    for name, series in [*scope_trends.items(), *model["trends"]["departments"].items()]:
        cells = []
        for dimension in model["dimensions"]:
            trend = series.get(dimension["key"])
            points = _points(trend)
            change = _change_view((trend or {}).get("since_previous"), dimension["higher_is_better"])
            if change and change["regression"] is not None:
                message = _(
                    "%(department)s, %(dimension)s: flagged in %(round)s. Regression to the mean alone would move it "
                    "by about %(expected)s points; it moved by %(moved)s."
                )
                topic = DIMENSION_TOPICS.get(dimension["key"], dimension["label"])
                notes.append(
                    message
                    % {
                        "department": name,
                        "dimension": _(topic),
                        "round": change["from"],
                        "expected": change["regression"],
                        "moved": change["text"],
                    }
                )
            cells.append(
                {
                    "spark": charts.sparkline([p.mean for p in points]),
                    "latest": whole(points[-1].mean) if points else "–",
                    "rounds": len(points),
                    "change": change,
                }
            )
        rows.append({"name": row_name(by_name.get(name) or {"name": name}), "cells": cells})
    rounds = sorted({p["label"] for t in organization.values() for p in t["points"]}, key=_round_order)
    trends = model["trends"]
    basis = trends.get("basis") or ANCHOR_BASIS
    return {
        "organization": org_charts,
        "departments": rows,
        "rounds": [round_label(r) for r in rounds],
        "compared": i18n.format_list([round_label(r) for r in trends.get("organization_rounds") or rounds]),
        "scope_note": i18n.wording_text(trends.get("scope_wording") or {}, trends.get("scope_note") or ""),
        # What the trends compare: the anchors' own scores, or (privacy noise) scores equated onto their scale.
        "basis": "equated" if basis == EQUATED_BASIS else "anchors" if basis.startswith("anchor") else _(basis),
        "anchors": basis.startswith("anchor"),
        "regression_notes": notes,
        "min_change": i18n.format_number(NOTABLE_CHANGE),
        "fdr": i18n.format_percent(TREND_FALSE_DISCOVERY_RATE),
    }


DRIVER_DIRECTION = {
    "fear": (N_("more fear of blame goes with acting less on one's own"), N_("more fear goes with acting more")),
    "initiative": (N_("more permission goes with acting more"), N_("more permission goes with acting less")),
    "consistency": (
        N_("more consistent leadership goes with acting more"),
        N_("more consistency goes with acting less"),
    ),
    "collaboration": (
        N_("more help between departments goes with acting more"),
        N_("more help goes with acting less"),
    ),
}


def _drivers(model: Mapping[str, Any]) -> dict[str, Any] | None:
    drivers = model.get("drivers")
    if not drivers:
        return None
    labels = {d["key"]: _(d["label"]) for d in model["dimensions"]}
    healthy_up = {d["key"]: d["higher_is_better"] for d in model["dimensions"]}
    organization = drivers.get("organization")
    rows: list[dict[str, Any]] = []
    chart = Markup("")
    if organization:
        main = organization["weights"][0]["dimension"]
        for w in organization["weights"]:
            expected = (w["correlation"] > 0) == healthy_up[w["dimension"]]
            rows.append(
                {
                    "label": labels[w["dimension"]],
                    "share": percent(w["share"]),
                    "interval": _("%(low)s to %(high)s")
                    % {"low": percent(w["share_low"]), "high": percent(w["share_high"])},
                    "direction": _(DRIVER_DIRECTION[w["dimension"]][0 if expected else 1]),
                    "first": percent(w["first"]),
                }
            )
        chart = charts.interval_chart(
            [
                charts.IntervalRow(
                    labels[w["dimension"]],
                    100 * w["share"],
                    100 * w["share_low"],
                    100 * w["share_high"],
                    w["dimension"] == main,
                )
                for w in organization["weights"]
            ],
            None,
            _("Share of what the four forces explain (%%), with 95%% interval") % {},
        )
    groups = [
        {
            "name": g["group"],
            "n": g["n"],
            "main": labels[g["weights"][0]["dimension"]],
            "share": percent(g["weights"][0]["share"]),
            "interval": _("%(low)s to %(high)s")
            % {"low": percent(g["weights"][0]["share_low"]), "high": percent(g["weights"][0]["share_high"])},
            "r2": percent(g["r_squared"]),
        }
        for g in drivers.get("departments") or []
    ]
    headline = " ".join(i18n.wording_text(w) for w in drivers.get("headline_wording") or ())
    return {
        **drivers,
        "headline": headline or drivers.get("headline") or "",
        "rows": rows,
        "chart": chart,
        "groups": groups,
        "r2": percent(organization["r_squared"]) if organization else "",
        "r2_interval": (
            _("%(low)s to %(high)s")
            % {"low": percent(organization["r_squared_low"]), "high": percent(organization["r_squared_high"])}
            if organization
            else ""
        ),
    }


def _round_order(label: str) -> tuple[int, str]:
    digits = "".join(ch for ch in label if ch.isdigit())
    return (int(digits) if digits else 0, label)


def _participation(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    # A leader's report starts with their scope as a whole.
    scope = list((model.get("scope") or {}).get("rows") or ())
    for department in [*scope, *model["departments"]]:
        shown = department["invited"] is not None and department["responded"] is not None
        rows.append(
            {
                "name": row_name(department),
                "shown": shown,
                "invited": department["invited"],
                "responded": department["responded"],
                "rate": percent(department["participation_rate"]),
                "bar": round(100 * (department["participation_rate"] or 0.0)),
                "reason": REASON_LABELS.get(department["suppression_reason"] or "", N_("fewer than k invited")),
            }
        )
    return rows


def _comment_group_name(group: Mapping[str, Any]) -> str:
    """The pool of small departments is named in the reader's language, a department by its own name, and
    groups over the tree by what they hold (``pulse.domain.tree_comments``, ``scoped_report``)."""
    kind = group.get("kind", "unit")
    if group["group"] == POOLED_COMMENT_GROUP or kind == "organization":
        return _(POOLED_COMMENT_GROUP)
    if kind == "remainder":
        return _("%(unit)s: its people not in a group of their own") % {"unit": group["group"]}
    if kind == "subtree":
        return _("%(unit)s, with every unit below it") % {"unit": group["group"]}
    return str(group["group"])


def _comments(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    groups = []
    for group in model["comments"]:
        # Identical comments are printed once with a count: the page stays readable, nothing is lost.
        # (A model stored before comments carried their redaction count holds plain strings.)
        counted = Counter(
            (c, 0) if isinstance(c, str) else (str(c["text"]), int(c["redactions"])) for c in group["comments"]
        )
        groups.append(
            {
                "group": _comment_group_name(group),
                "count": len(group["comments"]),
                "comments": [
                    {"text": comment_text(text), "redactions": redactions, "times": times}
                    for (text, redactions), times in sorted(counted.items())
                ],
            }
        )
    return groups


#: The methodology's paragraphs, each in the reader's language when the model holds its wording (a
#: model stored before it did keeps its English text).
METHOD_TEXTS = (
    "scoring",
    "suppression_rules",
    "flag_rule",
    "silo_formula",
    "uncertainty",
    "trend_method",
    "privacy",
    "driver_method",
)


def _methodology(model: Mapping[str, Any]) -> dict[str, Any]:
    method = model["methodology"]
    labels = {d["key"]: d["label"] for d in model["dimensions"]}
    wording = method.get("wording") or {}
    return {
        **method,
        **{key: i18n.wording_text(wording.get(key) or {}, str(method.get(key) or "")) for key in METHOD_TEXTS},
        "questions": [
            {**item, "dimension_label": labels.get(item["dimension"], N_("Outcome"))} for item in method["items"]
        ],
        "quality": [
            {
                "label": labels[q["dimension"]],
                "statements": len(q["items_asked"]),
                "alpha": two_decimals(q["cronbach_alpha"]),
                "rwg": two_decimals(q["rwg_median"]),
                "rwg_departments": q["rwg_departments"],
                "icc1": two_decimals(q["icc1"]),
                "icc2": two_decimals(q["icc2"]),
            }
            for q in method["quality"]
        ],
        "confidence": percent(method["confidence_level"]),
        "fdr": percent(method["false_discovery_rate"]),
        "min_difference": i18n.format_number(method["min_difference"]),
    }


def _figures(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    scope = list((model.get("scope") or {}).get("rows") or ())
    for department in [*scope, *model["departments"]]:
        for dimension in model["dimensions"]:
            cell = (department.get("scores") or {}).get(dimension["key"])
            rows.append(
                {
                    "department": row_name(department),
                    "dimension": SHORT_LABELS.get(dimension["key"], dimension["label"]),
                    "hidden": cell is None,
                    "reason": REASON_LABELS.get(department["suppression_reason"] or "", N_("hidden")),
                    "score": whole(cell["mean"]) if cell else "",
                    "interval": _("%(low)s to %(high)s")
                    % {"low": whole(cell["ci_low"]), "high": whole(cell["ci_high"])}
                    if cell
                    else "",
                    "difference": signed(cell["difference_from_rest"]) if cell else "",
                    "n": cell["n"] if cell else "",
                    "flag": FLAG_LABELS.get((cell or {}).get("flag") or "", ""),
                }
            )
    return rows


def report_view(model: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the template prints, formatted, from the JSON report model."""
    participation = model["participation"]
    hidden = [d["name"] for d in model["departments"] if d["suppressed"]]
    return {
        "model": model,
        "participation": {
            "invited": participation["invited"],
            "responded": participation["responded"],
            "rate": percent(participation["rate"]),
        },
        "summary": _summary(model),
        "heatmap": _heatmap(model),
        "overview": _heatmap(model, _overview_rows(model)),
        "legend": charts.colour_legend(),
        "dimension_labels": [column_label(d["key"], d["label"]) for d in model["dimensions"]],
        "interval_charts": _interval_charts(model),
        "silos": _silos(model),
        "trends": _trends(model),
        "drivers": _drivers(model),
        "participation_rows": _participation(model),
        "comments": _comments(model),
        "guidance": [{**g, "label": FLAG_LABELS.get(g["flag"], g["flag"])} for g in model["guidance"]],
        "methodology": _methodology(model),
        "figures": _figures(model),
        "hidden_departments": hidden,
        "flag_count": sum(len(d["flags"]) for d in model["departments"]),
        "shown_departments": sum(1 for d in model["departments"] if not d["suppressed"]),
        "enps": model["enps"],
        "signed": signed,
        "whole": whole,
        "finding_text": finding_text,
        "round_label": round_label,
        "language_name": i18n.language_name,
        "dimension_names": {d["key"]: d["label"] for d in model["dimensions"]},
        "page_footer": css_string(
            _("Confidential · aggregates of groups of at least %(k)s people"), k=f'"{model["min_group_size"]}"'
        ),
        "page_number": css_string(_("Page %(page)s of %(pages)s"), page="counter(page)", pages="counter(pages)"),
    }


def render_html(model: Mapping[str, Any]) -> str:
    """The report as one printable HTML document."""
    return environment().get_template(REPORT_TEMPLATE).render(**report_view(model))


def html_to_pdf(html: str) -> bytes:
    """Blocking: WeasyPrint lays the document out (imported here: the import alone costs ~0.7 s)."""
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR / "reports"))
    # Tagged PDF/UA-1: headings, paragraphs, lists and tables become structure elements in reading
    # order, the document language comes from <html lang>, and every chart is a Figure whose Alt text
    # is its SVG <title> (the chart's label and every number it shows, see pulse.charts).
    pdf: bytes = document.write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
    return pdf


def render_in_process(model: Mapping[str, Any], locale: str) -> bytes:
    """Model -> HTML -> PDF in ``locale``, blocking: what one render process does for one report."""
    with i18n.use(locale):
        html = render_html(model)
    return html_to_pdf(html)


def _warm_up() -> None:
    """Each render process, as it starts: WeasyPrint imported and its fonts loaded by a tiny layout."""
    html_to_pdf("<!DOCTYPE html><html lang='en'><head><title>Pulse</title></head><body><p>Pulse</p></body></html>")


def _ready() -> bool:
    return True


class PdfProcesses:
    """Processes that lay PDFs out, for the worker: several reports at once on several cores.

    WeasyPrint is Python: in threads, renders share one core through the GIL (and a long one slows
    every job of the worker). Here each render has a process of its own; a slow one holds up only
    its own process, and the worker's event loop only waits. Processes are spawned (a fork of a
    process holding database connections and an event loop is unsafe), each is replaced after
    ``renders_per_process`` renders (WeasyPrint's caches only grow), and a pool whose process died
    (killed for memory, say) is replaced by a fresh one: the render that was running raises
    ``BrokenProcessPool``, which the jobs treat as transient and retry.
    """

    def __init__(self, processes: int, *, renders_per_process: int = 50) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        self.processes = processes
        self.renders_per_process = renders_per_process
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=self.renders_per_process,
            initializer=_warm_up,
        )

    def warm_up(self) -> None:
        """Start every process now (WeasyPrint imported, fonts loaded), not on the first reports' time."""
        for _process in range(self.processes):
            self._executor.submit(_ready)

    async def render(self, model: Mapping[str, Any], locale: str) -> bytes:
        executor = self._executor
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, partial(render_in_process, dict(model), locale))
        except BrokenProcessPool:
            if self._executor is executor:  # the first render to notice replaces the pool
                log.warning("a PDF render process died; starting new ones")
                self._executor = self._start()
                executor.shutdown(wait=False, cancel_futures=True)
            raise

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


#: The render processes of this process (``pulse worker`` starts them); None: render in a thread.
_processes: PdfProcesses | None = None


def start_processes(count: int) -> PdfProcesses | None:
    """Render PDFs in ``count`` processes from now on (0: in a thread of this process, as the web app does)."""
    global _processes
    stop_processes()
    _processes = PdfProcesses(count) if count > 0 else None
    if _processes is not None:
        _processes.warm_up()
    return _processes


def stop_processes() -> None:
    global _processes
    if _processes is not None:
        _processes.close()
        _processes = None


async def render_pdf(model: Mapping[str, Any], settings: Settings | None = None, *, locale: str | None = None) -> bytes:
    """The PDF of a report model in ``locale`` (None: the current language), off the event loop: in the
    render processes when this process has them (``start_processes``), else laid out in a thread."""
    if _processes is not None:
        return await _processes.render(model, i18n.negotiate(locale) if locale is not None else i18n.current())
    if locale is None:
        html = render_html(model)
    else:
        with i18n.use(locale):
            html = render_html(model)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, partial(html_to_pdf, html))


def render_pdf_sync(model: Mapping[str, Any]) -> bytes:
    """The PDF of a report model, blocking (benchmarks, scripts)."""
    return html_to_pdf(render_html(model))


__all__: Sequence[str] = [
    "PdfProcesses",
    "render_html",
    "render_in_process",
    "render_pdf",
    "render_pdf_sync",
    "report_view",
    "start_processes",
    "stop_processes",
]
