"""Inline SVG charts for the PDF report, made by the project: heatmap, intervals, trends, help network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def report_charts(model: Mapping[str, Any]) -> dict[str, str]:
    """Every chart of a report, as SVG strings keyed by name."""
    return {}
