"""Pooled figures: a unit with everything below it, added up from its departments' figures.

The figures of an inner unit pool every answer below it: its own people's and those of every unit in
its subtree. They are sums of the departments' figures (counts, score sums and sums of squares, eNPS
categories, help marks), and when those carry privacy noise (``pulse.domain.privacy``) the sums are
taken over the *released* (noisy) figures: post-processing, which costs no privacy budget. No second
draw is ever made for a pooled figure, so a pooled figure and the figures it is made of can be set
against each other without averaging any noise away, and one person's round stays protected at the
budget's total. The noise on a pooled mean is the departments' noise added up (independent draws):
variance sum(v_i n_i^2) / N^2, carried into every interval, comparison and flag.

Like a department's, a pooled released count stays on the same side of ``k`` as the counted one, so
what is shown or hidden says nothing more than the plan (``pulse.domain.tree_plan``) already does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pulse.domain.aggregates import DepartmentAggregates
from pulse.domain.drivers import DriverMoments
from pulse.domain.stats import Moments


def _add(into: dict[str, Moments], moments: Mapping[str, Moments]) -> None:
    for key, m in moments.items():
        into[key] = into.get(key, Moments.empty()) + m


def _same_side(released: int, counted: int, k: int, ceiling: int) -> int:
    """A pooled released count on the counted one's side of k (a sum of noisy counts can cross it)."""
    if counted >= k:
        return min(ceiling, max(k, released))
    return min(released, k - 1)


def pool_departments(name: str, members: Sequence[DepartmentAggregates], k: int) -> DepartmentAggregates:
    """The figures of `name`, the unit whose subtree holds the departments `members`.

    Driver moments, item moments and comments are not pooled: drivers are not analysed on released
    figures, item moments feed organisation-wide reliability only, and comments have their own
    grouping over the tree (``pulse.domain.tree_comments``).
    """
    invited = sum(d.invited for d in members)
    responded = sum(d.responded for d in members)
    released = any(d.gate_counts is not None for d in members)
    dimension_moments: dict[str, Moments] = {}
    anchor_moments: dict[str, Moments] = {}
    helped_by: dict[str, float] = {}
    noise_sum: dict[str, float] = {}
    anchor_offset: dict[str, tuple[float, float]] = {}
    counted_dimensions: dict[str, int] = {}
    counted = 0
    counted_network = 0
    for d in members:
        _add(dimension_moments, d.dimension_moments)
        _add(anchor_moments, d.anchor_moments)
        for other, count in d.helped_by.items():
            helped_by[other] = helped_by.get(other, 0.0) + count
        for dim, variance in d.noise_variance.items():
            n = d.dimension_moments[dim].n if dim in d.dimension_moments else 0
            noise_sum[dim] = noise_sum.get(dim, 0.0) + variance * n * n
        # The equating offset is one organisation-wide figure, the same on every department of a round.
        for dim, offset in d.anchor_offset.items():
            anchor_offset.setdefault(dim, offset)
        gate = d.gate_counts or (d.responded, {key: m.n for key, m in d.dimension_moments.items()})
        counted += gate[0]
        for key, n in gate[1].items():
            counted_dimensions[key] = counted_dimensions.get(key, 0) + n
        counted_network += d.gate_network if d.gate_network is not None else d.network_respondents
    network = sum(d.network_respondents for d in members)
    if released:
        responded = _same_side(responded, counted, k, invited)
        network = min(responded, _same_side(network, counted_network, k, responded))
        for dim, m in list(dimension_moments.items()):
            # A noisy sum of n can exceed the pooled released count only by the clamping above.
            if m.n > responded:
                dimension_moments[dim] = Moments(responded, m.total * responded / m.n, m.total_sq * responded / m.n)
    noise_variance = {
        dim: total / (dimension_moments[dim].n ** 2)
        for dim, total in noise_sum.items()
        if dim in dimension_moments and dimension_moments[dim].n > 0
    }
    # A unit whose noise on a dimension is one department's single Laplace draw keeps that draw's scale
    # (the flags treat one draw exactly); several draws add up to a noise the variance describes.
    noise_scale: dict[str, float] = {}
    for dim in noise_variance:
        drawn = [d for d in members if d.noise_scale.get(dim)]
        if len(drawn) == 1 and dimension_moments[dim].n > 0:
            noise_scale[dim] = drawn[0].noise_scale[dim] * drawn[0].dimension_moments[dim].n / dimension_moments[dim].n
    return DepartmentAggregates(
        name=name,
        invited=invited,
        responded=responded,
        dimension_moments=dimension_moments,
        anchor_moments=anchor_moments,
        enps_promoters=sum(d.enps_promoters for d in members),
        enps_passives=sum(d.enps_passives for d in members),
        enps_detractors=sum(d.enps_detractors for d in members),
        helped_by=dict(sorted(helped_by.items())),
        network_respondents=network,
        noise_variance=noise_variance,
        noise_scale=noise_scale,
        gate_counts=(counted, counted_dimensions) if released else None,
        gate_network=counted_network if released else None,
        anchor_offset={dim: anchor_offset[dim] for dim in dimension_moments if dim in anchor_offset},
        driver_moments=DriverMoments.empty(),
    )
