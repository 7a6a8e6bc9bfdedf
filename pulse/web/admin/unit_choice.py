"""Choosing units in a form (a leader's scope, an API key's): the tree as a list of checkboxes, and the
choice read back from the posted form. The fieldset is ``templates/admin/_units.html``.

The form says "the whole organisation" or "only these units" with a radio button, so that unticking
every box is never silently read as "everything".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from pulse.domain.units import format_unit_path
from pulse.errors import InvalidInput
from pulse.i18n import N_
from pulse.models import Organization
from pulse.services.units import OrgUnits, load_units

#: The radio buttons' values.
WHOLE, SOME = "whole", "units"


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


def chosen_units(request: Request) -> list[str] | None:
    """The units ticked in the posted form (paths as written in it), or None for the whole organisation.

    InvalidInput when the choice is neither, or "only these units" comes with no unit ticked; the
    paths themselves are checked by the service that uses them (unknown ones are refused by name).
    """
    form = request.state.form
    choice = form.get("scope", WHOLE)  # a form without the choice (older clients): what it meant before scopes
    if choice == WHOLE:
        return None
    if choice != SOME:
        raise InvalidInput(N_("Choose the whole organisation or some units."))
    ticked = [value.strip() for value in form.getlist("unit") if isinstance(value, str) and value.strip()]
    if not ticked:
        raise InvalidInput(N_("Tick at least one unit, or choose the whole organisation."))
    return list(dict.fromkeys(ticked))


def ticked_units(request: Request) -> list[str] | None:
    """What a refused form had chosen, to show it again as it was."""
    form = request.state.form
    if form.get("scope", WHOLE) != SOME:
        return None
    return [value for value in form.getlist("unit") if isinstance(value, str)]


def scope_labels(units: OrgUnits, unit_ids: Sequence[int] | None) -> list[str] | None:
    """A stored scope as paths (None: the whole organisation)."""
    if unit_ids is None:
        return None
    return sorted(units.label(i) for i in unit_ids if i in units.paths)
