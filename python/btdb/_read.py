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


# Rows turned into pandas at a time from a larger table: the table's memory is freed a group
# at a time while the frame fills, so that the process holds little more than the frame.
_GROUP_ROWS = 1 << 17


def _frame(table, backend: Backend, index: Optional[str] = None):
    """`table` as the backend's frame; pandas with nullable dtypes (a missing value is <NA>,
    never NaN or 0) and `index` as its index. The caller passes its last reference to the
    table, so that its memory goes as the frame fills."""
    if backend == "arrow":
        return table
    if backend == "polars":
        import polars

        return polars.from_arrow(table)
    if backend != "pandas":
        raise ValueError(f"backend must be 'pandas', 'polars' or 'arrow', not {backend!r}")
    if table.num_rows > _GROUP_ROWS:
        schema, batches = table.schema, table.to_batches()
        del table
        frame = _grouped(schema, batches)
    else:
        frame = _pandas(table)
        del table
    if index is not None and index in frame.columns:
        frame = frame.set_index(index)
    return frame


def _pandas(table):
    """`table` as a pandas frame of nullable dtypes; lists (tags) stay Arrow lists, since a
    Python list per row would cost more than the rest."""
    import pandas
    import pyarrow as pa

    nullable = {
        pa.int64(): pandas.Int64Dtype(),
        pa.float64(): pandas.Float64Dtype(),
        pa.bool_(): pandas.BooleanDtype(),
    }

    def dtype(arrow_type):
        if pa.types.is_list(arrow_type):
            return pandas.ArrowDtype(arrow_type)
        return nullable.get(arrow_type)

    # Columns are released as they are converted.
    return table.to_pandas(types_mapper=dtype, self_destruct=True, split_blocks=True)


def _grouped(schema, batches):
    """The batches as one pandas frame, as `_pandas` makes it, converted `_GROUP_ROWS` at a
    time into columns allocated once. A batch's bytes are one block for all of its columns:
    converting the whole table at once keeps every block until the last column is done, so
    the process held the table beside the frame (2.1 times the frame at a million runs)."""
    import pandas
    import pyarrow as pa

    rows = sum(b.num_rows for b in batches)
    batches.reverse()
    columns = None
    start = 0
    while batches:
        group, taken = [], 0
        while batches and taken < _GROUP_ROWS:
            group.append(batches.pop())
            taken += group[-1].num_rows
        part = _pandas(pa.Table.from_batches([_owned(b) for b in group], schema))
        del group
        if columns is None:
            columns = [_Column.for_array(part[name].array, rows) for name in part.columns]
        for column, name in zip(columns, part.columns):
            column.put(start, part[name].array)
        start += len(part)
        del part
    return pandas.DataFrame(
        {field.name: column.array() for field, column in zip(schema, columns)}, copy=False
    )


def _owned(batch):
    """`batch` with its text and list columns in buffers of their own: pandas keeps those as
    Arrow arrays, which would otherwise hold the batch's whole block."""
    import pyarrow as pa

    kept = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean,
            pa.types.is_timestamp, pa.types.is_decimal)
    arrays = [
        a if any(kind(a.type) for kind in kept) else pa.concat_arrays([a])
        for a in batch.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


class _Column:
    """One column of the frame being filled: numbers into arrays of the whole length, Arrow
    backed pieces joined at the end."""

    def __init__(self, kind, make, data, mask):
        self.kind, self.make, self.data, self.mask = kind, make, data, mask

    @classmethod
    def for_array(cls, array, rows):
        import numpy
        import pandas

        masked = (pandas.arrays.IntegerArray, pandas.arrays.FloatingArray,
                  pandas.arrays.BooleanArray)
        if isinstance(array, masked):
            values = numpy.empty(rows, array.dtype.numpy_dtype)
            return cls("masked", type(array), values, numpy.empty(rows, bool))
        if isinstance(array, pandas.arrays.DatetimeArray) and array.tz is not None:
            return cls("time", array.dtype, numpy.empty(rows, "int64"), None)
        if isinstance(array, pandas.arrays.NumpyExtensionArray):
            return cls("numpy", None, numpy.empty(rows, array.dtype.numpy_dtype), None)
        return cls("pieces", type(array), [], None)

    def put(self, start, array):
        end = start + len(array)
        if self.kind == "masked":
            self.mask[start:end] = array.isna()
            zero = self.data.dtype.type(0)
            self.data[start:end] = array.to_numpy(dtype=self.data.dtype, na_value=zero)
        elif self.kind == "time":
            self.data[start:end] = array.asi8
        elif self.kind == "numpy":
            self.data[start:end] = array.to_numpy()
        else:
            self.data.append(array)

    def array(self):
        import pandas

        if self.kind == "masked":
            return self.make(self.data, self.mask)
        if self.kind == "time":
            unit = self.make.unit
            naive = pandas.Series(self.data.view(f"datetime64[{unit}]"))
            return naive.dt.tz_localize(self.make.tz).array
        if self.kind == "numpy":
            return self.data
        return self.make._concat_same_type(self.data)


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
    frame = _frame(_arrow(args, database_url, bin), backend, index="id")
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
    frame = _frame(_rows("equity", ids, exact, database_url, bin, filters), backend)
    if not wide or backend == "arrow":
        return frame
    # Columns in the order the runs were named (by id when chosen by filters).
    if backend == "polars":
        wide_frame = frame.pivot(on="run_id", index="time", values="equity").sort("time")
        order = [str(i) for i in ids] if ids else sorted(wide_frame.columns[1:], key=int)
        return wide_frame.select(["time", *order])
    wide_frame = frame.pivot(index="time", columns="run_id", values="equity").sort_index()
    return wide_frame[ids] if ids else wide_frame
