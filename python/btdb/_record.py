"""Recording run documents through the btdb binary (`btdb record -`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from types import TracebackType
from typing import Any, Dict, Iterable, List, Mapping, Optional, Type


class BtdbError(Exception):
    """btdb could not be run, or ended without recording (its one-line error as the message)."""


class RecordError(BtdbError):
    """Some runs were refused; `summary` is btdb's JSON summary, `failures` its failures, each
    {"origin": "<stdin>:LINE", "error": "…"} (LINE counts the documents written, from 1)."""

    def __init__(self, summary: Dict[str, Any]) -> None:
        self.summary = summary
        self.failures: List[Dict[str, str]] = summary.get("failures", [])
        first = self.failures[0] if self.failures else {"origin": "?", "error": "?"}
        super().__init__(
            f"{summary.get('failed', 0)} run(s) not recorded; first: "
            f"{first['origin']}: {first['error']}"
        )


def binary(path: Optional[str] = None) -> str:
    """The btdb binary: `path`, else BTDB_BIN, else `btdb` on PATH."""
    found = path or os.environ.get("BTDB_BIN") or shutil.which("btdb")
    if not found:
        raise BtdbError(
            "no btdb binary: put btdb on PATH (cargo install --path .) or set BTDB_BIN"
        )
    return found


class RunWriter:
    """Records run documents as they are written, for a sweep loop:

        with btdb.RunWriter(sweep="sma-grid") as runs:
            for fast, slow in grid:
                runs.write(btdb.from_backtesting(bt.run(fast=fast, slow=slow), dataset="GOOG"))
        print(runs.summary)

    Each run is recorded whole or not at all; leaving the block closes the stream, waits for
    btdb and sets `summary`. A refused run raises RecordError then (unless check=False); an
    exception inside the block still records what was written before it.
    """

    def __init__(
        self,
        database_url: Optional[str] = None,
        sweep: Optional[str] = None,
        bin: Optional[str] = None,
        check: bool = True,
    ) -> None:
        self._command = [binary(bin), "record", "-", "--format", "json", "-q"]
        if sweep is not None:
            self._command += ["--sweep", sweep]
        self._env = dict(os.environ)
        if database_url is not None:
            self._env["DATABASE_URL"] = database_url
        self._check = check
        self._process: Optional[subprocess.Popen[bytes]] = None
        # btdb's stderr goes to a file: a pipe nobody reads while documents are written could
        # fill and stop both sides.
        self._stderr = tempfile.TemporaryFile()
        self.summary: Optional[Dict[str, Any]] = None

    def __enter__(self) -> "RunWriter":
        try:
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=self._env,
            )
        except OSError as e:
            raise BtdbError(f"cannot run {self._command[0]}: {e}") from e
        return self

    def write(self, document: Mapping[str, Any]) -> None:
        """Sends one run document (NaN and infinities are refused here, as btdb would)."""
        if self._process is None or self._process.stdin is None:
            raise BtdbError("RunWriter.write outside its `with` block")
        line = json.dumps(document, allow_nan=False, separators=(",", ":")) + "\n"
        try:
            self._process.stdin.write(line.encode())
        except BrokenPipeError:
            raise BtdbError(f"btdb stopped reading: {self._error_line()}") from None

    def write_all(self, documents: Iterable[Mapping[str, Any]]) -> None:
        for document in documents:
            self.write(document)

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        error: Optional[BaseException],
        trace: Optional[TracebackType],
    ) -> None:
        self.summary = self.close()
        if kind is None and self._check and self.summary.get("failed", 0) > 0:
            raise RecordError(self.summary)

    def close(self) -> Dict[str, Any]:
        """Ends the stream and gives btdb's summary."""
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise BtdbError("RunWriter.close outside its `with` block")
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass
        out = process.stdout.read()
        code = process.wait()
        self._process = None
        try:
            summary: Dict[str, Any] = json.loads(out)
        except ValueError:
            raise BtdbError(self._error_line() or f"btdb record exited with {code}") from None
        # Exit 1 with a summary: some runs were refused, the others recorded.
        if code not in (0, 1):
            raise BtdbError(self._error_line() or f"btdb record exited with {code}")
        return summary

    def _error_line(self) -> str:
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""


def record(
    documents: Iterable[Mapping[str, Any]],
    database_url: Optional[str] = None,
    sweep: Optional[str] = None,
    bin: Optional[str] = None,
    check: bool = True,
) -> Dict[str, Any]:
    """Records `documents` with `btdb record -` and gives its JSON summary: {"recorded",
    "already_present", "failed", "failures"}. `database_url` defaults to DATABASE_URL, and
    without either btdb uses its embedded database. With check (the default) a refused run
    raises RecordError after the others are recorded."""
    writer = RunWriter(database_url=database_url, sweep=sweep, bin=bin, check=check)
    with writer:
        writer.write_all(documents)
    assert writer.summary is not None
    return writer.summary
