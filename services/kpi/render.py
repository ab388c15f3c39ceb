"""KPI rows as a table, JSON or CSV (pure): one line per scope and interval, one column
per figure; a rate as its value with numerator and denominator, a duration as n, mean,
p50 and p90, seconds throughout."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import orjson

from projections.kpi.durations import DurationSummary
from projections.kpi.figures import Figure, Rate
from projections.kpi.rows import Row


def plain(figure: Figure) -> Any:
    """A figure as JSON-ready values."""
    match figure:
        case Rate():
            return {"value": figure.value, "numerator": figure.numerator,
                    "denominator": figure.denominator}
        case DurationSummary():
            return {"n": figure.n, "mean": figure.mean, "p50": figure.p50, "p90": figure.p90}
        case dict():
            return {k: plain(v) for k, v in figure.items()}
        case _:
            return figure


def row_json(row: Row) -> dict[str, Any]:
    """One row as JSON-ready values (the JSON format and the read API's rows)."""
    return {"scope": row.scope, "start": row.interval.start, "end": row.interval.end,
            "definition": row.definition, "kpis": {k: plain(v) for k, v in row.kpis.items()}}


def as_json(rows: Sequence[Row]) -> str:
    return orjson.dumps([row_json(r) for r in rows], option=orjson.OPT_INDENT_2).decode()


def _cells(row: Row) -> dict[str, str]:
    cells = {"scope": row.scope, "start": row.interval.start.isoformat(),
             "end": row.interval.end.isoformat(), "definition": row.definition}
    for name, figure in row.kpis.items():
        match figure:
            case Rate():
                cells[name] = _number(figure.value)
                cells[f"{name}_num"], cells[f"{name}_den"] = (_number(figure.numerator),
                                                              _number(figure.denominator))
            case DurationSummary():
                for part in ("n", "mean", "p50", "p90"):
                    cells[f"{name}_{part}"] = _number(getattr(figure, part))
            case dict():
                for key, rate in figure.items():
                    cells[f"{name}_{key}"] = _number(rate.value)
            case _:
                cells[name] = _number(figure)
    return cells


def as_csv(rows: Sequence[Row]) -> str:
    table = [_cells(r) for r in rows]
    columns = list(dict.fromkeys(c for cells in table for c in cells))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return out.getvalue()


HEADLINE = ("volume", "service_level", "abandonment_rate", "asa", "aht", "resolved", "csat")


def as_table(rows: Sequence[Row]) -> str:
    """The headline figures, one line per row (the rest: --format json or csv)."""
    head = (f"{'scope':<28} {'start':<25} {'vol':>6} {'SL':>6} {'aband':>6} {'ASA p50':>8} "
            f"{'AHT mean':>9} {'resolved':>8} {'CSAT':>6}")
    lines = [head]
    for r in rows:
        k = r.kpis
        lines.append(f"{r.scope[:28]:<28} {r.interval.start.isoformat():<25} {k['volume']:>6} "
                     f"{_pct(k['service_level']):>6} {_pct(k['abandonment_rate']):>6} "
                     f"{_secs(k['asa'], 'p50'):>8} {_secs(k['aht'], 'mean'):>9} "
                     f"{k['resolved']:>8} {_pct(k['csat']):>6}")
    return "\n".join(lines)


def _pct(figure: Figure) -> str:
    value = figure.value if isinstance(figure, Rate) else None
    return "-" if value is None else f"{value * 100:.1f}%"


def _secs(figure: Figure, part: str) -> str:
    value = getattr(figure, part) if isinstance(figure, DurationSummary) else None
    return "-" if value is None else f"{value:.1f}s"


def _number(value: Any) -> str:
    return "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
