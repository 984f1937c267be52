"""Subprocess helper for tests/test_store.py: write notes, print each acknowledged id.

Usage: python tests/_store_writer.py DB EXPERIMENT AUTHOR COUNT [--go FILE]

Prints ``ready`` once the store is open, waits for FILE to exist when ``--go`` is
given (so that several writers start together), then writes COUNT notes with text
``"<author> #<i>"`` and prints each note's id, flushed, after `add_note` returned.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from abkit.store.store import ResultStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("experiment")
    parser.add_argument("author")
    parser.add_argument("count", type=int)
    parser.add_argument("--go", type=Path)
    args = parser.parse_args()
    with ResultStore(args.db) as store:
        print("ready", flush=True)
        while args.go is not None and not args.go.exists():
            time.sleep(0.005)
        for i in range(args.count):
            note = store.add_note(
                args.experiment, f"{args.author} #{i}", author=args.author
            )
            print(note.id, flush=True)


if __name__ == "__main__":
    main()
