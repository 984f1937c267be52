"""Stage 8, the store: snapshots, notes and decisions in SQLite; the only writer of results."""

from abkit.store.store import DecisionRecord as DecisionRecord
from abkit.store.store import Note as Note
from abkit.store.store import ResultStore as ResultStore
from abkit.store.store import Snapshot as Snapshot
