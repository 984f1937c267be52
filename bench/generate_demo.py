"""Benchmark the demo generator: wall time, rows per table and peak memory.

Usage: python bench/generate_demo.py [--users 1000000] [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from abkit.demo.generator import DemoSpec, generate_demo


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000, help="number of users")
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    parser.add_argument("--seed", type=int, default=DemoSpec().seed, help="seed")
    return parser.parse_args()


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _size_mib(directory: Path) -> float:
    return sum(path.stat().st_size for path in directory.glob("*.parquet")) / 2**20


def main() -> None:
    args = _parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="abkit-demo-"))
    spec = DemoSpec(n_users=args.users, seed=args.seed)

    def progress(done: int, total: int) -> None:
        print(f"\r{done:>12,} / {total:,} users", end="", file=sys.stderr, flush=True)

    started = time.perf_counter()
    manifest = generate_demo(out, spec, progress=progress)
    elapsed = time.perf_counter() - started
    print(file=sys.stderr)
    rows = manifest["row_counts"]
    print(f"output        {out} ({_size_mib(out):,.0f} MiB of Parquet)")
    print(f"elapsed       {elapsed:,.1f} s")
    for name, count in rows.items():
        print(f"{name:<13} {count:>14,} rows")
    print(f"events/user   {rows['events'] / args.users:,.1f}")
    print(f"events/s      {rows['events'] / elapsed:,.0f}")
    print(f"peak RSS      {_peak_rss_mib():,.0f} MiB")
    for event, count in manifest["event_counts"].items():
        print(f"  {event:<10} {count:>14,}")


if __name__ == "__main__":
    main()
