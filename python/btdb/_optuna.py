"""Optuna trials recorded as they end, each with the backtest its objective ran."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Dict, Mapping, Optional

from ._record import BtdbError, binary


def _storage_url(study: Any) -> str:
    """The storage of `study` as `btdb import optuna` takes it: an RDB URL, or a journal file.
    Optuna keeps an RDBStorage behind a cache, and a journal file behind its JournalStorage,
    each as `_backend`."""
    storage = study._storage
    storage = getattr(storage, "_backend", storage)
    url = getattr(storage, "url", None)
    if isinstance(url, str):
        return url
    path = getattr(storage, "_file_path", None)
    if path is not None:
        return os.fspath(path)
    raise BtdbError(
        f"btdb.optuna_callback: study `{study.study_name}` is kept in {type(storage).__name__}, "
        "which btdb cannot read: give optuna.create_study a storage (sqlite:///study.db, "
        "postgresql://…, or JournalStorage(JournalFileBackend(PATH)))"
    )


class OptunaCallback:
    """Records each trial of a study as it ends: the trial as `btdb import optuna` reads it
    (its parameters, state, values, times and intermediate values), with the backtest the
    objective kept for it (`keep`): its trades, equity curve and figures. A later `btdb import
    optuna` of the study finds those runs there and leaves them.

        record = btdb.optuna_callback(strategy="sma_cross", dataset="GOOG-1d")

        def objective(trial):
            stats = bt.run(fast=trial.suggest_int("fast", 5, 50))
            record.keep(trial, btdb.from_backtesting(stats, dataset="GOOG-1d"))
            return stats["Sharpe Ratio"]

        study.optimize(objective, callbacks=[record])

    `strategy` and `dataset` become the study's user attributes `strategy` and `dataset`
    (unless it has them), which name every trial's run. A trial btdb cannot record raises
    BtdbError, which stops the study.
    """

    def __init__(
        self,
        strategy: Optional[str] = None,
        dataset: Optional[str] = None,
        database_url: Optional[str] = None,
        bin: Optional[str] = None,
    ) -> None:
        self._attrs = {"strategy": strategy, "dataset": dataset}
        self._bin = bin
        self._env = dict(os.environ)
        if database_url is not None:
            self._env["DATABASE_URL"] = database_url
        self._kept: Dict[int, Mapping[str, Any]] = {}
        self.summaries: Dict[int, Dict[str, Any]] = {}

    def keep(self, trial: Any, document: Mapping[str, Any]) -> None:
        """Keeps the run document of the backtest `trial` ran (from `from_backtesting` or
        `from_vectorbt`), to be recorded with the trial when it ends."""
        self._kept[trial.number] = document

    def __call__(self, study: Any, trial: Any) -> None:
        storage = _storage_url(study)
        for name, value in self._attrs.items():
            if value is not None and name not in study.user_attrs:
                study.set_user_attr(name, value)
        command = [
            binary(self._bin), "import", "optuna", storage, "--study", study.study_name,
            "--trial", str(trial.number), "--format", "json", "-q",
        ]
        document = self._kept.pop(trial.number, None)
        stdin = None
        if document is not None:
            command += ["--attach", "-"]
            stdin = json.dumps(document, allow_nan=False, separators=(",", ":"))
        try:
            done = subprocess.run(
                command, input=stdin, capture_output=True, text=True, env=self._env
            )
        except OSError as e:
            raise BtdbError(f"cannot run {command[0]}: {e}") from e
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            raise BtdbError(lines[-1] if lines else f"btdb import exited with {done.returncode}")
        self.summaries[trial.number] = json.loads(done.stdout)


def optuna_callback(
    strategy: Optional[str] = None,
    dataset: Optional[str] = None,
    database_url: Optional[str] = None,
    bin: Optional[str] = None,
) -> OptunaCallback:
    """A callback for `study.optimize(..., callbacks=[...])` that records every trial as it
    ends, with the backtest its objective kept (`OptunaCallback.keep`)."""
    return OptunaCallback(strategy=strategy, dataset=dataset, database_url=database_url, bin=bin)
