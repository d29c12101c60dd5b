"""btdb from Python: backtesting.py and vectorbt results as btdb run documents, recorded by
the btdb binary. Nothing beyond the standard library is imported here: the adapters read the
objects the backtesting libraries hand them."""

from ._backtesting import from_backtesting
from ._record import BtdbError, RecordError, RunWriter, record
from ._vectorbt import from_vectorbt

__all__ = [
    "BtdbError",
    "RecordError",
    "RunWriter",
    "from_backtesting",
    "from_vectorbt",
    "record",
]
