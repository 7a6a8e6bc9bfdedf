"""A round's privacy noise, drawn in a short-lived process of its own.

OpenDP's native library is a 270 MB file; loaded and used by a draw, it stays resident in the process
for good (about 30 MB), and drawing was what took a report build's peak RSS over its 300 MB target.
So the report service never draws in its own process:

1. ``release_round`` runs with a source that refuses to draw. A rebuild whose figures are all in the
   stored draw (every build after the first) is done there: OpenDP is never loaded.
2. Otherwise it runs once more with a source that records what it would draw and adds no noise
   (which figures a release draws never depends on the noise itself), a child process
   (``python -c``, importing ``pulse.domain.laplace`` and nothing else of Pulse) draws exactly those
   with OpenDP, and ``release_round`` runs a last time on those draws, in order.

The release is the one ``release_round`` makes with OpenDP in this process: same requests, same
measurements, the figures carried back exactly (JSON floats round-trip).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from pulse.domain.aggregates import DepartmentAggregates
from pulse.domain.privacy import PrivacyBudget, Release, release_round

#: The child: reads the requests, draws them with OpenDP, writes the noisy values.
CHILD_CODE = (
    "import json, sys\n"
    "from pulse.domain.laplace import draw_requests\n"
    "json.dump(draw_requests(json.load(sys.stdin)), sys.stdout)\n"
)


class NoiseDrawError(RuntimeError):
    """The drawing process failed (its error output is in the message)."""


class _DrawNeeded(Exception):
    pass


class _Refusing:
    """Draws nothing: raises as soon as the release needs a figure the stored draw lacks."""

    def integers(self, values: Sequence[int], scale: float) -> list[int]:
        raise _DrawNeeded

    def reals(self, values: Sequence[float], scale: float) -> list[float]:
        raise _DrawNeeded


class _Recording:
    """Records every request and returns the values unchanged (the release is thrown away)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, list[Any], float]] = []

    def integers(self, values: Sequence[int], scale: float) -> list[int]:
        self.requests.append(("int", [int(v) for v in values], float(scale)))
        return [int(v) for v in values]

    def reals(self, values: Sequence[float], scale: float) -> list[float]:
        self.requests.append(("float", [float(v) for v in values], float(scale)))
        return [float(v) for v in values]


class _Replaying:
    """Returns the child's draws, request by request; a request that differs from the recorded one is a bug."""

    def __init__(self, requests: Sequence[tuple[str, list[Any], float]], drawn: Sequence[Sequence[Any]]) -> None:
        self.pending = list(zip(requests, drawn, strict=True))

    def _next(self, kind: str, values: Sequence[Any], scale: float) -> list[Any]:
        if not self.pending:
            raise NoiseDrawError("the release asked for more noise than was drawn")
        (expected_kind, expected_values, expected_scale), drawn = self.pending.pop(0)
        if (expected_kind, expected_values, expected_scale) != (kind, list(values), float(scale)):
            raise NoiseDrawError("the release asked for other noise than was drawn")
        return list(drawn)

    def integers(self, values: Sequence[int], scale: float) -> list[int]:
        return [int(v) for v in self._next("int", [int(v) for v in values], scale)]

    def reals(self, values: Sequence[float], scale: float) -> list[float]:
        return [float(v) for v in self._next("float", [float(v) for v in values], scale)]


async def draw_in_child(requests: Sequence[tuple[str, list[Any], float]]) -> list[list[Any]]:
    """The noisy values of each request, drawn by OpenDP in a child process."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD_CODE,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await child.communicate(json.dumps(requests).encode())
    if child.returncode != 0:
        raise NoiseDrawError(f"drawing the noise failed ({child.returncode}): {err.decode(errors='replace')[-2000:]}")
    drawn = json.loads(out)
    if not isinstance(drawn, list) or len(drawn) != len(requests):
        raise NoiseDrawError("the drawing process returned another number of draws than asked")
    return drawn


async def release(
    departments: Sequence[DepartmentAggregates],
    budget: PrivacyBudget,
    *,
    min_group_size: int,
    stored: Mapping[str, Any] | None,
    keys: Mapping[str, str],
    with_network: bool,
) -> Release:
    """``release_round`` with every missing figure drawn in a child process (see the module docstring)."""

    def run(noise: Any) -> Release:
        return release_round(
            departments,
            budget,
            min_group_size=min_group_size,
            stored=stored,
            keys=keys,
            noise=noise,
            with_network=with_network,
        )

    try:
        return run(_Refusing())
    except _DrawNeeded:
        pass
    recording = _Recording()
    run(recording)
    drawn = await draw_in_child(recording.requests)
    replaying = _Replaying(recording.requests, drawn)
    result = run(replaying)
    if replaying.pending:
        raise NoiseDrawError("the release used less noise than was drawn")
    return result
