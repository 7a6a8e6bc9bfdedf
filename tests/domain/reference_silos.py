"""The silo algorithms as they were before they went sparse (pair loops over every pair of departments).

Kept only as the reference the property tests compare the fast versions in `pulse.domain.silos` with:
same inputs, exactly the same results (bit for bit, same seeded draws). Not used by Pulse itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np

from pulse.domain.silos import (
    COLLABORATION_GAP_FOR_FULL_SILO,
    ISOLATED_FRACTION,
    MAX_LISTED_PAIRS,
    SILO_REPLICATES,
    SILO_SEED,
    NetworkEdge,
    NetworkInput,
    SiloNetwork,
)


def build_network(inputs: Mapping[str, NetworkInput]) -> SiloNetwork | None:
    """The network of departments with network answers; None when fewer than two took part."""
    names = sorted(name for name, data in inputs.items() if data.respondents > 0)
    if len(names) < 2:
        return None
    share: dict[tuple[str, str], float] = {}
    edges: list[NetworkEdge] = []
    for helped in names:
        data = inputs[helped]
        for helper in names:
            count = data.helped_by.get(helper, 0) if helper != helped else 0
            # Released counts carry privacy noise and can be slightly negative: kept as they are (the
            # averages over many departments stay unbiased); only drawn edges need a positive count.
            share[(helped, helper)] = min(1.0, count / data.respondents)
            if count > 0 and helper != helped:
                edges.append(NetworkEdge(helper, helped, count, share[(helped, helper)]))
    others = len(names) - 1
    external = {
        a: (sum(share[(a, b)] for b in names if b != a) + sum(share[(b, a)] for b in names if b != a)) / (2 * others)
        for a in names
    }
    never = [(a, b) for a, b in combinations(names, 2) if share[(a, b)] <= 0 and share[(b, a)] <= 0]
    typical = sum(external.values()) / len(external)
    return SiloNetwork(
        departments=tuple(names),
        edges=tuple(edges),
        isolated=tuple(a for a in names if external[a] <= ISOLATED_FRACTION * typical),
        never_helping_pairs=tuple(never[:MAX_LISTED_PAIRS]),
        never_helping_pair_count=len(never),
        external_ties=external,
    )


def silo_intervals(
    departments: Sequence[str],
    collaboration_gap: Mapping[str, float | None],
    gap_standard_error: Mapping[str, float],
    network_inputs: Mapping[str, NetworkInput],
    *,
    replicates: int = SILO_REPLICATES,
    seed: int = SILO_SEED,
) -> dict[str, tuple[float, float]]:
    """95% intervals of each department's silo index, by a seeded parametric bootstrap.

    Each replicate redraws every collaboration gap from a normal with its standard error, and every
    help count from a binomial with the department's respondents and the observed share (so small
    departments' network shares move more), then recomputes the index with the formulas of
    `compute_silos` (vectorised over replicates: a report with hundreds of departments stays fast).
    """
    rng = np.random.default_rng(seed)
    names = list(departments)
    if not names:
        return {}
    parts: list[np.ndarray] = []  # each (replicates, len(names)), NaN where the part does not exist
    gaps = np.array([np.nan if collaboration_gap.get(n) is None else float(collaboration_gap[n] or 0.0) for n in names])
    se = np.array([max(0.0, gap_standard_error.get(n, 0.0)) for n in names])
    drawn_gaps = gaps + rng.normal(size=(replicates, len(names))) * se
    parts.append(np.clip(drawn_gaps / COLLABORATION_GAP_FOR_FULL_SILO, 0.0, 1.0))
    network = sorted(n for n, data in network_inputs.items() if data.respondents > 0)
    if len(network) >= 2:
        position = {n: i for i, n in enumerate(network)}
        size = len(network)
        respondents = np.array([network_inputs[n].respondents for n in network], dtype=float)
        # Only the pairs somebody named can move (a zero share redraws as zero): draw those alone.
        helped_index: list[int] = []
        helper_index: list[int] = []
        counts: list[float] = []
        for helped in network:
            for helper, count in network_inputs[helped].helped_by.items():
                if helper in position and helper != helped and count > 0:
                    helped_index.append(position[helped])
                    helper_index.append(position[helper])
                    counts.append(float(count))
        rows, columns = np.array(helped_index, dtype=np.int64), np.array(helper_index, dtype=np.int64)
        trials = respondents[rows].astype(np.int64)
        probabilities = np.clip(np.array(counts) / respondents[rows], 0.0, 1.0)
        drawn = rng.binomial(trials[None, :], probabilities[None, :], size=(replicates, len(counts)))
        share = np.minimum(1.0, drawn / respondents[rows][None, :])
        received = np.zeros((replicates, size))
        given = np.zeros((replicates, size))
        for r in range(replicates):
            received[r] = np.bincount(rows, weights=share[r], minlength=size)
            given[r] = np.bincount(columns, weights=share[r], minlength=size)
        external = (received + given) / (2 * (size - 1))
        typical = external.mean(axis=1, keepdims=True)
        denominator = external + typical
        with np.errstate(divide="ignore", invalid="ignore"):
            component = np.where(denominator > 0, np.clip(-(external - typical) / denominator, 0.0, 1.0), 1.0)
        by_name = np.full((replicates, len(names)), np.nan)
        for j, name in enumerate(names):
            if name in position:
                by_name[:, j] = component[:, position[name]]
        parts.append(by_name)
    stacked = np.stack(parts)
    present = ~np.isnan(stacked)
    counted = present.sum(axis=0)
    index = np.where(counted > 0, np.nansum(stacked, axis=0) / np.maximum(counted, 1), np.nan)
    result: dict[str, tuple[float, float]] = {}
    for j, name in enumerate(names):
        values = index[:, j]
        values = values[~np.isnan(values)]
        if values.size >= replicates // 2:
            result[name] = (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
    return result
