"""Stage 8, the store: snapshots, notes and decisions in SQLite; the only writer of results.

Modules: `store` (`ResultStore`, its reads and writes), `records` (the dataclasses it
returns), `database` (schema, migrations, opening and checking a file) and `arguments`
(checks of write arguments and the payload's JSON).
"""

from abkit.store.database import DEFAULT_FILENAME as DEFAULT_FILENAME
from abkit.store.database import SCHEMA_VERSION as SCHEMA_VERSION
from abkit.store.records import DECISIONS as DECISIONS
from abkit.store.records import Decision as Decision
from abkit.store.records import DecisionRecord as DecisionRecord
from abkit.store.records import Note as Note
from abkit.store.records import Snapshot as Snapshot
from abkit.store.store import ResultStore as ResultStore
