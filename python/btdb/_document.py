"""Values as the run document spells them (docs/run-document.md in the btdb repository)."""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any, Dict, Iterable, Mapping, Optional, Union

Param = Union[int, float, str, bool]

_METRIC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,63}$")


def timestamp(value: Any) -> str:
    """An RFC 3339 timestamp in UTC. A time without a zone (pandas' default) is taken as UTC:
    the run document refuses to guess, so the adapters say it here, once."""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if not isinstance(value, _dt.datetime):
        raise TypeError(f"{value!r} is not a point in time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")


def number(value: Any) -> Optional[float]:
    """A finite float, or None for NaN, infinities and what is no number."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def param(value: Any) -> Param:
    """A parameter value the document takes: a number, string or boolean; numpy scalars become
    Python ones, anything else its text."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return str(value)
    return str(value)


def params(values: Mapping[Any, Any]) -> Dict[str, Param]:
    return {str(k): param(v) for k, v in values.items()}


def metric_name(prefix: str, label: str) -> str:
    """A tool's figure under a name btdb's metric grammar takes: `prefix.` then the label in
    lower case, `[%]` as `pct`, `#` as `n`, every other run of characters outside [a-z0-9] as
    one `_`. `Return [%]` becomes `bt.return_pct`, `# Trades` `bt.n_trades`."""
    text = label.lower().replace("[%]", " pct ").replace("#", " n ").replace("[$]", " ")
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    name = f"{prefix}.{text}"[:64]
    if not _METRIC_NAME.match(name):
        raise ValueError(f"no metric name for {label!r}")
    return name


def extras(
    document: Dict[str, Any],
    periods_per_year: Optional[float],
    sweep: Optional[str],
    tags: Optional[Iterable[str]],
) -> Dict[str, Any]:
    """`document` with the optional fields every adapter takes, where given."""
    if periods_per_year is not None:
        document["periods_per_year"] = periods_per_year
    if sweep is not None:
        document["sweep"] = sweep
    if tags:
        document["tags"] = list(tags)
    return document


def duration_days(value: Any) -> Optional[float]:
    """A duration (datetime.timedelta or pandas.Timedelta) in days."""
    if hasattr(value, "to_pytimedelta"):
        value = value.to_pytimedelta()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds() / 86400.0
    return None
