"""OpenDP's Laplace measurements, the one place Pulse's privacy noise comes from.

Kept apart from ``pulse.domain.privacy`` and free of Pulse's other imports (numpy, scipy), so a
short-lived process can import it alone to draw a round's noise (``pulse.services.noise_draw``): the
process that builds reports then never loads OpenDP's native library (a 270 MB file, tens of MB
resident once used). OpenDP itself is imported on the first draw, never at import time.

``draw_requests`` is what that process runs, on requests ``(kind, values, scale)`` it reads as JSON
(JSON carries floats exactly: the shortest repr round-trips, so the figures are the same as drawn here).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

KINDS = ("int", "float")


@lru_cache(maxsize=64)
def measurement(kind: str, scale: float) -> Any:
    """OpenDP's vector Laplace measurement of ``kind`` (integer or float values) at ``scale``, cached."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    if kind == "int":
        return dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale)
    return dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float), scale=scale)


def integers(values: Sequence[int], scale: float) -> list[int]:
    """Each value plus integer Laplace noise of ``scale``."""
    if not values:
        return []
    return [int(v) for v in measurement("int", float(scale))([int(v) for v in values])]


def reals(values: Sequence[float], scale: float) -> list[float]:
    """Each value plus Laplace noise of ``scale``."""
    if not values:
        return []
    return [float(v) for v in measurement("float", float(scale))([float(v) for v in values])]


def draw_requests(requests: Sequence[Sequence[Any]]) -> list[list[int] | list[float]]:
    """The noisy values of each ``(kind, values, scale)`` request, in order."""
    drawn: list[list[int] | list[float]] = []
    for kind, values, scale in requests:
        if kind not in KINDS:
            raise ValueError(f"unknown kind of noise {kind!r}")
        drawn.append(integers(values, scale) if kind == "int" else reals(values, scale))
    return drawn
