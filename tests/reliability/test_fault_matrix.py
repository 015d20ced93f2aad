"""The fault matrix over 127.0.0.1: every fault kind at seeded points of 200-item syncs.

GitHub and Jira (single and bulk creates), through the loopback fakes: 500, 502, 503, 429 with
Retry-After, 403 secondary limit (GitHub), timeout, dropped connection and a lost answer after
a write that landed (502, timeout, drop), each fired on creates, on update/close writes and on
reads. Then clean re-runs. Invariants: no key stored twice, no ticket duplicated, no item
missing or stale, convergence within two runs of a phase, at least 200 trials (faults fired).

`pytest tests/reliability/test_fault_matrix.py -s` prints the table; so does
`python benchmarks/reliability_figures.py`, for the README.
"""

from __future__ import annotations

import pytest

from tests.reliability.matrix import (
    GITHUB_KINDS,
    JIRA_KINDS,
    PLAN,
    TOTAL,
    RunFigures,
    markdown,
    run_one,
)


@pytest.fixture(scope="module")
def runs() -> list[RunFigures]:
    out = [run_one(*p) for p in PLAN]
    print("\n" + markdown(out))  # shown with -s
    return out


def test_at_least_200_trials_and_every_kind_fired(runs: list[RunFigures]) -> None:
    assert sum(r.fired for r in runs) >= 200
    github = {name for r in runs if r.backend == "github" for name, k in r.kinds.items() if k.fired}
    jira = {
        name for r in runs if r.backend.startswith("jira") for name, k in r.kinds.items() if k.fired
    }
    assert github == {k.name for k in GITHUB_KINDS}
    assert jira == {k.name for k in JIRA_KINDS}
    for r in runs:  # and every kind on creates, on edit writes and (where it applies) on reads
        if "bulk" in r.backend:
            continue  # four bulk requests: not every kind can land on one
        for name, k in r.kinds.items():
            assert k.on_creates >= 1 and k.on_edits >= 1, (r.backend, r.seed, name, k)


@pytest.mark.parametrize("n", range(len(PLAN)), ids=[f"{b}-{s}" for b, s, *_ in PLAN])
def test_no_duplicate_no_loss_and_quick_convergence(runs: list[RunFigures], n: int) -> None:
    r = runs[n]
    assert r.max_stored_per_key == 1  # no key ever stored twice
    assert r.blind_resends == 0  # a create is re-sent only after proof it was not stored
    assert (r.duplicates, r.missing, r.stale) == (0, 0, 0)
    assert 1 <= r.runs_first <= 2 and 1 <= r.runs_edits <= 2, (r.runs_first, r.runs_edits)
    assert r.create_requests >= (TOTAL if "bulk" not in r.backend else TOTAL // 50)
    assert 3.0 in r.waits  # Retry-After honoured through the sleeper, never slept
    if r.backend == "github":
        assert 60.0 in r.waits  # the secondary limit's documented minute
