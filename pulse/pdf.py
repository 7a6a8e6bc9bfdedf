"""Report model -> HTML (Jinja2, templates/reports/) -> PDF (WeasyPrint), off the event loop.

The PDF is rendered from the stored JSON model (`Report.to_json()`), the same data the JSON and CSV
exports come from, so the three cannot disagree.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from pulse.settings import Settings
from pulse.templating import TEMPLATES_DIR, environment

log = logging.getLogger("pulse.pdf")

REPORT_TEMPLATE = "reports/report.html"


def render_html(model: Mapping[str, Any]) -> str:
    """The report as one printable HTML document."""
    from pulse.charts import report_charts

    return environment().get_template(REPORT_TEMPLATE).render(model=model, charts=report_charts(model))


def html_to_pdf(html: str) -> bytes:
    """Blocking: WeasyPrint lays the document out (imported here: the import alone costs ~0.7 s)."""
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR / "reports"))
    pdf: bytes = document.write_pdf()
    return pdf


async def render_pdf(model: Mapping[str, Any], settings: Settings | None = None) -> bytes:
    """The PDF of a report model, rendered in a worker thread so the event loop keeps serving."""
    html = render_html(model)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, partial(html_to_pdf, html))
