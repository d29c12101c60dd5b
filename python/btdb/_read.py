"""Reading btdb into DataFrames: the binary writes an Arrow stream (`--format arrow`) and
pyarrow reads it without parsing text. pandas, polars or a pyarrow Table, as `backend` says.

pyarrow is needed here alone (`pip install "btdb[frames]"`); recording needs nothing beyond
the standard library.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from typing import Any, Iterable, List, Optional, Sequence, Union

from ._record import BtdbError, binary

Backend = str  # "pandas", "polars" or "arrow"


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.ipc  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise BtdbError(
            'reading btdb needs pyarrow: pip install "btdb[frames]" (or pip install pyarrow)'
        ) from e
    return pyarrow


def _flags(options: dict) -> List[str]:
    """Keyword arguments as the CLI's own flags: `min_runs=3` is `--min-runs 3`, True a bare
    flag, None and False nothing, a list or tuple the flag once per item."""
    out: List[str] = []
    for name, value in options.items():
        flag = "--" + name.rstrip("_").replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            out.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                out += [flag, str(item)]
        else:
            out += [flag, str(value)]
    return out


def _arrow(args: Sequence[str], database_url: Optional[str], bin: Optional[str]):
    """The Arrow table `btdb ARGS --format arrow` writes; btdb's error as a BtdbError. The
    stream is read from the pipe as btdb writes it, a batch at a time, so that no copy of its
    bytes is kept beside the table."""
    pa = _pyarrow()
    env = None
    if database_url is not None:
        env = dict(os.environ, DATABASE_URL=database_url)
    command = [binary(bin), *args, "--format", "arrow", "-q"]
    # stderr to a file: a pipe nobody reads while the stream is read could fill and stop btdb.
    with tempfile.TemporaryFile() as stderr:
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=env)
        except OSError as e:
            raise BtdbError(f"cannot run {command[0]}: {e}") from e
        table = None
        try:
            table = pa.ipc.open_stream(process.stdout).read_all()
        except pa.ArrowInvalid:
            pass  # nothing or half a stream: btdb failed, and says why below
        finally:
            process.stdout.close()
            code = process.wait()
        if code != 0 or table is None:
            stderr.seek(0)
            lines = stderr.read().decode("utf-8", "replace").strip().splitlines()
            message = lines[-1] if lines else f"btdb exited with {code}"
            raise BtdbError(message.removeprefix("error: "))
    return table


def _frame(table, backend: Backend, index: Optional[str] = None):
    """`table` as the backend's frame; pandas with nullable dtypes (a missing value is <NA>,
    never NaN or 0) and `index` as its index."""
    if backend == "arrow":
        return table
    if backend == "polars":
        import polars

        return polars.from_arrow(table)
    if backend != "pandas":
        raise ValueError(f"backend must be 'pandas', 'polars' or 'arrow', not {backend!r}")
    import pandas
    import pyarrow as pa

    nullable = {
        pa.int64(): pandas.Int64Dtype(),
        pa.float64(): pandas.Float64Dtype(),
        pa.bool_(): pandas.BooleanDtype(),
    }

    def dtype(arrow_type):
        # Lists (tags) stay Arrow lists: a Python list per row would cost more than the rest.
        if pa.types.is_list(arrow_type):
            return pandas.ArrowDtype(arrow_type)
        return nullable.get(arrow_type)

    # The table's buffers are released as their columns are converted: memory holds one copy.
    frame = table.to_pandas(types_mapper=dtype, self_destruct=True, split_blocks=True)
    del table
    if index is not None and index in frame.columns:
        frame = frame.set_index(index)
    return frame


def runs(
    strategy: Optional[str] = None,
    dataset: Optional[str] = None,
    sweep: Optional[str] = None,
    where: Optional[str] = None,
    sort: Optional[str] = None,
    limit: Optional[int] = None,
    *,
    tag: Union[str, Iterable[str], None] = None,
    status: Optional[str] = None,
    asc: bool = False,
    metrics: Optional[Iterable[str]] = None,
    exact: bool = False,
    backend: Backend = "pandas",
    database_url: Optional[str] = None,
    bin: Optional[str] = None,
    **options: Any,
):
    """Runs as `btdb runs` selects them, one row each, indexed by run id (pandas): the run's
    fields, `params.KEY` per parameter (int, float, bool or text, as its values are) and
    `metrics.NAME` per metric. Every matching run unless `limit`; `sort` a metric (largest
    first, `asc=True` smallest) or "recorded" (newest first, the default). `exact=True` keeps
    initial_capital as exact decimals. Other keywords are `btdb runs` flags (`after=ID`)."""
    args = ["runs", "--limit", "all" if limit is None else str(limit)]
    args += _flags(
        dict(
            strategy=strategy,
            dataset=dataset,
            sweep=sweep,
            where=where,
            sort=sort,
            tag=[tag] if isinstance(tag, str) else tag,
            status=status,
            asc=asc,
            metrics=",".join(metrics) if metrics is not None else None,
            decimals=None if exact else "float",
            **options,
        )
    )
    table = _arrow(args, database_url, bin)
    frame = _frame(table, backend, index="id")
    if backend == "pandas":
        frame.index.name = "run_id"
    return frame


def rank(
    metric: str = "sharpe",
    by: Optional[str] = None,
    *,
    backend: Backend = "pandas",
    database_url: Optional[str] = None,
    bin: Optional[str] = None,
    **options: Any,
):
    """The ranking `btdb rank` prints, every row of it (`top=K` for the first K): strategies
    by their best run (`by="mean"`, "median", "worst", "count"), or single runs with
    `runs=True`. Keywords are `btdb rank` flags: strategy, dataset, sweep, tag, where,
    min_runs, deflated, psr, asc, desc."""
    options.setdefault("top", 0)
    args = ["rank", "--metric", metric] + _flags(dict(by=by, **options))
    return _frame(_arrow(args, database_url, bin), backend)


def compare(
    strategy: str,
    x: Optional[str] = None,
    y: Optional[str] = None,
    metric: str = "sharpe",
    *,
    backend: Backend = "pandas",
    database_url: Optional[str] = None,
    bin: Optional[str] = None,
    **options: Any,
):
    """A strategy's sweep as `btdb compare` tabulates it: with `x`, the metric's mean, min, max
    and run count per value of `x`; with `y` too, the grid of means (rows: `y`'s values,
    columns: `x`'s), indexed by the parameter's values (pandas); with `is_` and `oos` (data
    sets), in sample against out of sample.
    Other keywords are `btdb compare` flags (dataset, sweep, where, pbo...)."""
    args = ["compare", "--strategy", strategy, "--metric", metric]
    args += _flags(dict(x=x, y=y, **options))
    table = _arrow(args, database_url, bin)
    # A pivot's first column holds the parameter's values: the index of its rows.
    index = table.column_names[0] if x is not None and table.num_columns else None
    return _frame(table, backend, index=index)


def _rows(
    what: str,
    run_ids: Optional[Iterable[int]],
    exact: bool,
    database_url: Optional[str],
    bin: Optional[str],
    options: dict,
):
    ids = [str(int(i)) for i in (run_ids if run_ids is not None else [])]
    if not ids and not options:
        raise ValueError(f"name the runs whose {what} to read: run ids, or filters")
    args = ["export", *ids, "--table", what]
    args += _flags(dict(decimals=None if exact else "float", **options))
    return _arrow(args, database_url, bin)


def trades(
    run_ids: Optional[Iterable[int]] = None,
    *,
    exact: bool = False,
    backend: Backend = "pandas",
    database_url: Optional[str] = None,
    bin: Optional[str] = None,
    **filters: Any,
):
    """Every trade of the runs `run_ids` (or of the runs `filters` select: strategy, sweep,
    dataset, where), one row each, by run and entry time. Prices and quantities are floats, or
    exact decimals with `exact=True`."""
    return _frame(_rows("trades", run_ids, exact, database_url, bin, filters), backend)


def equity(
    run_ids: Optional[Iterable[int]] = None,
    *,
    wide: bool = False,
    exact: bool = False,
    backend: Backend = "pandas",
    database_url: Optional[str] = None,
    bin: Optional[str] = None,
    **filters: Any,
):
    """The equity curves of the runs `run_ids` (or of the runs `filters` select) in long form,
    `run_id, time, equity`, by run and time; `wide=True` gives one column per run, in the
    order of `run_ids`, on the times of all of them (pandas and polars), missing where a run
    has no point."""
    ids = [int(i) for i in run_ids] if run_ids is not None else None
    table = _rows("equity", ids, exact, database_url, bin, filters)
    frame = _frame(table, backend)
    if not wide or backend == "arrow":
        return frame
    # Columns in the order the runs were named (by id when chosen by filters).
    if backend == "polars":
        wide_frame = frame.pivot(on="run_id", index="time", values="equity").sort("time")
        order = [str(i) for i in ids] if ids else sorted(wide_frame.columns[1:], key=int)
        return wide_frame.select(["time", *order])
    wide_frame = frame.pivot(index="time", columns="run_id", values="equity").sort_index()
    return wide_frame[ids] if ids else wide_frame
