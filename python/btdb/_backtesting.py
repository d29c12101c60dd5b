"""backtesting.py's `Backtest.run()` result as a run document."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional

from . import _document as doc


def from_backtesting(
    stats: Any,
    *,
    dataset: str,
    strategy: Optional[str] = None,
    params: Optional[Mapping[str, Any]] = None,
    symbol: Optional[str] = None,
    periods_per_year: Optional[float] = None,
    sweep: Optional[str] = None,
    tags: Optional[Iterable[str]] = None,
    run_key: Optional[str] = None,
) -> Dict[str, Any]:
    """The run document of one `Backtest.run()` result.

    - strategy: the Strategy class's name unless given; params: the parameters the run used
      unless given: the class's parameters at their defaults, then those `run()` was given.
    - equity: `stats._equity_curve["Equity"]`, one point per bar; trades: `stats._trades`
      (closed trades; pass `finalize_trades=True` to Backtest to close the last one), each with
      its commission as fees and backtesting.py's PnL (net of commission) as pnl.
    - metrics: every numeric figure of `stats` under `bt.` (`Return [%]` as `bt.return_pct`,
      durations in days), beside what btdb computes from the curve.
    - times without a zone are taken as UTC.
    """
    curve = getattr(stats, "_equity_curve", None)
    trades = getattr(stats, "_trades", None)
    runner = getattr(stats, "_strategy", None)
    if curve is None or trades is None or runner is None or "Equity" not in curve:
        raise TypeError(
            "from_backtesting: stats is not a Backtest.run() result "
            "(it has no _equity_curve with Equity, _trades and _strategy)"
        )
    name = strategy or type(runner).__name__
    used = params if params is not None else _parameters(runner)
    out: Dict[str, Any] = {
        "strategy": name,
        "params": doc.params(used),
        "dataset": dataset,
        "equity": [[doc.timestamp(ts), float(e)] for ts, e in curve["Equity"].items()],
        "trades": [_trade(row, symbol or dataset) for row in trades.itertuples(index=False)],
        "metrics": _metrics(stats),
    }
    doc.extras(out, periods_per_year, sweep, tags)
    if run_key is not None:
        out["run_key"] = run_key
    return out


def _parameters(runner: Any) -> Dict[str, Any]:
    """The parameters the run used: the Strategy class's parameters (its public class
    variables of number, string or boolean value, as backtesting.py's optimize takes them) at
    their defaults, then the ones `Backtest.run(**params)` set."""
    found: Dict[str, Any] = {}
    for klass in reversed(type(runner).__mro__):
        if klass is object or klass.__module__.startswith("backtesting."):
            continue
        for key, value in vars(klass).items():
            if not key.startswith("_") and isinstance(value, (bool, int, float, str)):
                found[key] = value
    found.update(getattr(runner, "_params", {}))
    return found


def _trade(row: Any, symbol: str) -> Dict[str, Any]:
    size = float(row.Size)
    commission = getattr(row, "Commission", 0.0)
    trade = {
        "symbol": symbol,
        "side": "long" if size > 0 else "short",
        "quantity": abs(size),
        "entry_time": doc.timestamp(row.EntryTime),
        "entry_price": float(row.EntryPrice),
        "exit_time": doc.timestamp(row.ExitTime),
        "exit_price": float(row.ExitPrice),
        "fees": float(commission),
        "pnl": float(row.PnL),
    }
    # `self.buy(tag=...)`'s tag, kept as the trade's entry tag; untagged trades have None.
    tag = getattr(row, "Tag", None)
    if tag is not None and tag == tag and str(tag):
        trade["entry_tag"] = str(tag)
    return trade


def _metrics(stats: Any) -> Dict[str, float]:
    metrics: Dict[str, float] = {}
    for label, value in stats.items():
        if not isinstance(label, str) or label.startswith("_"):
            continue
        days = doc.duration_days(value)
        if days is not None:
            value, label = days, f"{label} days"
        value = doc.number(value)
        if value is not None:
            metrics[doc.metric_name("bt", label)] = value
    return metrics
