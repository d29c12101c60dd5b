"""btdb.optuna_callback against Optuna and backtesting.py themselves: a study whose objective
runs a real backtest, each trial recorded as it ends with that backtest, then the study
imported again by the binary."""

import math

import optuna
import pytest
from backtesting import Backtest
from backtesting.test import GOOG

import btdb
from conftest import btdb as cli
from strategies import SmaCross

optuna.logging.set_verbosity(optuna.logging.WARNING)


def run_study(storage, name):
    bt = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002, finalize_trades=True)
    record = btdb.optuna_callback(strategy="sma_cross", dataset="GOOG-1d")
    kept = {}

    def objective(trial):
        fast = trial.suggest_int("fast", 5, 20)
        slow = trial.suggest_int("slow", 30, 60, step=10)
        trial.report(float(fast), 0)
        if trial.number == 2:
            # Pruned before any backtest: recorded without one.
            raise optuna.TrialPruned()
        stats = bt.run(fast=fast, slow=slow)
        document = btdb.from_backtesting(stats, dataset="GOOG-1d")
        record.keep(trial, document)
        kept[trial.number] = (stats, document)
        return stats["Return [%]"]

    study = optuna.create_study(
        study_name=name, storage=storage, direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=3),
    )
    study.optimize(objective, n_trials=6, callbacks=[record])
    return study, kept


def exported():
    import json
    import os
    import subprocess

    out = subprocess.run(
        [os.environ["BTDB_BIN"], "export"], capture_output=True, text=True, check=True
    )
    # Runs keyed by their content carry no run_key: none of them is a trial's.
    docs = map(json.loads, out.stdout.splitlines())
    return {d["run_key"]: d for d in docs if "run_key" in d}


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_each_trial_is_recorded_with_its_backtest_and_an_import_adds_nothing(tmp_path, kind):
    name = f"callback-{kind}"
    if kind == "sqlite":
        storage = f"sqlite:///{tmp_path / 'study.db'}"
        cli_storage = storage
    else:
        path = str(tmp_path / "journal.log")
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
        cli_storage = path
    study, kept = run_study(storage, name)
    assert study.user_attrs["strategy"] == "sma_cross"
    docs = exported()
    for trial in study.get_trials():
        doc = docs[f"optuna:{name}:{trial.number}"]
        assert doc["trial"] == trial.number
        assert doc["strategy"] == "sma_cross" and doc["dataset"] == "GOOG-1d"
        assert doc["sweep"] == name
        assert doc["params"]["fast"] == trial.params["fast"]
        assert doc["intermediate"] == [[0, float(trial.params["fast"])]]
        if trial.state == optuna.trial.TrialState.PRUNED:
            assert doc["status"] == "pruned"
            assert "trades" not in doc and "optuna.backtest" not in doc.get("tags", [])
            continue
        stats, document = kept[trial.number]
        assert doc["status"] == "completed"
        # The study's value, bit for bit, ranked its way; the backtest's trades and curve.
        assert doc["metrics"]["value"].hex() == trial.value.hex()
        assert doc["directions"] == {"value": "maximize"}
        assert len(doc.get("trades", [])) == stats["# Trades"]
        assert len(doc["equity"]) == len(document["equity"])
        assert math.isclose(float(doc["equity"][-1][1]), stats["Equity Final [$]"], rel_tol=1e-12)
        assert doc["metrics"]["bt.return_pct"] == stats["Return [%]"]
        assert "optuna.backtest" in doc["tags"]
        # The backtest's own parameters join the trial's.
        assert doc["params"]["slow"] == trial.params["slow"]

    # Importing the study now records nothing new: the runs with a backtest are left, the
    # pruned one is already there.
    again = cli("import", "optuna", cli_storage, "--study", name)
    assert again["recorded"] == 0
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.get_trials())
    assert again["already_present"] == pruned
    assert len([k for k in exported() if k.startswith(f"optuna:{name}:")]) == 6


def test_a_study_in_memory_is_refused_in_one_line():
    record = btdb.optuna_callback()
    study = optuna.create_study()
    with pytest.raises(btdb.BtdbError, match="InMemoryStorage, which btdb cannot read"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1, callbacks=[record])
