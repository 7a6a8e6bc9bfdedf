"""Silo indicators: which departments are cut off from the rest of the organisation.

Per department, `silo_index` in [0, 1] (0 = no sign of a silo, 1 = strongest sign) combines:

* C, the collaboration gap: how far the department's collaboration score is below the rest of the
  organisation, C = clamp((rest - department) / 25, 0, 1). At or above the rest gives 0; 25 points
  or more below gives 1.
* N, the network component, when the "which departments gave you information or help" question was
  asked. With s(A, B) = share of A's respondents who named B as a helper:
  received(A) = mean over other departments B of s(A, B); given(A) = mean of s(B, A);
  E(A) = (received(A) + given(A)) / 2, the department's external ties; Ē = mean of E over all
  departments. In the spirit of Krackhardt & Stern's E-I index, EI(A) = (E(A) - Ē) / (E(A) + Ē) in
  [-1, 1], and N = clamp(-EI(A), 0, 1): 0 at or above the organisation's typical level of help
  across boundaries, 1 when nobody helps the department and it helps nobody.
* silo_index = (C + N) / 2 when both exist, otherwise whichever exists; None when neither does.

The network only includes shown departments that have at least k network answers; a department is
isolated when its external ties E are at most a third of the typical department's (released counts
carry privacy noise, so "exactly zero" would never be seen), and a pair "never helps each other"
when neither named the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

COLLABORATION_GAP_FOR_FULL_SILO = 25.0
#: Isolated: external ties at most this fraction of the typical department's. Not "exactly zero":
#: released help counts carry privacy noise, so a department nobody helps shows ties near zero.
ISOLATED_FRACTION = 1 / 3
MAX_LISTED_PAIRS = 100

SILO_METHODOLOGY = (
    "The silo index runs from 0 (no sign of a silo) to 1. Half of it comes from the collaboration score: "
    "0 when the department rates collaboration at or above the rest of the organisation, rising to 1 when it "
    f"is {COLLABORATION_GAP_FOR_FULL_SILO:g} points or more below. The other half comes from the answers to "
    "'which departments gave you information or help': how often the department is named by others and names "
    "others, compared with the organisation's typical department (an E-I style index); a department nobody "
    "names and that names nobody scores 1. When the help question was not asked, the collaboration part "
    "alone is used. Only departments that are shown in the report take part in the network. Each silo index comes "
    "with a 95% interval from a seeded bootstrap that redraws the collaboration gap from its margin of error and every "
    "department's help answers from their share (small departments' shares move more)."
)


@dataclass(frozen=True)
class NetworkInput:
    """One department's answers to the network question."""

    respondents: int
    helped_by: Mapping[str, float]


@dataclass(frozen=True)
class NetworkEdge:
    """`helper` gave information or help to `helped`: `count` of helped's respondents said so (`share`)."""

    helper: str
    helped: str
    count: float
    share: float


@dataclass(frozen=True)
class SiloNetwork:
    """The help network between shown departments."""

    departments: tuple[str, ...]
    edges: tuple[NetworkEdge, ...]
    isolated: tuple[str, ...]
    never_helping_pairs: tuple[tuple[str, str], ...]
    never_helping_pair_count: int
    external_ties: Mapping[str, float]


@dataclass(frozen=True)
class SiloResult:
    """Silo index per department and the network it was computed from (None when not asked)."""

    silo_index: Mapping[str, float | None]
    network: SiloNetwork | None


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


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


def network_component(network: SiloNetwork, department: str) -> float | None:
    """N for one department (see module docstring), or None when it is not in the network."""
    ties = network.external_ties.get(department)
    if ties is None:
        return None
    typical = sum(network.external_ties.values()) / len(network.external_ties)
    if ties + typical == 0:
        return 1.0  # nobody in the organisation helps anybody: every department is cut off
    return _clamp(-(ties - typical) / (ties + typical))


def collaboration_component(gap: float | None) -> float | None:
    """C from the collaboration gap (rest minus department, points), or None without a gap."""
    return None if gap is None else _clamp(gap / COLLABORATION_GAP_FOR_FULL_SILO)


def compute_silos(
    departments: Sequence[str],
    collaboration_gap: Mapping[str, float | None],
    network_inputs: Mapping[str, NetworkInput],
) -> SiloResult:
    """Silo index for each of `departments` (see the module docstring for the formula).

    `collaboration_gap` maps a department to rest-of-organisation minus department collaboration
    score; `network_inputs` holds only departments allowed into the network.
    """
    network = build_network(network_inputs)
    index: dict[str, float | None] = {}
    for name in departments:
        parts = [
            p
            for p in (
                collaboration_component(collaboration_gap.get(name)),
                network_component(network, name) if network is not None else None,
            )
            if p is not None
        ]
        index[name] = sum(parts) / len(parts) if parts else None
    return SiloResult(index, network)


# ---------------------------------------------------------------- uncertainty

SILO_REPLICATES = 200
SILO_SEED = 4_242


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
