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

import numpy as np

from pulse.domain.wording import N_, Wording

COLLABORATION_GAP_FOR_FULL_SILO = 25.0
#: Isolated: external ties at most this fraction of the typical department's. Not "exactly zero":
#: released help counts carry privacy noise, so a department nobody helps shows ties near zero.
ISOLATED_FRACTION = 1 / 3
MAX_LISTED_PAIRS = 100

SILO_METHODOLOGY_WORDING = Wording(
    N_(
        "The silo index runs from 0 (no sign of a silo) to 1. Half of it comes from the collaboration score: 0 when "
        "the department rates collaboration at or above the rest of the organisation, rising to 1 when it is "
        "%(points)s points or more below. The other half comes from the answers to 'which departments gave you "
        "information or help': how often the department is named by others and names others, compared with the "
        "organisation's typical department (an E-I style index); a department nobody names and that names nobody "
        "scores 1. When the help question was not asked, the collaboration part alone is used. Only departments that "
        "are shown in the report take part in the network. Each silo index comes with a 95%% interval from a seeded "
        "bootstrap that redraws the collaboration gap from its margin of error and every department's help answers "
        "from their share (small departments' shares move more)."
    ),
    {"points": COLLABORATION_GAP_FOR_FULL_SILO},
)
SILO_METHODOLOGY = SILO_METHODOLOGY_WORDING.text


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


def _named_pairs(inputs: Mapping[str, NetworkInput], names: Sequence[str]) -> list[tuple[str, str, float, float]]:
    """(helped, helper, count, share) of every pair of `names` where somebody named the helper, in the
    order of the pair loop over all pairs (helped, then helper, by name). A pair nobody named has a
    share of 0: it adds nothing to any sum, so only these are visited (the pairs of 2,000
    departments are 4 million; the named ones a few per department)."""
    members = set(names)
    pairs: list[tuple[str, str, float, float]] = []
    for helped in names:
        data = inputs[helped]
        for helper in sorted(data.helped_by):
            if helper in members and helper != helped:
                count = data.helped_by[helper]
                # Released counts carry privacy noise and can be slightly negative: kept as they are
                # (the averages over many departments stay unbiased); only drawn edges need a positive count.
                pairs.append((helped, helper, count, min(1.0, count / data.respondents)))
    return pairs


def _never_helping(names: Sequence[str], helping: set[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
    """The first MAX_LISTED_PAIRS pairs (in `combinations(names, 2)` order) where neither named the other,
    and how many such pairs there are: all pairs but those in `helping` (ordered as in `names`)."""
    total = len(names) * (len(names) - 1) // 2
    listed: list[tuple[str, str]] = []
    for i, a in enumerate(names):
        if len(listed) >= MAX_LISTED_PAIRS:
            break
        for b in names[i + 1 :]:
            if (a, b) not in helping:
                listed.append((a, b))
                if len(listed) >= MAX_LISTED_PAIRS:
                    break
    return listed, total - len(helping)


def build_network(inputs: Mapping[str, NetworkInput]) -> SiloNetwork | None:
    """The network of departments with network answers; None when fewer than two took part.

    Sparse: only the pairs somebody named are visited; sums run over them in the same order as over
    every pair (the zeros left out add nothing), so the result is that of the pair loop exactly
    (tests/domain/test_silos.py compares it with the reference).
    """
    names = sorted(name for name, data in inputs.items() if data.respondents > 0)
    if len(names) < 2:
        return None
    received: dict[str, float] = {}
    given: dict[str, float] = {}
    edges: list[NetworkEdge] = []
    helping: set[tuple[str, str]] = set()
    order = {name: i for i, name in enumerate(names)}
    for helped, helper, count, share in _named_pairs(inputs, names):
        # Visited by helped, then helper: each department's received and given shares add up in the
        # order of the pair loop.
        received[helped] = received.get(helped, 0) + share
        given[helper] = given.get(helper, 0) + share
        if count > 0:
            edges.append(NetworkEdge(helper, helped, count, share))
        if share > 0:
            helping.add((helped, helper) if order[helped] < order[helper] else (helper, helped))
    others = len(names) - 1
    external = {a: (received.get(a, 0) + given.get(a, 0)) / (2 * others) for a in names}
    never, never_count = _never_helping(names, helping)
    typical = sum(external.values()) / len(external)
    return SiloNetwork(
        departments=tuple(names),
        edges=tuple(edges),
        isolated=tuple(a for a in names if external[a] <= ISOLATED_FRACTION * typical),
        never_helping_pairs=tuple(never),
        never_helping_pair_count=never_count,
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


#: Replicates drawn at once in `silo_intervals`: bounds its memory to about this many pair draws at a
#: time (a dense network of 2,000 departments names a million pairs; 200 replicates of all of them
#: would hold 1.6 GB per array).
SILO_CHUNK_DRAWS = 2_000_000


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
    `compute_silos`, vectorised over replicates. Only the pairs somebody named are drawn (a zero share
    redraws as zero), a block of replicates at a time (memory stays bounded however dense the
    network); the blocks follow one another in the generator's stream, so the draws, and the
    intervals, do not depend on the block size.
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
        parts.append(_network_component_draws(rng, names, network, network_inputs, replicates))
    stacked = np.stack(parts)
    present = ~np.isnan(stacked)
    counted = present.sum(axis=0)
    index = np.where(counted > 0, np.nansum(stacked, axis=0) / np.maximum(counted, 1), np.nan)
    result: dict[str, tuple[float, float]] = {}
    # A column is NaN in every replicate or in none (a part exists for a department or it does not):
    # the complete columns' percentiles in one call, the same numbers as column by column.
    complete = ~np.isnan(index).any(axis=0)
    if complete.any():
        bands = np.percentile(index[:, complete], [2.5, 97.5], axis=0)
        for column, j in enumerate(np.flatnonzero(complete)):
            result[names[j]] = (float(bands[0, column]), float(bands[1, column]))
    for j in np.flatnonzero(~complete):
        values = index[:, j]
        values = values[~np.isnan(values)]
        if values.size >= replicates // 2:
            result[names[j]] = (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
    return {name: result[name] for name in names if name in result}


def _network_component_draws(
    rng: np.random.Generator,
    names: Sequence[str],
    network: Sequence[str],
    network_inputs: Mapping[str, NetworkInput],
    replicates: int,
) -> np.ndarray:
    """N of each of `names` in each replicate, (replicates, len(names)), NaN for a name outside the network."""
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
    component = np.empty((replicates, size))
    block = max(1, min(replicates, SILO_CHUNK_DRAWS // max(1, len(counts))))
    for first in range(0, replicates, block):
        height = min(block, replicates - first)
        drawn = rng.binomial(trials[None, :], probabilities[None, :], size=(height, len(counts)))
        share = np.minimum(1.0, drawn / respondents[rows][None, :])
        # One bincount over the block: replicate r's department i is bin r * size + i (the same sums,
        # added in the same order, as a bincount per replicate).
        offsets = (np.arange(height, dtype=np.int64) * size)[:, None]
        received = np.bincount((offsets + rows[None, :]).ravel(), weights=share.ravel(), minlength=height * size)
        given = np.bincount((offsets + columns[None, :]).ravel(), weights=share.ravel(), minlength=height * size)
        external = (received.reshape(height, size) + given.reshape(height, size)) / (2 * (size - 1))
        typical = external.mean(axis=1, keepdims=True)
        denominator = external + typical
        with np.errstate(divide="ignore", invalid="ignore"):
            component[first : first + height] = np.where(
                denominator > 0, np.clip(-(external - typical) / denominator, 0.0, 1.0), 1.0
            )
    by_name = np.full((replicates, len(names)), np.nan)
    inside = [j for j, name in enumerate(names) if name in position]
    by_name[:, inside] = component[:, [position[names[j]] for j in inside]]
    return by_name
