"""Start-up time of the `tracker` command: median of N runs, beside bare Python and click.

    python benchmarks/startup_bench.py [--runs 10]

The budget: `tracker --help` and `tracker --version` under 100 ms (median of 10 runs). Each run is
a fresh process; the figures include the interpreter's own start-up, shown on the first rows so
the share of the tool can be read off (the machine may be shared: compare rows of one run).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def median_ms(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args(argv)
    script = shutil.which("tracker")
    tracker = [script] if script else [sys.executable, "-m", "tracker"]
    py = sys.executable
    rows = [
        ("python -c pass", [py, "-c", "pass"]),
        ("python -c 'import click'", [py, "-c", "import click"]),
        ("python -c 'import tracker.cli'", [py, "-c", "import tracker.cli"]),
        ("tracker --help", [*tracker, "--help"]),
        ("tracker --version", [*tracker, "--version"]),
        ("tracker sync --help", [*tracker, "sync", "--help"]),
    ]
    print(f"python {sys.version.split()[0]}; median of {args.runs} runs; {' '.join(tracker)}\n")
    print("| Command | Median (ms) |\n|---|---:|")
    for label, cmd in rows:
        print(f"| `{label}` | {median_ms(cmd, args.runs):.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
