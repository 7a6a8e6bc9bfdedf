"""Reports: the list, one report page and its downloads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pulse import i18n
from pulse.domain.scoped_report import scope_model
from pulse.domain.units import format_unit_path
from pulse.errors import NotFound
from pulse.i18n import N_
from pulse.models import Report, ReportStatus, Round, RoundStatus
from pulse.pdf import FLAG_LABELS, SHORT_LABELS
from pulse.services import reports
from pulse.services.access import (
    Need,
    organization_for,
    report_for,
    round_in_scope,
    scope_of,
)
from pulse.web.admin.pages import admin_page, language_of, principal_from, render
from pulse.web.auth import (
    settings_of,
)

REPORT_FORMATS = {"pdf": "PDF", "json": "JSON", "csv": "CSV"}


def dimension_label(dimension: Mapping[str, Any]) -> str:
    """A dimension's short name in the page's language, as the PDF's tables name it."""
    return i18n.gettext(SHORT_LABELS.get(str(dimension.get("key")), str(dimension.get("label", ""))))


def flag_label(flag: str) -> str:
    return i18n.gettext(FLAG_LABELS[flag]) if flag in FLAG_LABELS else flag.replace("_", " ")


def headline(model: Mapping[str, Any]) -> dict[str, Any]:
    """What the report page shows in HTML: participation, the organisation's scores, flagged departments."""
    participation = model.get("participation") or {}
    organization = model.get("organization") or {}
    dimensions = []
    for info in model.get("dimensions") or []:
        score = organization.get(info["key"]) or {}
        dimensions.append(
            {
                "key": info["key"],
                "label": info["label"],
                "higher_is_better": info["higher_is_better"],
                "suppressed": score.get("suppressed", True),
                "mean": score.get("mean"),
                "ci_low": score.get("ci_low"),
                "ci_high": score.get("ci_high"),
            }
        )
    departments = []
    for department in model.get("departments") or []:
        departments.append(
            {
                "name": department["name"],
                "suppressed": department.get("suppressed", True),
                "responded": department.get("responded"),
                "invited": department.get("invited"),
                "flags": list(department.get("flags") or []),
                "scores": {key: (cell or {}).get("mean") for key, cell in (department.get("scores") or {}).items()},
            }
        )
    round_info = model.get("round") or {}
    return {
        "invited": participation.get("invited"),
        "responded": participation.get("responded"),
        "rate": participation.get("rate"),
        "min_group_size": model.get("min_group_size"),
        "dimensions": dimensions,
        "departments": departments,
        "findings": [f for f in model.get("findings") or [] if isinstance(f, dict)],
        # "Round 3" as the services name it; the page says it in its language (pulse.i18n.round_label).
        "label": round_info.get("label") or f"Round {round_info.get('number', '')}",
        "closed": bool(round_info.get("closed")),
    }


def participation_rate(model: Mapping[str, Any] | None) -> Any:
    participation = (model or {}).get("participation")
    return participation.get("rate") if isinstance(participation, dict) else None


@admin_page
async def reports_page(request: Request) -> Response:
    principal = principal_from(request)
    organization = await organization_for(principal, request.path_params["slug"], Need.REPORTS)
    # values(): every report's headline without loading the stored PDFs.
    stored = (
        await Report.filter(round__organization_id=organization.id, round__status=RoundStatus.CLOSED)
        .order_by("-round__number")
        .values("round_id", "status", "built_at", "model", number="round__number")
    )
    if principal.unit_ids is not None:
        # A scoped leader lists only the rounds that cover some unit of their scope.
        visible = {
            r.id
            for r in await Round.filter(id__in=[s["round_id"] for s in stored])
            if await round_in_scope(principal, r)
        }
        stored = [s for s in stored if s["round_id"] in visible]
    rows = [
        {
            "round_id": r["round_id"],
            "number": r["number"],
            "status": r["status"],
            "built": r["built_at"],
            "rate": participation_rate(r["model"]),
        }
        for r in stored
    ]
    return render(request, "admin/reports.html", org=organization, section="reports", reports=rows)


@admin_page
async def report_page(request: Request) -> Response:
    principal = principal_from(request)
    report = await report_for(principal, request.path_params["round_id"])
    found = await Round.get(id=report.round_id).select_related("organization")
    ready = report.status == ReportStatus.READY and report.model is not None
    scope = await scope_of(principal)
    model = scope_model(report.model, scope) if ready and report.model and scope else report.model
    return render(
        request,
        "admin/report.html",
        org=found.organization,
        section="reports",
        report=report,
        round=found,
        ready=ready,
        headline=headline(model) if ready and model else None,
        scope=[format_unit_path(unit) for unit in scope or ()],
        formats=REPORT_FORMATS,
        dimension_label=dimension_label,
        flag_label=flag_label,
    )


@admin_page
async def report_download(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    principal = principal_from(request)
    report = await report_for(principal, request.path_params["round_id"])
    if fmt not in REPORT_FORMATS:
        raise NotFound(N_("no report format %(format)s (use pdf, json or csv)", format=repr(fmt)))
    scope = await scope_of(principal)
    found = await Round.get(id=report.round_id).select_related("organization")
    locale = language_of(request, found.organization)
    exported = await reports.export(report.round_id, fmt, settings_of(request), build=False, scope=scope, locale=locale)
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={"content-disposition": f'attachment; filename="{exported.filename}"', "cache-control": "no-store"},
    )
