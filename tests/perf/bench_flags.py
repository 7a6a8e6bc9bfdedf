"""Benchmark: the planted-problem study at full size, and the trend and driver simulations, with figures.

Run: `.venv/bin/python tests/perf/bench_flags.py` (or `make bench`).

* Flags: 40 organisations x 30 departments of 15-30 respondents (everyone invited answers), three
  problems of 0.9 scale points (22.5 points) per organisation on random dimensions, and 40 healthy
  organisations alongside; detection >= 95% and at most one false flag per 30 healthy departments.
  Repeated with Gaussian noise on every released department mean (variance `NOISE_VARIANCE`), and
  under the real differential-privacy release of the reports (`pulse.domain.privacy`, default budget,
  OpenDP noise: not seeded, so its figures vary a little from run to run).
* Trends: a constant climate, rotating items 0.3-0.6 scale points apart in difficulty, six rounds:
  how many families of trend changes make any claim (every claim is false here).
* Drivers: how often the planted driver ranks first at n = 200.
"""

from __future__ import annotations

import time

from pulse.domain.drivers import analyse
from pulse.domain.privacy import DEFAULT_BUDGET, PrivacyBudget
from pulse.domain.simulation import DepartmentSpec, FlagStudy, planted_problem_study, simulate_round

ORGANISATIONS = 40
REPLICATES = 3  # independent 40-organisation studies: the detection rate of one study varies by about 2 points
NOISE_VARIANCE = 4.0  # SD 2 points on the 0-100 scale


def _run(noise: float, budget: PrivacyBudget | None = None) -> FlagStudy:
    total = FlagStudy(0, 0, 0, 0, 0)
    for replicate in range(REPLICATES):
        study = planted_problem_study(ORGANISATIONS, seed=100 + replicate, noise_variance=noise, budget=budget)
        print(
            f"  study {replicate + 1}: detected {study.detected}/{study.planted} ({study.detection_rate:.1%}), "
            f"false flags per 30 healthy departments {study.false_flags_per_30_healthy:.2f}, "
            f"per organisation with problems {study.false_flags_per_30_in_planted_orgs:.2f}"
        )
        total = FlagStudy(
            total.organisations + study.organisations,
            total.planted + study.planted,
            total.detected + study.detected,
            total.false_flags_planted_orgs + study.false_flags_planted_orgs,
            total.false_flags_healthy_orgs + study.false_flags_healthy_orgs,
        )
    return total


def test_planted_problems_at_full_size_without_and_with_noise() -> None:
    for noise, budget in ((0.0, None), (NOISE_VARIANCE, None), (0.0, DEFAULT_BUDGET)):
        started = time.perf_counter()
        print(f"\nflags, {'privacy release, default budget' if budget else f'noise variance {noise:g}'}:")
        total = _run(noise, budget)
        print(
            f"  all: detection {total.detection_rate:.1%} ({total.detected}/{total.planted}), "
            f"false flags per 30 healthy departments {total.false_flags_per_30_healthy:.2f}, "
            f"in organisations with problems {total.false_flags_per_30_in_planted_orgs:.2f} "
            f"({time.perf_counter() - started:.0f} s)"
        )
        # The issue's requirement, without noise and under the reports' own privacy release: >= 95%
        # found, at most one false flag per 30 healthy departments. The Gaussian noise of variance 4 on
        # every mean is a harsher stand-in (more than the privacy noise of a department of 15, whose
        # variance is 2.5): 90% there.
        assert total.detection_rate >= (0.9 if noise > 0 else 0.95)
        assert total.false_flags_per_30_healthy <= 1.0


def test_the_planted_driver_ranks_first_at_n_200() -> None:
    drivers = {"fear": 0.5, "initiative": 0.2, "consistency": 0.15, "collaboration": 0.1}
    simulations, first = 200, 0
    for seed in range(simulations):
        simulated = simulate_round(
            [DepartmentSpec("All", 200, 1.0)],
            seed=10_000 + seed,
            outcome_drivers=drivers,
            dimension_correlation=0.4,
            ask_network=False,
            comment_rate=0.0,
        )
        result = analyse("All", simulated.aggregates()[0].driver_moments, replicates=50)
        first += result is not None and result.main.dimension == "fear"
    print(f"\ndrivers: the planted driver ranks first in {first}/{simulations} simulations ({first / simulations:.1%})")
    assert first / simulations >= 0.9


if __name__ == "__main__":
    test_planted_problems_at_full_size_without_and_with_noise()
    test_the_planted_driver_ranks_first_at_n_200()
