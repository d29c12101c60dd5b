"""btdb.record and RunWriter around the real binary."""

import pytest

import btdb


def test_a_refused_run_names_its_line_and_field_and_the_others_are_recorded():
    good = {"strategy": "rec", "dataset": "d", "metrics": {"sharpe": 1.0}}
    bad = {"strategy": "rec", "dataset": "d", "trades": [{"symbol": "X"}]}
    with pytest.raises(btdb.RecordError) as raised:
        btdb.record([good, bad])
    error = raised.value
    assert error.summary["recorded"] == 1
    assert error.failures[0]["origin"] == "<stdin>:2"
    assert "trades[0]" in error.failures[0]["error"]
    summary = btdb.record([good, bad], check=False)
    assert (summary["already_present"], summary["failed"]) == (1, 1)


def test_nan_is_refused_before_it_reaches_btdb():
    with pytest.raises(ValueError):
        btdb.record([{"strategy": "s", "dataset": "d", "metrics": {"sharpe": float("nan")}}])


def test_no_binary_says_how_to_get_one(monkeypatch):
    monkeypatch.delenv("BTDB_BIN")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(btdb.BtdbError, match="BTDB_BIN"):
        btdb.record([])


def test_an_unreachable_database_is_btdb_s_own_line():
    with pytest.raises(btdb.BtdbError, match="127.0.0.1"):
        btdb.record(
            [{"strategy": "s", "dataset": "d"}],
            database_url="postgres://nobody@127.0.0.1:1/none?connect_timeout=1",
        )
