"""btdb from Python: backtesting.py and vectorbt results as btdb run documents, recorded by
the btdb binary, also trial by trial as an Optuna study runs; and runs, rankings, sweeps, trades and equity curves read back as pandas or
polars DataFrames through Arrow. Nothing beyond the standard library is imported here: the
adapters read the objects the backtesting libraries hand them, and the readers import pyarrow
when first called."""

from ._backtesting import from_backtesting
from ._optuna import OptunaCallback, optuna_callback
from ._read import compare, equity, rank, runs, trades
from ._record import BtdbError, RecordError, RunWriter, record
from ._vectorbt import from_vectorbt

__all__ = [
    "BtdbError",
    "OptunaCallback",
    "RecordError",
    "RunWriter",
    "compare",
    "equity",
    "from_backtesting",
    "from_vectorbt",
    "optuna_callback",
    "rank",
    "record",
    "runs",
    "trades",
]
