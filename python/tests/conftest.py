"""The tests record into a real btdb: the binary of this checkout (BTDB_BIN, else
target/debug/btdb) on an embedded database of their own, stopped and removed at the end."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def btdb_home():
    if "BTDB_BIN" not in os.environ:
        built = ROOT / "target" / "debug" / "btdb"
        if not built.exists():
            pytest.exit("no btdb binary: run `cargo build` first or set BTDB_BIN", returncode=2)
        os.environ["BTDB_BIN"] = str(built)
    home = tempfile.mkdtemp(prefix="btdb-python-")
    # When the tests run as root, the server runs as another account, which must reach it.
    os.chmod(home, 0o755)
    os.environ["BTDB_HOME"] = home
    os.environ.pop("DATABASE_URL", None)
    yield home
    subprocess.run([os.environ["BTDB_BIN"], "db", "stop"], capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


def btdb(*args):
    """Stdout of `btdb ARGS --format json`, parsed; the test fails if btdb does."""
    out = subprocess.run(
        [os.environ["BTDB_BIN"], *args, "--format", "json"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)
