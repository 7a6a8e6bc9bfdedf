"""Benchmark: build the report model for 200 departments and 200,000 responses from aggregates.

Run: `.venv/bin/python tests/perf/bench_report_model.py` (or `.venv/bin/pytest tests/perf/bench_report_model.py -s`).
Aggregates are generated with numpy first (as the database's GROUP BY would deliver them); only
`build_report` + `to_json` + `to_csv_rows` are timed, with tracemalloc measuring their peak memory.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from itertools import combinations

import numpy as np

from pulse.domain.aggregates import DepartmentAggregates, RoundAggregates
from pulse.domain.items import DIMENSION_KEYS, ITEM_BY_KEY, compose_pulse
from pulse.domain.report import ReportInput, build_report
from pulse.domain.stats import CrossMoments, Moments

DEPARTMENTS = 200
RESPONSES = 200_000
PREVIOUS_ROUNDS = 3


def _moments(values: np.ndarray) -> Moments:
    return Moments(int(values.size), float(values.sum()), float((values * values).sum()))


def _department(
    rng: np.random.Generator, index: int, n: int, asked: tuple[str, ...], full: bool
) -> DepartmentAggregates:
    name = f"Department {index:03d}"
    level = rng.normal(55.0, 4.0, size=len(DIMENSION_KEYS))
    latent = level + rng.normal(0.0, 15.0, size=(n, len(DIMENSION_KEYS)))
    dim_index = {d: i for i, d in enumerate(DIMENSION_KEYS)}
    answers = {}
    for key in asked:
        item = ITEM_BY_KEY[key]
        if item.dimension not in dim_index:  # the outcome statement
            continue
        keyed = np.clip(np.rint(1 + 4 * latent[:, dim_index[item.dimension]] / 100 + rng.normal(0, 0.6, n)), 1, 5)
        answers[key] = 6 - keyed if item.reverse else keyed
    dimension_moments = {}
    anchor_moments = {}
    for dim in DIMENSION_KEYS:
        keys = [k for k in asked if ITEM_BY_KEY[k].dimension == dim]
        keyed = np.stack([6 - answers[k] if ITEM_BY_KEY[k].reverse else answers[k] for k in keys])
        dimension_moments[dim] = _moments((keyed.mean(axis=0) - 1) * 25)
        anchors = [i for i, k in enumerate(keys) if ITEM_BY_KEY[k].anchor]
        anchor_moments[dim] = _moments((keyed[anchors].mean(axis=0) - 1) * 25)
    invited = int(n * 1.25)
    if not full:
        return DepartmentAggregates(name, invited, n, dimension_moments, anchor_moments)
    item_cross = {
        (a, b): CrossMoments(
            n,
            float(answers[a].sum()),
            float(answers[b].sum()),
            float((answers[a] * answers[b]).sum()),
            float((answers[a] ** 2).sum()),
            float((answers[b] ** 2).sum()),
        )
        for a, b in combinations(sorted(asked), 2)
        if ITEM_BY_KEY[a].dimension == ITEM_BY_KEY[b].dimension
    }
    others = rng.choice(DEPARTMENTS, size=12, replace=False)
    helped_by = {f"Department {o:03d}": int(rng.integers(1, n // 5)) for o in others if o != index}
    enps = rng.multinomial(n, [0.2, 0.35, 0.45])
    return DepartmentAggregates(
        name,
        invited,
        n,
        dimension_moments,
        anchor_moments,
        item_moments={k: _moments(v) for k, v in answers.items()},
        item_cross=item_cross,
        enps_promoters=int(enps[0]),
        enps_passives=int(enps[1]),
        enps_detractors=int(enps[2]),
        helped_by=helped_by,
        network_respondents=int(n * 0.9),
        comments=tuple(f"Comment {j} from {name}; call 0176 1234567 or mail a@b.example" for j in range(20)),
    )


def _input(seed: int = 1) -> ReportInput:
    rng = np.random.default_rng(seed)
    per_department = RESPONSES // DEPARTMENTS
    previous = [
        RoundAggregates(
            f"Round {r}",
            f"2025-0{r}-01",
            [_department(rng, i, per_department, compose_pulse(r), full=False) for i in range(DEPARTMENTS)],
        )
        for r in range(1, PREVIOUS_ROUNDS + 1)
    ]
    asked = compose_pulse(PREVIOUS_ROUNDS + 1)
    current = [_department(rng, i, per_department, asked, full=True) for i in range(DEPARTMENTS)]
    return ReportInput(
        organization_name="Benchmark Ltd",
        organization_slug="bench",
        round_id="bench-4",
        round_number=PREVIOUS_ROUNDS + 1,
        opened_on="2025-04-01",
        closes_on="2025-04-08",
        closed=True,
        min_group_size=5,
        comment_threshold=10,
        items_asked=asked,
        departments=current,
        previous_rounds=previous,
        directory_terms=[f"Person {i} Surname{i}" for i in range(2000)],
    )


def run() -> tuple[float, float, int]:
    """Build the report once; return (seconds, peak MiB, JSON bytes)."""
    data = _input()
    tracemalloc.start()
    started = time.perf_counter()
    report = build_report(data)
    document = report.to_json()
    rows = report.to_csv_rows()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = len(json.dumps(document))
    if len(rows) != DEPARTMENTS * len(DIMENSION_KEYS) or len(report.departments) != DEPARTMENTS:
        raise RuntimeError("benchmark report is incomplete")
    return elapsed, peak / 2**20, size


def test_report_model_for_200_departments_and_200k_responses_builds_quickly() -> None:
    elapsed, peak_mib, _ = run()
    print(f"\nbuild_report + to_json + to_csv_rows: {elapsed:.2f} s, peak {peak_mib:.1f} MiB")
    assert elapsed < 10.0
    assert peak_mib < 200.0


if __name__ == "__main__":
    seconds, peak, size = run()
    print(
        f"{DEPARTMENTS} departments, {RESPONSES:,} responses, {PREVIOUS_ROUNDS} previous rounds: "
        f"build_report + to_json + to_csv_rows in {seconds:.2f} s, peak traced memory {peak:.1f} MiB, "
        f"JSON {size / 1024:.0f} KiB"
    )
