"""docs/python.md's example runs as it is, on the runs `btdb demo` records, and its heatmap's
grid is the one `btdb compare` computes."""

import os
import re
import subprocess
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def test_the_notebook_example_runs_and_agrees_with_compare(tmp_path, monkeypatch):
    demo = subprocess.run(
        [os.environ["BTDB_BIN"], "demo", "-q"], capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stderr
    page = (ROOT / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(blocks[0], "docs/python.md", "exec"), scope)
    for picture in ["heatmap.png", "top5.png"]:
        assert (tmp_path / picture).stat().st_size > 10_000, picture
    grid, same = scope["grid"], scope["same"]
    # pandas' mean of the listed runs and btdb's mean of the same runs, cell by cell.
    assert list(grid.index) == list(same.index)
    assert [str(c) for c in grid.columns] == list(same.columns)
    for slow in grid.index:
        for fast in grid.columns:
            a, b = grid.loc[slow, fast], same.loc[slow, str(fast)]
            assert abs(a - b) <= 1e-12 * max(1.0, abs(b)), (slow, fast, a, b)
    curves = scope["curves"]
    assert list(curves.columns) == list(scope["top"].index)
    assert isinstance(curves.index, pd.DatetimeIndex)
