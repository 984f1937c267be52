"""Wall and CPU time of `abkit demo` in fresh processes, source trees interleaved.

Each run is a new interpreter (`python -m abkit.frontends.cli demo`, what the
`abkit demo` script runs) with PYTHONPATH at one source tree, so imports, template
compilation and the boundary recursion are paid as a user pays them. The trees take
turns run by run, so load from other work on the machine falls on all of them alike;
the medians are what to compare. The demo data must exist already (a first
`abkit demo` writes it): generating it is not what is timed.

    python -m bench.demo_wall --runs 7 --dir data /path/to/tree-a /path/to/tree-b
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def one_run(tree: Path, directory: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one `abkit demo` on `tree`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "abkit.frontends.cli", "demo", "--dir", str(directory)],
        env=os.environ | {"PYTHONPATH": str(tree)},
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    """Run the trees in turn and print each one's median wall and CPU time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path, help="abkit source trees")
    parser.add_argument("--runs", type=int, default=7, help="runs per tree")
    parser.add_argument(
        "--dir", type=Path, default=Path("data"), help="`abkit demo --dir`"
    )
    args = parser.parse_args()
    directory = args.dir.resolve()
    times: dict[Path, list[tuple[float, float]]] = {t: [] for t in args.trees}
    for _ in range(args.runs):
        for tree in args.trees:
            times[tree].append(one_run(tree.resolve(), directory))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for tree, runs in times.items():
        walls = [w for w, _ in runs]
        cpus = [c for _, c in runs]
        print(
            f"{tree}: wall median {statistics.median(walls):.2f} s "
            f"(min {min(walls):.2f}), CPU median {statistics.median(cpus):.2f} s, "
            f"walls {' '.join(f'{w:.2f}' for w in walls)}"
        )


if __name__ == "__main__":
    main()
