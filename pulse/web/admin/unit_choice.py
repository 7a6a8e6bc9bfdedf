"""Choosing units in a form (a leader's scope, an API key's, a round's or a schedule's): the tree as a
list of checkboxes, and the choice read back from the posted form. The fieldset is ``templates/admin/_units.html``.

The form says "the whole organisation" or "only these units" with a radio button, so that unticking
every box is never silently read as "everything".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request

from pulse.domain.units import format_unit_path, minimal_scope
from pulse.errors import InvalidInput, PulseError
from pulse.i18n import N_
from pulse.models import Department, Organization
from pulse.services.access import Need, organization_for
from pulse.services.units import OrgUnits, load_units
from pulse.web.admin.pages import admin_page
from pulse.web.auth import MAX_FORM_FIELDS, Handler

#: The radio buttons' values.
WHOLE, SOME = "whole", "units"
#: A posted form or a query string (both are multi-dicts of the fields' values).
Values = ImmutableMultiDict[str, Any]
#: The most units one form may tick. Each ticked unit is a field: a page with the picker accepts as
#: many fields as the organisation has units on top of the usual limit, up to this many (2,000 units
#: is the largest tree the benchmarks build); choosing the whole organisation needs no ticks.
MAX_UNIT_CHOICES = 5_000


async def unit_form_fields(request: Request) -> int:
    """How many fields a form with the picker may send: the usual limit plus one per unit of the
    organisation (capped). Only for a user who may manage it; anyone else gets the usual limit, so the
    answer tells nobody how many units another organisation has (the page then refuses them)."""
    try:
        organization = await organization_for(request.state.principal, request.path_params["slug"], Need.MANAGE)
    except PulseError:
        return MAX_FORM_FIELDS
    units = await Department.filter(organization_id=organization.id).count()
    return MAX_FORM_FIELDS + min(units, MAX_UNIT_CHOICES)


def unit_form_page(handler: Handler) -> Handler:
    """``admin_page`` for a page whose form has the unit picker (a field per ticked unit)."""
    return admin_page(handler, form_fields=unit_form_fields)


async def unit_options(organization: Organization) -> list[dict[str, Any]]:
    """Every unit of the organisation in tree order (parents first, siblings by name), for the checkboxes."""
    units = await load_units(organization.id)
    return [
        {
            "label": format_unit_path(path),
            "name": path[-1],
            "depth": len(path),
            "above": format_unit_path(path[:-1]) if len(path) > 1 else "",
        }
        for path in units.tree
    ]


def chosen_units(request: Request, values: Values | None = None) -> list[str] | None:
    """The units ticked in the posted form (paths as written in it), or None for the whole organisation.
    ``values``: where to read them instead of the posted form (a GET form's query, for a preview).

    InvalidInput when the choice is neither, or "only these units" comes with no unit ticked; the
    paths themselves are checked by the service that uses them (unknown ones are refused by name).
    """
    form = request.state.form if values is None else values
    choice = form.get("scope", WHOLE)  # a form without the choice (older clients): what it meant before scopes
    if choice == WHOLE:
        return None
    if choice != SOME:
        raise InvalidInput(N_("Choose the whole organisation or some units."))
    ticked = [value.strip() for value in form.getlist("unit") if isinstance(value, str) and value.strip()]
    if not ticked:
        raise InvalidInput(N_("Tick at least one unit, or choose the whole organisation."))
    return list(dict.fromkeys(ticked))


def ticked_units(request: Request, values: Values | None = None) -> list[str] | None:
    """What a refused form had chosen, to show it again as it was."""
    form = request.state.form if values is None else values
    if form.get("scope", WHOLE) != SOME:
        return None
    return [value for value in form.getlist("unit") if isinstance(value, str)]


def scope_labels(units: OrgUnits, unit_ids: Sequence[int] | None) -> list[str] | None:
    """A stored scope as paths (None: the whole organisation)."""
    if unit_ids is None:
        return None
    return sorted(units.label(i) for i in unit_ids if i in units.paths)


def covered_labels(units: OrgUnits, unit_ids: Sequence[int] | None) -> list[str] | None:
    """A round's units (each unit it covers, every subtree in full) as the units that were chosen: the
    top of each subtree (None: the whole organisation)."""
    if unit_ids is None:
        return None
    return [format_unit_path(path) for path in minimal_scope(units.paths[i] for i in unit_ids if i in units.paths)]
