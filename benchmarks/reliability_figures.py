"""Print the fault-matrix figures (the same runs tests/reliability/test_fault_matrix.py asserts).

Eight 200-item syncs to the GitHub and Jira fakes on 127.0.0.1 with seeded faults on creates,
update/close writes and reads, then clean re-runs: a Markdown table per fault kind and per run.

    python benchmarks/reliability_figures.py [--seeds 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.reliability, tests.fakes

from tests.reliability.matrix import PLAN, markdown, run_one


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--seeds", type=int, default=1, help="repeat the matrix with this many seed offsets"
    )
    args = ap.parse_args()
    started = time.perf_counter()
    runs = []
    for offset in range(args.seeds):
        for backend, seed, mode, bulk in PLAN:
            runs.append(run_one(backend, seed + 100 * offset, mode, bulk))
    print(markdown(runs))
    print(f"\n({time.perf_counter() - started:.0f} s wall time)")


if __name__ == "__main__":
    main()
