"""btdb.record and RunWriter around the real binary."""

import random
import struct

import pytest

import btdb
from conftest import btdb as cli


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


def test_every_float_comes_back_bit_for_bit():
    rng = random.Random(20261206)

    def finite():
        while True:
            value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
            if value == value and abs(value) != float("inf"):
                return value

    extremes = [0.0, -0.0, 1.7976931348623157e308, 5e-324, -2.2250738585072014e-308,
                11099.605836499999, 0.1 + 0.2]
    docs = [
        {
            "run_key": f"py-bits:{i}",
            "strategy": "py_bits",
            "dataset": "bits",
            "metrics": {f"m{j}": extremes[j] if i == 0 and j < len(extremes) else finite()
                        for j in range(30)},
        }
        for i in range(10)
    ]
    btdb.record(docs)
    runs = cli("runs", "--strategy", "py_bits", "--limit", "100")["runs"]
    back = {r["run_key"]: r["metrics"] for r in runs}
    for doc in docs:
        for name, want in doc["metrics"].items():
            got = back[doc["run_key"]][name]
            assert struct.pack("<d", got) == struct.pack("<d", want), (doc["run_key"], name)
