"""A vectorbt `Portfolio` as run documents, one per column."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional

from . import _document as doc

# vectorbt's own figures kept beside btdb's, per column: (metric, Portfolio method).
_FIGURES = (
    ("vbt.total_return", "total_return"),
    ("vbt.total_profit", "total_profit"),
    ("vbt.max_drawdown", "max_drawdown"),
    ("vbt.sharpe_ratio", "sharpe_ratio"),
    ("vbt.sortino_ratio", "sortino_ratio"),
)


def from_vectorbt(
    portfolio: Any,
    *,
    strategy: str,
    dataset: str,
    params: Optional[Mapping[str, Any]] = None,
    symbol: Optional[str] = None,
    periods_per_year: Optional[float] = None,
    sweep: Optional[str] = None,
    tags: Optional[Iterable[str]] = None,
) -> List[Dict[str, Any]]:
    """One run document per column of `portfolio`, in column order.

    - params: the column's key under its index level names (`fast_window`, `slow_window` from
      `vbt.MA.run(..., window=[...], short_name="fast")`), merged over `params` (the ones the
      whole sweep shares); an unnamed level is `column`.
    - equity: `portfolio.value()`, one point per bar; trades: `portfolio.trades`, entry and exit
      fees added as fees, vectorbt's PnL (net of fees) as pnl. A trade still open at the end is
      recorded as vectorbt values it: exiting at the last bar's price.
    - metrics: total return, total profit, max drawdown, Sharpe and Sortino ratios as vectorbt
      computes them, under `vbt.`.
    - times without a zone are taken as UTC.
    """
    if not all(hasattr(portfolio, a) for a in ("value", "trades", "wrapper")):
        raise TypeError(
            "from_vectorbt: portfolio is not a vectorbt Portfolio (it has no value, trades "
            "and wrapper)"
        )
    value = portfolio.value()
    columns = list(value.columns) if value.ndim == 2 else [None]
    names = list(getattr(portfolio.wrapper.columns, "names", None) or [])
    records = portfolio.trades.records_readable
    figures = {
        metric: getattr(portfolio, method)() for metric, method in _FIGURES
    }
    docs = []
    for column in columns:
        curve = value if column is None else value[column]
        mine = records if column is None else records[records["Column"] == column]
        run_params = doc.params(params or {})
        run_params.update(_column_params(column, names))
        metrics = {}
        for metric, series in figures.items():
            figure = doc.number(series if column is None else series[column])
            if figure is not None:
                metrics[metric] = figure
        out: Dict[str, Any] = {
            "strategy": strategy,
            "params": run_params,
            "dataset": dataset,
            "equity": [[doc.timestamp(ts), float(e)] for ts, e in curve.items()],
            "trades": [_trade(row, symbol or dataset) for _, row in mine.iterrows()],
            "metrics": metrics,
        }
        docs.append(doc.extras(out, periods_per_year, sweep, tags))
    return docs


def _column_params(column: Any, names: List[Any]) -> Dict[str, doc.Param]:
    if column is None:
        return {}
    keys = column if isinstance(column, tuple) else (column,)
    labels = [str(n) if n is not None else "column" for n in names] or ["column"] * len(keys)
    if len(labels) != len(keys):
        labels = [f"column_{i}" for i in range(len(keys))]
    return {label: doc.param(key) for label, key in zip(labels, keys)}


def _trade(row: Any, symbol: str) -> Dict[str, Any]:
    return {
        "symbol": symbol,
        "side": "short" if str(row["Direction"]).lower() == "short" else "long",
        "quantity": float(row["Size"]),
        "entry_time": doc.timestamp(row["Entry Timestamp"]),
        "entry_price": float(row["Avg Entry Price"]),
        "exit_time": doc.timestamp(row["Exit Timestamp"]),
        "exit_price": float(row["Avg Exit Price"]),
        "fees": float(row["Entry Fees"]) + float(row["Exit Fees"]),
        "pnl": float(row["PnL"]),
    }
