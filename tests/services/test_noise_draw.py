"""A round's noise drawn in a short-lived child process (``pulse.services.noise_draw``): the report
service's own process never loads OpenDP, and the release is exactly release_round's on those draws."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from pulse.domain.privacy import DEFAULT_BUDGET, release_round
from pulse.domain.simulation import DepartmentSpec, simulate_round
from pulse.services import noise_draw

SPECS = [
    DepartmentSpec("Retail / North", 25, 0.8, {"fear": 20.0}),
    DepartmentSpec("Retail / South", 30, 0.8),
    DepartmentSpec("Legal", 4, 1.0),
    DepartmentSpec("IT", 20, 0.8),
]


def _departments() -> list[Any]:
    return simulate_round(SPECS, seed=5).aggregates()


async def test_a_first_release_is_drawn_in_a_child_and_is_release_round_on_those_draws() -> None:
    departments = _departments()
    keys = {d.name: str(i) for i, d in enumerate(departments, start=1)}
    first = await noise_draw.release(
        departments, DEFAULT_BUDGET, min_group_size=5, stored=None, keys=keys, with_network=True
    )
    assert first.drew > 0
    # The draw as the database keeps it gives, in this process and without any noise source able to
    # draw, exactly the released departments.
    stored = json.loads(json.dumps(first.draw))
    again = release_round(departments, DEFAULT_BUDGET, min_group_size=5, stored=stored, keys=keys, noise=_NoNoise())
    assert again.drew == 0 and again.departments == first.departments
    # The figures are noisy (OpenDP in the child), not the exact ones.
    assert [d.dimension_moments for d in first.departments] != [d.dimension_moments for d in departments]


async def test_a_rebuild_with_every_figure_stored_draws_nothing_and_starts_no_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    departments = _departments()
    first = await noise_draw.release(
        departments, DEFAULT_BUDGET, min_group_size=5, stored=None, keys={}, with_network=True
    )

    async def no_child(requests: Any) -> Any:
        raise AssertionError("a child was started for a complete draw")

    monkeypatch.setattr(noise_draw, "draw_in_child", no_child)
    again = await noise_draw.release(
        departments, DEFAULT_BUDGET, min_group_size=5, stored=first.draw, keys={}, with_network=True
    )
    assert again.drew == 0 and again.departments == first.departments
    # Figures missing from the stored draw (earlier rounds feeding trends draw no network figures) are
    # the only ones drawn.
    partial = await noise_draw.release(
        departments, DEFAULT_BUDGET, min_group_size=5, stored=first.draw, keys={}, with_network=False
    )
    assert partial.drew == 0


async def test_a_child_that_fails_fails_the_release_with_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(noise_draw, "CHILD_CODE", "import sys; sys.exit('no OpenDP here')")
    with pytest.raises(noise_draw.NoiseDrawError, match="no OpenDP here"):
        await noise_draw.release(
            _departments(), DEFAULT_BUDGET, min_group_size=5, stored=None, keys={}, with_network=True
        )


def test_the_process_that_builds_the_release_never_loads_opendp() -> None:
    # In a fresh interpreter (tests in this one may have loaded OpenDP already).
    script = textwrap.dedent(
        """
        import asyncio, sys
        from pulse.domain.privacy import DEFAULT_BUDGET
        from pulse.domain.simulation import DepartmentSpec, simulate_round
        from pulse.services import noise_draw
        departments = simulate_round([DepartmentSpec("A", 20, 0.9), DepartmentSpec("B", 25, 0.9)], seed=1).aggregates()
        release = asyncio.run(noise_draw.release(
            departments, DEFAULT_BUDGET, min_group_size=5, stored=None, keys={}, with_network=True))
        print(release.drew, any(name.split(".")[0] == "opendp" for name in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    drew, loaded = done.stdout.split()
    assert int(drew) > 0 and loaded == "False"


class _NoNoise:
    def integers(self, values: Any, scale: float) -> list[int]:
        raise AssertionError("drew again")

    def reals(self, values: Any, scale: float) -> list[float]:
        raise AssertionError("drew again")
