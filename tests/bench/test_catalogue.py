"""The catalogue benchmark runs all three sides on a small demo log (no timings)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_catalogue_bench_prints_every_side(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.catalogue", "--users", "3000", "--repeats", "1",
         "--dir", str(tmp_path)],
        capture_output=True, text=True, check=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert re.search(r"^3,000 members, [\d,]+ events, 15 metrics", done.stdout, re.M)
    sides = re.findall(
        r"^(scan|abkit|cli) +([\d.]+) +([\d.]+) +(\d+)", done.stdout, re.M
    )
    assert [side for side, *_ in sides] == ["scan", "abkit", "cli"]
    assert all(float(wall) > 0 and int(rss) > 0 for _, wall, _, rss in sides)
    assert (tmp_path / "u3000" / "demo").is_dir()
