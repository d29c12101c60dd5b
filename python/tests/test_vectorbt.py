"""from_vectorbt against vectorbt itself: a swept moving-average crossover portfolio."""

import pytest
import vectorbt as vbt
from backtesting.test import GOOG

import btdb
from conftest import btdb as cli
from conftest import close


@pytest.fixture(scope="module")
def portfolio():
    price = GOOG["Close"]
    fast = vbt.MA.run(price, window=[10, 20], short_name="fast")
    slow = vbt.MA.run(price, window=[50, 100], short_name="slow")
    entries = fast.ma_crossed_above(slow)
    exits = fast.ma_crossed_below(slow)
    return vbt.Portfolio.from_signals(
        price, entries, exits, init_cash=10_000, fees=0.001, freq="1D"
    )


def test_one_document_per_column_with_vectorbt_s_own_figures(portfolio):
    docs = btdb.from_vectorbt(portfolio, strategy="ma_cross", dataset="GOOG-1d")
    columns = list(portfolio.wrapper.columns)
    assert len(docs) == len(columns) == 2
    value = portfolio.value()
    counts = portfolio.trades.count()
    profits = portfolio.total_profit()
    for doc, column in zip(docs, columns):
        assert doc["params"] == {"fast_window": column[0], "slow_window": column[1]}
        assert len(doc["trades"]) == counts[column]
        assert close(doc["equity"][-1][1], value[column].iloc[-1])
        assert close(sum(t["pnl"] for t in doc["trades"]), profits[column])
        assert doc["metrics"]["vbt.total_return"] == portfolio.total_return()[column]


def test_recorded_and_compared(portfolio):
    docs = btdb.from_vectorbt(portfolio, strategy="ma_cross", dataset="GOOG-1d")
    with btdb.RunWriter(sweep="vbt-grid") as writer:
        for doc in docs:
            writer.write(doc)
    assert writer.summary["recorded"] == 2
    page = cli("runs", "--sweep", "vbt-grid", "--metrics", "total_return,max_drawdown")
    by_params = {(r["params"]["fast_window"], r["params"]["slow_window"]): r for r in page["runs"]}
    for column in portfolio.wrapper.columns:
        run = by_params[column]
        assert close(run["metrics"]["total_return"], portfolio.total_return()[column])
        assert close(run["metrics"]["max_drawdown"], portfolio.max_drawdown()[column])
    compared = cli("compare", "--strategy", "ma_cross", "--x", "fast_window")
    assert compared["runs"] == 2


def test_what_is_not_a_portfolio_is_refused():
    with pytest.raises(TypeError, match="not a vectorbt Portfolio"):
        btdb.from_vectorbt(object(), strategy="s", dataset="d")
