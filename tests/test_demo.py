"""The demo event log: schema, determinism, realism and the true lifts it promises."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as scipy_stats

from abkit.demo import generator as demo
from abkit.demo.generator import DemoSpec, demo_is_current, generate_demo
from abkit.errors import ConfigError

START = pd.Timestamp("2026-10-05")
BIG_LIFTS = {"treatment": {"sessions": 0.20, "likes": 0.30, "messages": 0.50}}


def _load(directory: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_parquet(directory / f"{name}.parquet") for name in demo.TABLES
    }


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("small")
    generate_demo(directory, DemoSpec(n_users=3_000, seed=1))
    return directory


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo20k")
    generate_demo(directory, DemoSpec(n_users=20_000))
    return directory


@pytest.fixture(scope="module")
def demo_tables(demo_dir: Path) -> dict[str, pd.DataFrame]:
    return _load(demo_dir)


def _first_exposures(assignments: pd.DataFrame) -> pd.DataFrame:
    """The analysed population: first exposure, users seen in 2+ variants dropped."""
    n_variants = assignments.groupby("user_id")["variant"].nunique()
    clean = assignments[assignments["user_id"].isin(n_variants.index[n_variants == 1])]
    first: pd.DataFrame = clean.sort_values("exposed_at").groupby("user_id").first()
    return first


def _per_user(
    events: pd.DataFrame,
    exposures: pd.DataFrame,
    event: str,
    *,
    days_before: int = 0,
    days_after: int | None = None,
    value: bool = False,
) -> pd.Series:
    """Per exposed user: count (or value sum) of `event` in a window around exposure."""
    rows = events[events["event"] == event].join(
        exposures["exposed_at"], on="user_id", how="inner"
    )
    offset = rows["ts"] - rows["exposed_at"]
    if days_before:
        inside = (offset < pd.Timedelta(0)) & (
            offset >= -pd.Timedelta(days=days_before)
        )
    else:
        inside = offset >= pd.Timedelta(0)
        if days_after is not None:
            inside &= offset < pd.Timedelta(days=days_after)
    rows = rows[inside]
    totals = (
        rows.groupby("user_id")["value"].sum()
        if value
        else rows.groupby("user_id").size()
    )
    result: pd.Series = totals.reindex(exposures.index, fill_value=0).astype(float)
    return result


def _relative_ci(
    treatment: pd.Series, control: pd.Series, level: float
) -> tuple[float, float, float]:
    """Relative lift of means with a Welch/delta-method CI (scipy quantiles)."""
    test = scipy_stats.ttest_ind(treatment, control, equal_var=False)
    mean_t, mean_c = treatment.mean(), control.mean()
    var_t = treatment.var(ddof=1) / treatment.size
    var_c = control.var(ddof=1) / control.size
    ratio = mean_t / mean_c
    se = ratio * math.sqrt(var_t / mean_t**2 + var_c / mean_c**2)
    quantile = scipy_stats.t.ppf(0.5 + level / 2, test.df)
    return ratio - 1, ratio - 1 - quantile * se, ratio - 1 + quantile * se


# ---------------------------------------------------------------- files and schema


def test_schema_and_dtypes(small_dir):
    assert pq.read_schema(small_dir / "units.parquet").remove_metadata() == pa.schema(
        [
            ("user_id", pa.int64()),
            ("signup_date", pa.date32()),
            ("platform", pa.string()),
            ("country", pa.string()),
            ("gender", pa.string()),
            ("age_bucket", pa.string()),
            ("prior_payer", pa.bool_()),
        ]
    )
    assert pq.read_schema(small_dir / "assignments.parquet").remove_metadata() == (
        pa.schema(
            [
                ("user_id", pa.int64()),
                ("variant", pa.string()),
                ("exposed_at", pa.timestamp("us")),
            ]
        )
    )
    assert pq.read_schema(small_dir / "events.parquet").remove_metadata() == pa.schema(
        [
            ("user_id", pa.int64()),
            ("ts", pa.timestamp("us")),
            ("event", pa.string()),
            ("value", pa.float64()),
            ("partner_id", pa.int64()),
        ]
    )


def test_columns_hold_the_documented_values(small_dir):
    tables = _load(small_dir)
    units, events = tables["units"], tables["events"]
    assert units["user_id"].tolist() == list(range(1, 3_001))
    assert set(units["platform"]) == {"ios", "android", "web"}
    assert set(units["gender"]) == {"m", "f", "other"}
    assert set(units["age_bucket"]) == {"18-24", "25-34", "35-44", "45+"}
    assert (pd.to_datetime(units["signup_date"]) < START).all()
    assert set(tables["assignments"]["variant"]) == {"control", "treatment"}
    assert set(events["event"]) == set(demo.EVENTS)
    assert events["ts"].min() >= START - pd.Timedelta(days=28)
    assert events["ts"].max() < START + pd.Timedelta(days=21)
    assert events["user_id"].between(1, 3_000).all()


def test_manifest_describes_the_files(small_dir):
    manifest = json.loads((small_dir / "manifest.json").read_text())
    tables = _load(small_dir)
    assert manifest["row_counts"] == {name: len(tables[name]) for name in demo.TABLES}
    counts = tables["events"]["event"].value_counts().to_dict()
    assert manifest["event_counts"] == {event: counts[event] for event in demo.EVENTS}
    assert manifest["spec"]["seed"] == 1
    assert manifest["spec"]["n_users"] == 3_000
    assert manifest["spec"]["split"] == [0.5, 0.5]
    assert manifest["spec"]["srm"] == 0.0
    assert manifest["dates"] == {
        "pre_period": {"start": "2026-09-07", "end": "2026-10-05"},
        "experiment": {"start": "2026-10-05", "end": "2026-10-26"},
        "exposure_window": {"start": "2026-10-05", "end": "2026-10-19"},
    }


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_tables(small_dir, tmp_path):
    generate_demo(tmp_path, DemoSpec(n_users=3_000, seed=1))
    first, second = _load(small_dir), _load(tmp_path)
    for name in demo.TABLES:
        pd.testing.assert_frame_equal(first[name], second[name])
    manifest = (tmp_path / "manifest.json").read_text()
    assert manifest == (small_dir / "manifest.json").read_text()


def test_different_seed_gives_different_tables(small_dir, tmp_path):
    generate_demo(tmp_path, DemoSpec(n_users=3_000, seed=2))
    first, second = _load(small_dir), _load(tmp_path)
    assert not first["units"].equals(second["units"])
    assert len(first["events"]) != len(second["events"])


def test_chunks_are_written_in_order_with_progress(monkeypatch, tmp_path):
    monkeypatch.setattr(demo, "_CHUNK_USERS", 1_000)
    calls: list[tuple[int, int]] = []
    manifest = generate_demo(
        tmp_path, DemoSpec(n_users=2_500, seed=3), progress=lambda *a: calls.append(a)
    )
    assert calls == [(1_000, 2_500), (2_000, 2_500), (2_500, 2_500)]
    events = pd.read_parquet(tmp_path / "events.parquet")
    assert len(events) == manifest["row_counts"]["events"]
    assert events["user_id"].is_monotonic_increasing
    assert pq.ParquetFile(tmp_path / "events.parquet").metadata.num_row_groups >= 3
    # partners come from the whole population, not from the user's own chunk
    likes = events[events["event"] == "like"]
    chunk_of = (likes["user_id"] - 1) // 1_000
    assert (chunk_of != (likes["partner_id"] - 1) // 1_000).mean() > 0.5


# ---------------------------------------------------------------- completeness


def test_demo_is_current_matches_the_spec(small_dir, tmp_path):
    assert demo_is_current(small_dir, DemoSpec(n_users=3_000, seed=1))
    assert not demo_is_current(small_dir, DemoSpec(n_users=3_000, seed=2))
    assert not demo_is_current(small_dir, DemoSpec(n_users=3_000, seed=1, srm=0.01))
    assert not demo_is_current(tmp_path, DemoSpec(n_users=3_000, seed=1))


def test_missing_or_truncated_file_is_not_current(small_dir, tmp_path):
    spec = DemoSpec(n_users=3_000, seed=1)
    for name in ("units.parquet", "assignments.parquet", "manifest.json"):
        (tmp_path / name).write_bytes((small_dir / name).read_bytes())
    assert not demo_is_current(tmp_path, spec)  # events.parquet missing
    (tmp_path / "events.parquet").write_bytes(b"not parquet")
    assert not demo_is_current(tmp_path, spec)


def test_interrupted_generation_leaves_no_complete_demo(small_dir, tmp_path):
    for name in ("units", "assignments", "events"):
        (tmp_path / f"{name}.parquet").write_bytes(
            (small_dir / f"{name}.parquet").read_bytes()
        )
    (tmp_path / "manifest.json").write_bytes((small_dir / "manifest.json").read_bytes())
    spec = DemoSpec(n_users=3_000, seed=1)
    assert demo_is_current(tmp_path, spec)

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_demo(tmp_path, spec, progress=interrupt)
    assert not (tmp_path / "manifest.json").exists()
    assert not demo_is_current(tmp_path, spec)
    assert not [path for path in tmp_path.iterdir() if "partial" in path.name]


# ---------------------------------------------------------------- invalid specs


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"n_users": 0}, "n_users == 0, must be a positive integer"),
        ({"split": (0.5, 0.3, 0.2)}, "give one share per variant"),
        ({"split": (0.6, 0.6)}, "must be positive and sum to 1"),
        ({"split": (1.0, 0.0)}, "must be positive and sum to 1"),
        ({"srm": 1.0}, r"srm == 1.0, must be in \[0, 1\)"),
        ({"srm": -0.1}, r"must be in \[0, 1\)"),
        ({"variants": ("control",), "split": (1.0,)}, "at least two names"),
        ({"variants": ("a", "a")}, "must be non-empty and distinct"),
        ({"seed": -1}, "must be a non-negative integer"),
        ({"exposure_days": 30}, "must be between 1 and duration_days"),
        ({"lifts": {"treatment": {"likez": 0.1}}}, "unknown kpi"),
        ({"lifts": {"control": {"likes": 0.1}}}, "give lifts for treatment variants"),
        ({"lifts": {"treatment": {"likes": 0.5}}}, "lower the likes lift"),
        ({"lifts": {"treatment": {"revenue": 3.0}}}, "lower the revenue lift"),
        ({"lifts": {"treatment": {"messages": -1.0}}}, "finite number above -1"),
        ({"lifts": {"treatment": {"messages": math.inf}}}, "finite number above -1"),
        ({"n_users": 10.5}, "must be a positive integer"),
    ],
)
def test_invalid_spec_raises_config_error(tmp_path, changes, words):
    spec = DemoSpec(**{"n_users": 100, **changes})
    with pytest.raises(ConfigError, match=words):
        generate_demo(tmp_path, spec)
    assert not list(tmp_path.iterdir())


def test_config_error_is_a_value_error_on_one_line():
    with pytest.raises(ValueError, match="DemoSpec: ") as raised:
        demo.validate_spec(DemoSpec(split=(0.7, 0.7)))
    assert "\n" not in str(raised.value)


# ---------------------------------------------------------------- true lifts


def test_true_lifts_default():
    assert demo.true_lifts(DemoSpec()) == {
        "treatment": {
            "sessions": 0.0,
            "swipes": 0.0,
            "likes": 0.02,
            "matches": 0.02,
            "messages": 0.05,
            "purchases": 0.0,
            "revenue": 0.0,
        }
    }


def test_true_lifts_follow_their_drivers_and_ignore_unknown_variants():
    spec = DemoSpec(
        variants=("control", "prompts", "boost", "nothing"),
        split=(0.4, 0.2, 0.2, 0.2),
        lifts={
            "prompts": {"messages": 0.08},
            "boost": {"sessions": 0.05, "revenue": 0.1},
            "retired": {"likes": 0.2},
        },
    )
    lifts = demo.true_lifts(spec)
    assert set(lifts) == {"prompts", "boost", "nothing"}
    assert lifts["prompts"]["likes"] == 0.0
    assert lifts["prompts"]["messages"] == 0.08
    assert lifts["boost"]["swipes"] == 0.05
    assert lifts["boost"]["likes"] == 0.05
    assert lifts["boost"]["matches"] == 0.05
    assert lifts["boost"]["messages"] == 0.05
    assert lifts["boost"]["purchases"] == 0.1
    assert lifts["nothing"] == dict.fromkeys(demo.KPIS, 0.0)


def test_manifest_records_true_lifts(small_dir):
    manifest = json.loads((small_dir / "manifest.json").read_text())
    assert manifest["true_lifts"] == demo.true_lifts(DemoSpec())
    assert manifest["spec"]["lifts"] == {"treatment": {"likes": 0.02, "messages": 0.05}}


def test_observed_messages_lift_agrees_with_the_truth(tmp_path):
    generate_demo(tmp_path, DemoSpec())  # the demo as shipped: 40,000 users
    tables = _load(tmp_path)
    exposures = _first_exposures(tables["assignments"])
    messages = _per_user(tables["events"], exposures, "message")
    arm = exposures["variant"]
    _, low, high = _relative_ci(
        messages[arm == "treatment"], messages[arm == "control"], 0.999
    )
    assert low < 0.05 < high
    assert low > -0.20
    assert high < 0.30


def test_large_lifts_show_after_exposure_and_not_before(tmp_path):
    spec = DemoSpec(n_users=20_000, seed=7, lifts=BIG_LIFTS)
    generate_demo(tmp_path, spec)
    tables = _load(tmp_path)
    exposures = _first_exposures(tables["assignments"])
    arm = exposures["variant"]
    truth = demo.true_lifts(spec)["treatment"]
    for kpi, event in (
        ("sessions", "session"),
        ("likes", "like"),
        ("messages", "message"),
    ):
        after = _per_user(tables["events"], exposures, event)
        _, low, high = _relative_ci(
            after[arm == "treatment"], after[arm == "control"], 0.999
        )
        assert low < truth[kpi] < high, kpi
        assert low > 0, kpi
        before = _per_user(tables["events"], exposures, event, days_before=14)
        _, low, high = _relative_ci(
            before[arm == "treatment"], before[arm == "control"], 0.999
        )
        assert low < 0 < high, kpi


# ---------------------------------------------------------------- realism


def test_funnel_is_consistent(demo_tables):
    events = demo_tables["events"]
    counts = events.groupby(["user_id", "event"]).size().unstack(fill_value=0)
    assert (counts["like"] <= counts["swipe"]).all()
    assert (counts["match"] <= counts["like"]).all()
    assert counts["like"].sum() < 0.6 * counts["swipe"].sum()
    assert counts["match"].sum() < 0.5 * counts["like"].sum()
    with_partner = events["event"].isin(["like", "match", "message", "report", "block"])
    assert events.loc[with_partner, "partner_id"].notna().all()
    assert events.loc[~with_partner, "partner_id"].isna().all()
    assert (events["partner_id"] != events["user_id"]).all()
    assert events["partner_id"].dropna().between(1, 20_000).all()


def test_values_purchases_are_rare_and_positive(demo_tables):
    events, units = demo_tables["events"], demo_tables["units"]
    purchases = events[events["event"] == "purchase"]
    assert (purchases["value"] > 0).all()
    assert len(purchases) < 0.002 * len(events)
    payers = purchases["user_id"].unique()
    assert 0.005 < len(payers) / len(units) < 0.10
    prior = units.set_index("user_id")["prior_payer"]
    assert prior[payers].mean() > 2 * prior.mean()  # prior payers pay more often
    sessions = events.loc[events["event"] == "session", "value"]
    assert sessions.between(0.1, 120).all()
    assert 3 < sessions.median() < 10
    others = events[~events["event"].isin(["purchase", "session"])]
    assert (others["value"] == 1.0).all()


def test_activity_is_heavy_tailed(demo_tables):
    per_user = (
        demo_tables["events"]
        .groupby("user_id")
        .size()
        .reindex(demo_tables["units"]["user_id"], fill_value=0)
    )
    assert 30 <= per_user.mean() <= 60
    assert per_user.mean() > 1.5 * per_user.median()
    top = per_user.sort_values(ascending=False)
    assert top.iloc[: len(top) // 100].sum() > 0.10 * top.sum()  # top 1 %
    assert (per_user == 0).mean() > 0.02  # some users are dormant


@pytest.mark.parametrize("event", ["session", "like", "message"])
def test_pre_period_predicts_the_experiment(demo_tables, event):
    exposures = _first_exposures(demo_tables["assignments"])
    exposures = exposures[exposures["exposed_at"] < START + pd.Timedelta(days=7)]
    events = demo_tables["events"]
    before = _per_user(events, exposures, event, days_before=14)
    after = _per_user(events, exposures, event, days_after=14)
    rho = scipy_stats.pearsonr(before, after).statistic
    assert 0.5 <= rho <= 0.85


def test_exposures_decay_over_the_window(demo_tables):
    assignments = demo_tables["assignments"]
    day = (assignments["exposed_at"] - START).dt.days
    assert day.between(0, 20).all()
    first = _first_exposures(assignments)
    per_day = (first["exposed_at"] - START).dt.days.value_counts().sort_index()
    assert per_day.index.tolist() == list(range(14))
    assert per_day.iloc[0] > 3 * per_day.iloc[-1]
    assert per_day.iloc[:7].sum() > 2 * per_day.iloc[7:].sum()
    assert 0.4 < len(first) / len(demo_tables["units"]) < 0.9  # dormant users never


def test_logging_faults(demo_tables):
    assignments = demo_tables["assignments"]
    seen = assignments.groupby("user_id")["variant"].agg(["nunique", "size"])
    exposed = len(seen)
    conflicts = (seen["nunique"] > 1).sum()
    repeats = ((seen["nunique"] == 1) & (seen["size"] > 1)).sum()
    assert 0.001 < conflicts / exposed < 0.006
    assert 0.01 < repeats / exposed < 0.03
    ordered = assignments.sort_values(["user_id", "exposed_at"])
    again = ordered[ordered.duplicated("user_id", keep="first")]
    first = ordered.drop_duplicates("user_id").set_index("user_id")["exposed_at"]
    assert (again["exposed_at"].to_numpy() >= first[again["user_id"]].to_numpy()).all()


def test_srm_drops_rows_of_the_last_variant_only(demo_dir, demo_tables, tmp_path):
    generate_demo(tmp_path, DemoSpec(n_users=20_000, srm=0.1))
    lossy = _load(tmp_path)
    for name in ("units", "events"):
        pd.testing.assert_frame_equal(lossy[name], demo_tables[name])
    full = demo_tables["assignments"]
    merged = full.merge(lossy["assignments"], how="left", indicator=True)
    assert len(merged) == len(full)  # every kept row is a row of the full log
    dropped = merged[merged["_merge"] == "left_only"]
    assert (dropped["variant"] == "treatment").all()
    assert 0.08 < len(dropped) / (full["variant"] == "treatment").sum() < 0.12
    split = _first_exposures(lossy["assignments"])["variant"].value_counts()
    assert scipy_stats.chisquare(split).pvalue < 1e-6
    balanced = _first_exposures(full)["variant"].value_counts()
    assert scipy_stats.chisquare(balanced).pvalue > 1e-3


def test_multi_arm_split(tmp_path):
    spec = DemoSpec(
        n_users=6_000,
        variants=("control", "a", "b"),
        split=(0.5, 0.25, 0.25),
        start=dt.date(2026, 6, 1),
    )
    manifest = generate_demo(tmp_path, spec)
    assert set(manifest["true_lifts"]) == {"a", "b"}
    shares = _first_exposures(pd.read_parquet(tmp_path / "assignments.parquet"))[
        "variant"
    ].value_counts(normalize=True)
    assert shares["control"] == pytest.approx(0.5, abs=0.03)
    assert shares["a"] == pytest.approx(0.25, abs=0.03)
    events = pd.read_parquet(tmp_path / "events.parquet")
    assert events["ts"].min() >= pd.Timestamp("2026-05-04")
