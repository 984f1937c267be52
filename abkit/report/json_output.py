"""The results as JSON: the CLI's `--format json` and the shareable report's payload.

`docs/json-schema.md` describes the fields. The text is written by `abkit.jsonable`,
the encoder the results store uses too: NaN and infinity, which JSON cannot hold,
become ``null``, and the output is indented by two spaces.
"""

from __future__ import annotations

from collections.abc import Sequence

from abkit.analysis.results import AnalysisResult
from abkit.jsonable import dumps
from abkit.report.records import DecisionLogRecord, NoteRecord


def render_json(result: AnalysisResult) -> str:
    """The results as JSON; NaN and infinity become null."""
    return dumps(result.to_dict(), where="result", indent=2)


def report_json(
    result: AnalysisResult,
    notes: Sequence[NoteRecord] = (),
    decisions: Sequence[DecisionLogRecord] = (),
) -> str:
    """The results with the experiment's notes and decision log, as JSON."""
    payload = result.to_dict() | {
        "notes": [n.to_dict() for n in notes],
        "decisions": [d.to_dict() for d in decisions],
    }
    return dumps(payload, where="report", indent=2)
