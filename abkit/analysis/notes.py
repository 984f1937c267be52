"""How a metric's result was computed, in words, when not by the default method.

The scorecard notes under `print(result)`, the reports and the app all say the same:
a quantile's caveats, a Fieller set that is not an interval, an exact test chosen for
small counts.
"""

from __future__ import annotations

from abkit.stats.fieller import FiellerInterval

EXACT_TEST_NAMES = {
    "fisher-exact": "Fisher's exact test",
    "boschloo-exact": "Boschloo's exact test",
    "barnard-exact": "Barnard's exact test",
    "two-proportion-z-yates": "two-proportion z-test with Yates' correction",
}
"""The tests a binary metric may get instead of the pooled z-test, in words."""


def computation_notes(
    note: str | None, fieller: FiellerInterval | None, test: str
) -> list[str]:
    """The notes of one result: its own note, the Fieller set's, the test's."""
    return [
        text for text in (note, fieller_note(fieller), exact_test_note(test)) if text
    ]


def exact_test_note(test: str) -> str:
    """Which test ran when a binary metric's counts called for another than z."""
    name = EXACT_TEST_NAMES.get(test)
    if name is None:
        return ""
    if test.endswith("-exact"):
        return f"p-value by {name} (small expected counts)"
    return f"p-value by the {name}"


def fieller_note(fieller: FiellerInterval | None) -> str:
    """The relative CI's method when Fieller, and its shape when not an interval."""
    if fieller is None:
        return ""
    if fieller.status == "exclusive":
        low, high = f"{fieller.lower:+.1%}", f"{fieller.upper:+.1%}"
        return f"{fieller.message}: lift <= {low} or >= {high}"
    return fieller.message
