"""from_backtesting against backtesting.py itself: a real sweep on its bundled GOOG data."""

import itertools

import pytest
from backtesting import Backtest
from backtesting.test import GOOG

import btdb
from conftest import btdb as cli
from conftest import close
from strategies import SmaCross, TaggedSmaCross

CASH = 10_000


@pytest.fixture(scope="module")
def sweep():
    bt = Backtest(GOOG, SmaCross, cash=CASH, commission=0.002, finalize_trades=True)
    grid = list(itertools.product([5, 10, 20], [30, 60]))
    return [bt.run(fast=fast, slow=slow) for fast, slow in grid]


def test_each_run_keeps_backtesting_py_s_own_figures(sweep):
    for stats in sweep:
        doc = btdb.from_backtesting(stats, dataset="GOOG-1d")
        assert doc["strategy"] == "SmaCross"
        assert doc["params"] == stats._strategy._params
        assert len(doc["trades"]) == stats["# Trades"]
        final = stats["Equity Final [$]"]
        assert close(doc["equity"][-1][1], final)
        assert close(sum(t["pnl"] for t in doc["trades"]), final - CASH)
        assert close(sum(t["fees"] for t in doc["trades"]), stats["Commissions [$]"])
        assert doc["metrics"]["bt.return_pct"] == stats["Return [%]"]
        assert doc["metrics"]["bt.n_trades"] == stats["# Trades"]
        assert doc["equity"][0][0] == "2004-08-19T00:00:00Z"
        sides = {t["side"] for t in doc["trades"]}
        assert sides == {"long", "short"}


def test_recorded_once_ranked_and_compared(sweep):
    docs = [btdb.from_backtesting(s, dataset="GOOG-1d") for s in sweep]
    first = btdb.record(docs, sweep="bt-grid")
    assert (first["recorded"], first["already_present"], first["failed"]) == (6, 0, 0)
    again = btdb.record(docs, sweep="bt-grid")
    assert (again["recorded"], again["already_present"]) == (0, 6)

    page = cli("runs", "--sweep", "bt-grid", "--metrics", "total_return,max_drawdown", "--limit", "10")
    runs = {(r["params"]["fast"], r["params"]["slow"]): r for r in page["runs"]}
    assert len(runs) == 6
    for stats in sweep:
        run = runs[(stats._strategy.fast, stats._strategy.slow)]
        # btdb computes from the same bar-by-bar curve: the same return and drawdown.
        assert close(run["metrics"]["total_return"], stats["Return [%]"] / 100)
        assert close(run["metrics"]["max_drawdown"], stats["Max. Drawdown [%]"] / 100)
    ranked = cli("rank", "--sweep", "bt-grid", "--metric", "bt.sharpe_ratio")
    best = max(sweep, key=lambda s: s["Sharpe Ratio"])
    assert ranked[0]["best_run"]["params"] == best._strategy._params
    pivot = cli("compare", "--strategy", "SmaCross", "--x", "fast", "--y", "slow")
    assert pivot["pivot"]["x_values"] == [5, 10, 20]


def test_parameters_left_at_their_defaults_are_the_run_s_too():
    bt = Backtest(GOOG.iloc[:300], SmaCross, cash=CASH, finalize_trades=True)
    assert btdb.from_backtesting(bt.run(), dataset="GOOG-1d")["params"] == {"fast": 10, "slow": 30}
    swept = btdb.from_backtesting(bt.run(fast=5), dataset="GOOG-1d")
    assert swept["params"] == {"fast": 5, "slow": 30}


def test_what_is_not_a_run_result_is_refused_in_one_line():
    with pytest.raises(TypeError, match="not a Backtest.run\\(\\) result"):
        btdb.from_backtesting({"Return [%]": 1.0}, dataset="GOOG-1d")


def test_a_trade_s_tag_is_its_entry_tag():
    stats = Backtest(GOOG.iloc[:600], TaggedSmaCross, cash=CASH, finalize_trades=True).run()
    doc = btdb.from_backtesting(stats, dataset="GOOG-1d")
    tags = [t.get("entry_tag") for t in doc["trades"]]
    assert tags == list(stats._trades["Tag"])
    assert set(tags) == {"cross-up", "cross-down"}
    untagged = btdb.from_backtesting(
        Backtest(GOOG.iloc[:600], SmaCross, cash=CASH, finalize_trades=True).run(), dataset="GOOG-1d"
    )
    assert all("entry_tag" not in t for t in untagged["trades"])
