"""Reading btdb into DataFrames: every reader's frame against the CLI's JSON on the same
database, value by value (floats bit for bit) and dtype by dtype, with parameter names that
clash with btdb's own columns, mixed-type parameters and runs lacking a metric."""

import math
import struct
from datetime import datetime, timezone
from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import btdb
from conftest import btdb as cli

SWEEP = "read-grid"


def bits(x):
    return struct.pack("<d", x)


def document(i):
    """Run i of the sweep: hostile parameter names, a parameter whose values mix kinds, a
    metric that only some runs have."""
    params = {
        "fast": 5 + i,  # int
        "ratio": 0.5 + i / 7,  # float
        "mixed": i if i % 2 else f"v{i}",  # int and string
        "flag": i % 3 == 0,  # bool
        "id": f"p{i}",  # clashes with the run's id
        "metrics.sharpe": i * 10,  # clashes with a metric column's name
        "a,b \"c\"": i,  # CSV's quoting
    }
    doc = {
        "run_key": f"read:{i}",
        "strategy": "reader",
        "params": params,
        "dataset": "DS-A" if i % 2 else "DS-B",
        "periods_per_year": 252,
        "initial_capital": "10000.25",
        "period_start": "2024-01-01T00:00:00Z",
        "period_end": "2024-01-06T00:00:00Z",
        "tags": ["t1", f"n{i}"],
        "metrics": {"status": 1.0 / (i + 3), "id": -0.0 if i == 0 else i / 3},
        "trades": [
            {
                "symbol": "AAA",
                "side": "long",
                "quantity": "1.5",
                "entry_time": "2024-01-02T14:30:00Z",
                "entry_price": f"100.{i:03d}",
                "exit_time": "2024-01-03T21:00:00Z",
                "exit_price": "101.5",
                "fees": "0.01",
            }
        ],
        "equity": [
            ["2024-01-01T00:00:00Z", 10000.25],
            ["2024-01-02T00:00:00Z", 10000.25 + i * 1.1],
            ["2024-01-03T00:00:00Z", 10100.125 - i / 3],
            ["2024-01-04T00:00:00Z", 10050 + i],
            ["2024-01-05T00:00:00Z", 10075.5],
            ["2024-01-06T00:00:00Z", 10090 + i / 7],
        ],
    }
    if i % 4 == 0:
        doc["metrics"]["rare"] = 1e300 / (i + 1)
    return doc


@pytest.fixture(scope="module")
def recorded():
    docs = [document(i) for i in range(12)]
    summary = btdb.record(docs, sweep=SWEEP)
    assert summary["failed"] == 0, summary
    listed = cli("runs", "--sweep", SWEEP, "--limit", "100")
    return docs, sorted(listed["runs"], key=lambda r: r["id"])


def when(text):
    return pd.Timestamp(datetime.fromisoformat(text.replace("Z", "+00:00")))


def test_runs_frame_equals_the_cli_json_value_by_value(recorded):
    _, runs = recorded
    frame = btdb.runs(sweep=SWEEP).sort_index()
    assert frame.index.name == "run_id"
    assert list(frame.index) == [r["id"] for r in runs]
    for run in runs:
        row = frame.loc[run["id"]]
        assert row["run_key"] == run["run_key"]
        assert row["strategy"] == run["strategy"]["name"]
        assert row["dataset"] == run["dataset"]
        assert row["status"] == run["status"]
        assert row["sweep"] == run["sweep"]
        assert list(row["tags"]) == run["tags"]
        assert row["recorded_at"] == when(run["recorded_at"])
        assert row["period_start"] == when(run["period_start"])
        assert row["period_end"] == when(run["period_end"])
        assert row["initial_capital"] == float(run["initial_capital"])
        for key, value in run["params"].items():
            got = row[f"params.{key}"]
            if key == "mixed":
                assert got == (value if isinstance(value, str) else str(value))
            else:
                assert got == value, key
                assert type(value) is not float or bits(got) == bits(value)
        metric_columns = [c for c in frame.columns if c.startswith("metrics.")]
        for column in metric_columns:
            name = column.removeprefix("metrics.")
            if name in run["metrics"]:
                assert bits(row[column]) == bits(run["metrics"][name]), (run["id"], name)
            else:
                # A metric the run lacks is missing, never 0 or NaN.
                assert row[column] is pd.NA, (run["id"], name)
        assert {c.removeprefix("metrics.") for c in metric_columns} >= set(run["metrics"])


def test_runs_dtypes_are_what_a_pandas_user_expects(recorded):
    frame = btdb.runs(sweep=SWEEP)
    dtypes = frame.dtypes
    assert str(dtypes["params.fast"]) == "Int64"
    assert str(dtypes["params.ratio"]) == "Float64"
    assert str(dtypes["params.flag"]) == "boolean"
    assert pd.api.types.is_string_dtype(dtypes["params.mixed"])
    assert pd.api.types.is_string_dtype(dtypes["params.id"])
    assert str(dtypes["metrics.sharpe"]) == "Float64"
    assert str(dtypes["params.metrics.sharpe"]) == "Int64"
    assert str(dtypes["recorded_at"]) == "datetime64[us, UTC]"
    assert str(dtypes["period_start"]) == "datetime64[us, UTC]"
    # Every column name is one of its own: no parameter or metric shadows another.
    assert len(set(frame.columns)) == len(frame.columns)
    assert "metrics.id" in frame.columns and "params.id" in frame.columns
    # No NaN anywhere: a missing value is <NA>.
    floats = frame.select_dtypes("Float64")
    assert not any(math.isnan(v) for col in floats for v in floats[col].dropna())


def test_arrow_schema_says_which_parameters_mix_kinds(recorded):
    table = btdb.runs(sweep=SWEEP, backend="arrow")
    field = table.schema.field("params.mixed")
    assert field.type == pa.string()
    assert field.metadata == {b"btdb.mixed_types": b"int,string"}
    assert table.schema.field("params.fast").type == pa.int64()
    assert table.schema.field("recorded_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("id").type == pa.int64()


def test_exact_capital_is_a_decimal_at_its_scale(recorded):
    table = btdb.runs(sweep=SWEEP, backend="arrow", exact=True)
    assert table.schema.field("initial_capital").type == pa.decimal128(38, 2)
    assert set(table.column("initial_capital").to_pylist()) == {Decimal("10000.25")}


def test_polars_and_arrow_hold_the_same_values_as_pandas(recorded):
    frame = btdb.runs(sweep=SWEEP).sort_index()
    polars = btdb.runs(sweep=SWEEP, backend="polars").sort("id")
    assert isinstance(polars, pl.DataFrame)
    assert polars["id"].to_list() == list(frame.index)
    for column in ["metrics.status", "params.ratio"]:
        assert [bits(v) for v in polars[column].to_list()] == [bits(v) for v in frame[column]]
    assert polars.schema["params.fast"] == pl.Int64
    assert polars.schema["recorded_at"] == pl.Datetime("us", "UTC")


def test_where_sort_and_limit_are_the_cli_s(recorded):
    frame = btdb.runs(sweep=SWEEP, where="params.fast >= 10", sort="status", limit=3)
    listed = cli(
        "runs", "--sweep", SWEEP, "--where", "params.fast >= 10", "--sort", "status",
        "--limit", "3",
    )["runs"]
    assert list(frame.index) == [r["id"] for r in listed]


def test_a_bad_filter_raises_btdb_s_message(recorded):
    with pytest.raises(btdb.BtdbError, match=r"--where at column 9"):
        btdb.runs(where="sharpe >")
    with pytest.raises(btdb.BtdbError, match=r"no sweep named `nope`"):
        btdb.runs(sweep="nope")


def test_rank_frame_equals_the_cli_json(recorded):
    frame = btdb.rank("status", runs=True, sweep=SWEEP)
    rows = cli("rank", "--metric", "status", "--runs", "--sweep", SWEEP, "--top", "0")
    assert list(frame["run"]) == [r["run"]["id"] for r in rows]
    assert [bits(v) for v in frame["status"]] == [bits(r["value"]) for r in rows]
    assert str(frame.dtypes["rank"]) == "Int64"


def test_compare_pivot_equals_the_cli_json(recorded):
    grid = btdb.compare("reader", x="fast", y="flag", metric="status", sweep=SWEEP)
    pivot = cli(
        "compare", "--strategy", "reader", "--x", "fast", "--y", "flag", "--metric", "status",
        "--sweep", SWEEP,
    )["pivot"]
    assert list(grid.index) == [str(v).lower() for v in pivot["y_values"]]
    for y, row in zip(grid.index, pivot["cells"]):
        for x, cell in zip(pivot["x_values"], row):
            got = grid.loc[y, str(x)]
            if cell is None:
                assert got is pd.NA
            else:
                assert bits(got) == bits(cell["mean"])


def test_trades_and_equity_equal_show(recorded):
    _, runs = recorded
    ids = [runs[0]["id"], runs[5]["id"]]
    trades = btdb.trades(ids)
    long = btdb.equity(ids)
    assert list(long.columns) == ["run_id", "time", "equity"]
    for run_id in ids:
        shown = cli("show", str(run_id), "--trades", "--equity")
        mine = trades[trades["run_id"] == run_id]
        assert [float(t["entry_price"]) for t in shown["trades"]] == list(mine["entry_price"])
        points = long[long["run_id"] == run_id]
        assert [when(t) for t, _ in shown["equity"]] == list(points["time"])
        assert [bits(float(e)) for _, e in shown["equity"]] == [
            bits(v) for v in points["equity"]
        ]
    exact = btdb.trades(ids, exact=True, backend="arrow")
    assert exact.schema.field("entry_price").type == pa.decimal128(38, 3)
    wide = btdb.equity(ids, wide=True)
    assert list(wide.columns) == ids
    assert len(wide) == 6


def test_parquet_export_reads_back_as_the_frames(recorded, tmp_path):
    out = tmp_path / "export"
    done = __import__("subprocess").run(
        [btdb._record.binary(), "export", "--sweep", SWEEP, "--format", "parquet", "-o",
         str(out), "-q"],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "equity.parquet", "runs.parquet", "trades.parquet"
    ]
    runs = pq.read_table(out / "runs.parquet")
    arrow = btdb.runs(sweep=SWEEP, backend="arrow", exact=True).sort_by("id")
    assert runs.schema == arrow.schema
    assert runs.equals(arrow)
    equity = pq.read_table(out / "equity.parquet")
    ids = arrow.column("id").to_pylist()
    assert equity.equals(btdb.equity(ids, exact=True, backend="arrow"))
    trades = pq.read_table(out / "trades.parquet")
    assert trades.equals(btdb.trades(ids, exact=True, backend="arrow"))


@pytest.mark.parametrize(
    "read",
    [
        lambda: btdb.runs(sweep=SWEEP, backend="arrow"),
        lambda: btdb.runs(sweep=SWEEP, backend="arrow", exact=True),
        lambda: btdb.trades(sweep=SWEEP, backend="arrow"),
        lambda: btdb.equity(sweep=SWEEP, backend="arrow", exact=True),
    ],
    ids=["runs", "runs exact", "trades", "equity exact"],
)
def test_a_large_table_converted_a_group_at_a_time_is_the_same_frame(recorded, read, monkeypatch):
    """Tables of more than `_GROUP_ROWS` rows go to pandas a few batches at a time (so that
    their memory goes as the frame fills): the frame is the one converting them whole gives."""
    from btdb import _read

    table = read()
    assert table.num_rows > 6
    # Batches of 3 rows, converted 4 rows at a time: groups of two batches, the last shorter.
    batches = table.to_batches(max_chunksize=3)
    whole = _read._frame(pa.Table.from_batches(batches), "pandas")
    monkeypatch.setattr(_read, "_GROUP_ROWS", 4)
    grouped = _read._frame(pa.Table.from_batches(batches), "pandas")
    assert list(grouped.columns) == list(whole.columns)
    assert list(grouped.dtypes) == list(whole.dtypes)
    pd.testing.assert_frame_equal(grouped, whole, check_exact=True)
    assert grouped.isna().sum().sum() == whole.isna().sum().sum()
