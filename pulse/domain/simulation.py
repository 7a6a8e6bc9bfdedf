"""Seeded simulation of an organisation answering a pulse, with problems planted where you want them.

Used by tests (does flagging find planted problems and leave healthy departments alone?), by the
demo (realistic answers without real people), and to choose the privacy budget: `padding_attack`
plays the insider's padding attack against released reports, `planted_problem_rates` measures flag
power and false flags under the same noise (tests/perf/bench_privacy.py runs both at full size).
Pure: the answers' randomness comes from `random.Random(seed)`; privacy noise comes from OpenDP, or
from `SeededLaplaceNoise` where a study must repeat exactly (tests; never a report's release).

Model: each respondent has a latent 0-100 level per dimension = organisation baseline + a small
random department effect (healthy departments differ a little) + the planted problem + personal
variation. Each item answer is that level mapped onto the 1-5 scale plus item noise, rounded and
clipped, then flipped for reverse-keyed items. A few answers are skipped at random.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from pulse.domain.aggregates import DepartmentAggregates, Response, aggregate_responses
from pulse.domain.errors import DomainError
from pulse.domain.flags import FLAG_BY_DIMENSION
from pulse.domain.items import (
    DIMENSION_BY_KEY,
    DIMENSION_KEYS,
    ITEM_BY_KEY,
    OUTCOME_KEY,
    SCALE_MAX,
    SCALE_MIN,
    compose_pulse,
)
from pulse.domain.privacy import NoiseSource, PrivacyBudget, release_round
from pulse.domain.report import Report, ReportInput, build_report
from pulse.domain.scoring import score_response
from pulse.domain.stats import Moments

BASELINE: Mapping[str, float] = MappingProxyType(
    {"fear": 40.0, "initiative": 60.0, "consistency": 58.0, "collaboration": 56.0}
)

_COMMENTS: Mapping[str, tuple[str, ...]] = {
    "fear": (
        "People here are afraid to admit mistakes, so problems stay hidden until they blow up.",
        "Last month someone was written up for helping a customer outside the script. Nobody will try that again.",
        "Our targets are used to find someone to blame rather than to find out what went wrong.",
    ),
    "initiative": (
        "We need sign-off for everything, even things that would take two minutes to fix for a customer.",
        "I would like to be trusted to solve small customer problems myself.",
    ),
    "consistency": (
        "What was a priority last week is suddenly a problem this week. Hard to know what counts.",
        "Rules are enforced for some people and not for others.",
    ),
    "collaboration": (
        "Getting information from other departments takes forever; it feels like they compete with us.",
        "We never hear what the other teams are working on until it lands on our desk.",
    ),
    "healthy": (
        "Good team, good manager. Keep the pulses short like this.",
        "Things have improved since the new shift planning.",
        "More staff on weekends would help everyone.",
    ),
}


@dataclass(frozen=True)
class DepartmentSpec:
    """One simulated department.

    `problems`: dimension -> points worse than a healthy department, in the unhealthy direction
    (more fear; less initiative, consistency, collaboration). `isolated`: nobody helps it and it
    helps nobody, as far as the network question goes.
    """

    name: str
    invited: int
    response_rate: float = 0.8
    problems: Mapping[str, float] = field(default_factory=dict)
    isolated: bool = False


@dataclass(frozen=True)
class SimulatedRound:
    """The simulated answers of one round, and what is needed to aggregate them."""

    asked: tuple[str, ...]
    invited: Mapping[str, int]
    responses: tuple[Response, ...]

    def aggregates(self) -> list[DepartmentAggregates]:
        """Per-department aggregates, as the report service would compute them."""
        return aggregate_responses(self.responses, self.invited, self.asked)


def _clip(value: int) -> int:
    return max(SCALE_MIN, min(SCALE_MAX, value))


#: How the outcome statement depends on the dimensions by default (healthy direction, person-SD units).
OUTCOME_DRIVERS: Mapping[str, float] = MappingProxyType(
    {"fear": 0.25, "initiative": 0.45, "consistency": 0.15, "collaboration": 0.1}
)


def _outcome_answer(
    level: Mapping[str, float],
    baseline: Mapping[str, float],
    person_sd: float,
    drivers: Mapping[str, float],
    rng: random.Random,
) -> int:
    latent = 0.0
    for dim, weight in drivers.items():
        sign = 1.0 if DIMENSION_BY_KEY[dim].higher_is_better else -1.0
        latent += weight * sign * (level[dim] - baseline[dim]) / person_sd
    return _clip(round(3 + 0.9 * (latent + rng.gauss(0.0, 0.8))))


def simulate_round(
    departments: Sequence[DepartmentSpec],
    *,
    seed: int,
    round_number: int = 1,
    asked: Sequence[str] | None = None,
    baseline: Mapping[str, float] = BASELINE,
    department_sd: float = 3.0,
    person_sd: float = 14.0,
    item_noise: float = 0.6,
    missing_rate: float = 0.02,
    ask_enps: bool = True,
    ask_network: bool = True,
    help_rate: float = 0.12,
    comment_rate: float = 0.15,
    directory_names: Sequence[str] = (),
    climate_seed: int | None = None,
    item_difficulty: Mapping[str, float] | None = None,
    outcome_drivers: Mapping[str, float] = OUTCOME_DRIVERS,
    dimension_correlation: float = 0.0,
) -> SimulatedRound:
    """Simulate one round's responses for `departments` (see module docstring for the model).

    `asked` defaults to `compose_pulse(round_number)`. When `directory_names` is given, some
    comments mention one of them, so redaction has something to do. `climate_seed` draws the
    department effects from their own seed, so several rounds share one climate; `item_difficulty`
    shifts an item's keyed answers by that many scale points (real items differ in how easy they are
    to agree with). `outcome_drivers` says how strongly each dimension (in its healthy direction, in
    person-SD units) moves the outcome statement; `dimension_correlation` gives the four dimensions
    a common person factor (real dimensions correlate). Both draw from their own random stream, so
    they leave every other simulated answer of a seed unchanged.
    """
    names = [d.name for d in departments]
    if len(set(names)) != len(names):
        raise DomainError(f"department names must be unique, got {names}")
    rng = random.Random(seed)
    asked_keys = tuple(asked) if asked is not None else compose_pulse(round_number)
    climate = random.Random(climate_seed) if climate_seed is not None else rng
    effects = {d.name: {dim: climate.gauss(0.0, department_sd) for dim in DIMENSION_KEYS} for d in departments}
    difficulty = item_difficulty or {}
    extra = random.Random(seed * 7919 + 17)
    # How much two departments have to do with each other; symmetric, drawn once per pair.
    affinity = {(min(a, b), max(a, b)): rng.uniform(0.2, 1.8) for i, a in enumerate(names) for b in names[i + 1 :]}
    isolated = {d.name for d in departments if d.isolated}
    responses: list[Response] = []
    for dept in departments:
        respondents = sum(rng.random() < dept.response_rate for _ in range(dept.invited))
        for _ in range(respondents):
            level: dict[str, float] = {}
            common = extra.gauss(0.0, 1.0) if dimension_correlation > 0 else 0.0
            for dim in DIMENSION_KEYS:
                sign = 1.0 if DIMENSION_BY_KEY[dim].higher_is_better else -1.0
                problem = dept.problems.get(dim)
                # A planted problem replaces the department's small random effect on its dimension, so
                # the department differs from a healthy one by exactly the planted amount.
                effect = effects[dept.name][dim] if problem is None else -sign * problem
                level[dim] = baseline[dim] + effect + rng.gauss(0.0, person_sd)
                if dimension_correlation > 0:
                    own = (level[dim] - baseline[dim] - effect) / person_sd
                    mixed = dimension_correlation**0.5 * common + (1 - dimension_correlation) ** 0.5 * own
                    level[dim] = baseline[dim] + effect + sign * person_sd * mixed
            answers: dict[str, int] = {}
            for key in asked_keys:
                if key == OUTCOME_KEY:
                    if extra.random() >= missing_rate:
                        answers[key] = _outcome_answer(level, baseline, person_sd, outcome_drivers, extra)
                    continue
                if rng.random() < missing_rate:
                    continue
                item = ITEM_BY_KEY[key]
                shift = difficulty.get(key, 0.0)
                keyed = _clip(round(1 + 4 * level[item.dimension] / 100 + shift + rng.gauss(0.0, item_noise)))
                answers[key] = SCALE_MIN + SCALE_MAX - keyed if item.reverse else keyed
            enps = None
            if ask_enps:
                mood = (level["initiative"] + level["consistency"] + level["collaboration"]) / 3
                mood -= 0.5 * (level["fear"] - baseline["fear"])
                enps = max(0, min(10, round(mood / 9 + rng.gauss(0.0, 1.6))))
            helped_by = None
            if ask_network:
                openness = max(0.2, min(2.0, level["collaboration"] / baseline["collaboration"]))
                helped_by = tuple(
                    other
                    for other in names
                    if other != dept.name
                    and rng.random()
                    < help_rate
                    * affinity[min(dept.name, other), max(dept.name, other)]
                    * openness
                    * (0.0 if dept.name in isolated or other in isolated else 1.0)
                )
            comment = None
            if rng.random() < comment_rate:
                worst = max(dept.problems, key=lambda k: dept.problems[k], default="healthy")
                comment = rng.choice(_COMMENTS[worst if dept.problems.get(worst, 0) > 0 else "healthy"])
                if directory_names and rng.random() < 0.2:
                    comment += f" I raised this with {rng.choice(list(directory_names))} already."
            responses.append(Response(dept.name, answers, enps, helped_by, comment))
    return SimulatedRound(asked_keys, {d.name: d.invited for d in departments}, tuple(responses))


# ---------------------------------------------------------------- privacy: the padding attack and flag power


class SeededLaplaceNoise:
    """The privacy noise's distributions from a seeded generator, so that a simulated study repeats exactly.

    Real numbers get Laplace noise and whole numbers the two-sided geometric (OpenDP's integer
    Laplace), at the scales asked. For simulations only: a report's noise must come from OpenDP
    (`pulse.domain.privacy.OpenDPNoise`), whose sampling is built to be safe.
    """

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def integers(self, values: Sequence[int], scale: float) -> list[int]:
        success = 1.0 - math.exp(-1.0 / scale)
        up = self.rng.geometric(success, size=len(values))
        down = self.rng.geometric(success, size=len(values))
        return [int(v) + int(a) - int(b) for v, a, b in zip(values, up, down, strict=True)]

    def reals(self, values: Sequence[float], scale: float) -> list[float]:
        return [
            float(v) + float(e) for v, e in zip(values, self.rng.laplace(0.0, scale, size=len(values)), strict=True)
        ]


@dataclass(frozen=True)
class AttackResult:
    """How far the padding attack's estimates of the real person's dimension scores were off."""

    trials: int
    rms_error: float  # estimate clamped to 0-100, as a sensible attacker would
    rms_error_raw: float  # n * mean - sum(known), unclamped
    guess_rms_error: float  # guessing the organisation's mean instead, for comparison
    exact_share: float  # share of estimates within 1 point of the truth


@dataclass(frozen=True)
class FlagRates:
    """Planted problems found, and flags on healthy departments."""

    planted: int
    detected: int
    healthy_departments: int
    false_flags: int

    @property
    def detection_rate(self) -> float:
        return self.detected / self.planted if self.planted else 0.0

    @property
    def false_flags_per_30(self) -> float:
        return 30.0 * self.false_flags / self.healthy_departments if self.healthy_departments else 0.0


def _report(
    aggregates: Sequence[DepartmentAggregates],
    asked: Sequence[str],
    budget: PrivacyBudget | None,
    noise: NoiseSource | None,
    k: int = 5,
) -> Report:
    departments = list(aggregates)
    if budget is not None:
        departments = release_round(departments, budget, min_group_size=k, noise=noise).departments
    data = ReportInput(
        "Simulated", "sim", "r", 1, "2026-01-05", "2026-01-12", True, k, 10, asked, departments, [], [], privacy=budget
    )
    return build_report(data)


def padding_attack(
    budget: PrivacyBudget | None,
    *,
    trials: int,
    seed: int,
    padded: int = 9,
    noise: NoiseSource | None = None,
) -> AttackResult:
    """The insider's padding attack, `trials` times: a department of one real person and `padded`
    addresses the insider answers with known values, inside an organisation of five other
    departments; after close the insider estimates the real person's four dimension scores as
    (padded + 1) * released mean - sum(known scores), from the report as released (whole numbers).
    """
    rng = random.Random(seed)
    others = [DepartmentSpec(f"Team {i}", 25, 0.8) for i in range(5)]
    squared = squared_raw = squared_guess = 0.0
    close = count = 0
    for trial in range(trials):
        simulated = simulate_round([*others, DepartmentSpec("Target", 1, 1.0)], seed=seed * 100_003 + trial)
        # The insider's own answers: every item at one value they pick, so their scores are known.
        value = rng.randint(SCALE_MIN, SCALE_MAX)
        known_answers = {key: value for key in simulated.asked}
        known_scores = score_response(known_answers, simulated.asked)
        real = next(r for r in simulated.responses if r.department == "Target")
        real_scores = score_response(real.answers, simulated.asked)
        padding = [Response("Target", known_answers) for _ in range(padded)]
        invited = dict(simulated.invited)
        invited["Target"] = padded + 1
        responses = [*simulated.responses, *padding]
        aggregates = aggregate_responses(responses, invited, simulated.asked)
        report = _report(aggregates, simulated.asked, budget, noise).to_json()
        target = next(d for d in report["departments"] if d["name"] == "Target")
        for dim in DIMENSION_KEYS:
            truth, known = real_scores.get(dim), known_scores.get(dim)
            cell = (target["scores"] or {}).get(dim)
            organization = report["organization"][dim]["mean"]
            if truth is None or known is None or cell is None or organization is None:
                continue
            estimate = (padded + 1) * cell["mean"] - padded * known
            clamped = min(100.0, max(0.0, estimate))
            squared_raw += (estimate - truth) ** 2
            squared += (clamped - truth) ** 2
            squared_guess += (organization - truth) ** 2
            close += abs(clamped - truth) <= 1.0
            count += 1
    if count == 0:
        raise DomainError("the padding attack found no released score to work from")
    return AttackResult(
        trials,
        math.sqrt(squared / count),
        math.sqrt(squared_raw / count),
        math.sqrt(squared_guess / count),
        close / count,
    )


def planted_problem_rates(
    budget: PrivacyBudget | None,
    *,
    organizations: int,
    seed: int,
    departments: int = 30,
    points: float = 22.5,
    planted: bool = True,
    noise: NoiseSource | None = None,
) -> FlagRates:
    """Flag power and false flags under privacy noise: `organizations` organisations of `departments`
    departments of 15-30 respondents; with `planted`, one department per organisation has a problem
    of `points` (0.9 scale points = 22.5 on 0-100) on one dimension, rotating over the four.
    False flags: any flag on a healthy department, or a wrong-dimension flag on the planted one.
    """
    rng = random.Random(seed)
    detected = false_flags = healthy = planted_count = 0
    for org in range(organizations):
        sizes = [rng.randint(15, 30) for _ in range(departments)]
        dimension = DIMENSION_KEYS[org % len(DIMENSION_KEYS)]
        specs = [
            DepartmentSpec(f"Team {i:02d}", size, 1.0, {dimension: points} if planted and i == 0 else {})
            for i, size in enumerate(sizes)
        ]
        simulated = simulate_round(specs, seed=seed * 7919 + org, ask_network=False, comment_rate=0.0)
        report = _report(simulated.aggregates(), simulated.asked, budget, noise)
        for department in report.departments:
            if planted and department.name == "Team 00":
                planted_count += 1
                expected = FLAG_BY_DIMENSION[dimension]
                detected += expected in department.flags
                false_flags += sum(flag != expected for flag in department.flags)
            else:
                healthy += 1
                false_flags += len(department.flags)
    return FlagRates(planted_count, detected, healthy, false_flags)


# ---------------------------------------------------------------- the planted-problem study

PLANTED_PROBLEM = 22.5  # points on 0-100 = 0.9 scale points on the 1-5 scale


@dataclass(frozen=True)
class FlagStudy:
    """What the planted-problem study measured (see `planted_problem_study`)."""

    organisations: int
    planted: int
    detected: int
    false_flags_planted_orgs: int  # flags on cells without a planted problem, in organisations with problems
    false_flags_healthy_orgs: int  # flags in organisations without any problem (30 departments each)

    @property
    def detection_rate(self) -> float:
        """Share of planted problems that were flagged."""
        return self.detected / self.planted if self.planted else 0.0

    @property
    def false_flags_per_30_healthy(self) -> float:
        """False flags per 30 healthy departments (one healthy organisation)."""
        return self.false_flags_healthy_orgs / self.organisations if self.organisations else 0.0

    @property
    def false_flags_per_30_in_planted_orgs(self) -> float:
        """False flags per organisation with planted problems (27 healthy departments each)."""
        return self.false_flags_planted_orgs / self.organisations if self.organisations else 0.0


def _with_noise(aggregates: DepartmentAggregates, variance: float, rng: random.Random) -> DepartmentAggregates:
    """The department with Gaussian noise of `variance` added to each released dimension mean."""
    moments = {}
    for dim, m in aggregates.dimension_moments.items():
        e = rng.gauss(0.0, variance**0.5)
        moments[dim] = Moments(m.n, m.total + m.n * e, m.total_sq + 2 * e * m.total + m.n * e * e)
    return dataclasses.replace(aggregates, dimension_moments=moments, noise_variance={dim: variance for dim in moments})


def planted_problem_study(
    organisations: int,
    *,
    seed: int = 0,
    departments: int = 30,
    planted_per_organisation: int = 3,
    problem: float = PLANTED_PROBLEM,
    respondents: tuple[int, int] = (15, 30),
    noise_variance: float = 0.0,
    budget: PrivacyBudget | None = None,
    noise: NoiseSource | None = None,
) -> FlagStudy:
    """Run the flags on simulated organisations, with and without planted problems.

    Each organisation has `departments` departments of `respondents` (uniform, everyone invited
    answers); in the "planted" organisations, `planted_per_organisation` of them have a problem of
    `problem` points on one random dimension each. As many healthy organisations are simulated
    alongside. Flags are decided by the full report pipeline (disclosure control included).
    `noise_variance` adds Gaussian noise of that variance to every department mean and tells the
    flags about it; `budget` releases every figure through the real differential-privacy mechanism
    (`pulse.domain.privacy.release_round`, OpenDP's noise: not seeded), as reports do; `noise`
    replaces OpenDP as the source of that noise (e.g. `SeededLaplaceNoise`, to repeat a study exactly).
    """

    def flags(specs: list[DepartmentSpec], round_seed: int) -> dict[str, tuple[str, ...]]:
        simulated = simulate_round(specs, seed=round_seed, ask_network=False, ask_enps=False, comment_rate=0.0)
        aggregates = simulated.aggregates()
        if noise_variance > 0:
            gaussian = random.Random(round_seed + 7)
            aggregates = [_with_noise(a, noise_variance, gaussian) for a in aggregates]
        report = _report(aggregates, simulated.asked, budget, noise)
        return {d.name: d.flags for d in report.departments}

    planted = detected = false_planted = false_healthy = 0
    for organisation in range(organisations):
        rng = random.Random(seed * 100_003 + organisation)
        problems = {
            name: rng.choice(DIMENSION_KEYS)
            for name in rng.sample([f"Team {i:02d}" for i in range(departments)], planted_per_organisation)
        }
        specs = [
            DepartmentSpec(
                f"Team {i:02d}",
                rng.randint(*respondents),
                1.0,
                {problems[f"Team {i:02d}"]: problem} if f"Team {i:02d}" in problems else {},
            )
            for i in range(departments)
        ]
        found = flags(specs, rng.randrange(1 << 30))
        for name, raised in found.items():
            wanted = FLAG_BY_DIMENSION[problems[name]] if name in problems else None
            detected += wanted in raised if wanted else 0
            false_planted += sum(f != wanted for f in raised)
        planted += len(problems)
        healthy = [DepartmentSpec(f"Team {i:02d}", rng.randint(*respondents), 1.0) for i in range(departments)]
        false_healthy += sum(len(f) for f in flags(healthy, rng.randrange(1 << 30)).values())
    return FlagStudy(organisations, planted, detected, false_planted, false_healthy)
